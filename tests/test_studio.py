"""Kernel-side tests of the recording studio (helpers/studio.py): no browser needed.

Takes are synthetic "speech": noise bursts shaped like syllables, so every check has a known answer.
The browser end-to-end test is tests/test_studio_browser.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from helpers import prep
from helpers import studio as st

SR = 48_000  # what a browser's AudioContext usually runs at
# The synthetic bursts below are not speech to Silero VAD (prep's default trim may use it): the studio's call to
# notebook 01's prep is given the energy trim, as a notebook passes its own settings. Trims are tested elsewhere.
ENERGY = prep.PrepSettings(trim_method="energy")


def speechlike(seconds: float = 3.0, level_dbfs: float = -20.0, lead_s: float = 0.3, trail_s: float = 0.3,
               sr: int = SR, seed: int = 0) -> np.ndarray:
    """Syllable-like bursts (4 per second) between ``lead_s`` of room tone and ``trail_s`` of room tone."""
    rng = np.random.default_rng(seed)
    n_speech = int(seconds * sr)
    t = np.arange(n_speech) / sr
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2              # never fully silent inside the speech
    carrier = np.sin(2 * np.pi * 180 * t) + 0.5 * rng.standard_normal(n_speech)
    speech = env * carrier
    speech *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(speech**2))
    tone = lambda s: 10 ** (-65 / 20) * rng.standard_normal(int(s * sr))  # noqa: E731  (room tone, -65 dBFS)
    return np.concatenate([tone(lead_s), speech, tone(trail_s)]).astype(np.float32)


def write_prompts(path, rows):
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["filename", "transcript"])
        w.writerows(rows)
    return path


@pytest.fixture
def prompts(tmp_path):
    return write_prompts(tmp_path / "prompts.csv", [
        ("take_001.wav", "The quick brown fox jumps over the lazy dog."),
        ("take_002.flac", "She sells sea shells by the sea shore."),
        ("take_003.ogg", ""),                                   # no transcript: not offered
        ("take_004.wav", "Peter Piper picked a peck of pickled peppers."),
    ])


# ---- quality feedback ------------------------------------------------------------------------
def test_good_take_is_good():
    rep = st.assess_take(speechlike(), SR, text="The quick brown fox jumps over the lazy dog.")
    assert rep.verdict == "good", rep.summary()
    assert rep.duration_s == pytest.approx(3.6, abs=0.01)
    assert rep.speech_s == pytest.approx(3.0, abs=0.1)
    assert rep.lead_s == pytest.approx(0.3, abs=0.05) and rep.trail_s == pytest.approx(0.3, abs=0.05)
    assert rep.speech_dbfs == pytest.approx(-20.0, abs=1.0)
    assert rep.clipped_fraction == 0.0


def test_quiet_take_is_redone():
    rep = st.assess_take(speechlike(level_dbfs=-45), SR)
    assert rep.verdict == "redo" and "too_quiet" in rep.codes, rep.summary()
    assert rep.speech_dbfs == pytest.approx(-45.0, abs=1.5)


def test_clipped_take_is_redone():
    loud = np.clip(speechlike(level_dbfs=-20) * 8.0, -1.0, 1.0)  # +18 dB into a hard limit
    rep = st.assess_take(loud, SR)
    assert "clipped" in rep.codes and rep.verdict == "redo", rep.summary()
    assert rep.clipped_fraction > 0.01
    assert "too_quiet" not in rep.codes


def test_silence_short_long_and_empty():
    rep = st.assess_take(speechlike(lead_s=2.5, trail_s=0.2), SR)
    assert rep.codes == ["too_much_silence"] and rep.verdict == "check", rep.summary()
    assert rep.lead_s == pytest.approx(2.5, abs=0.05)
    assert st.assess_take(speechlike(seconds=0.3), SR).codes == ["too_short"]
    rep = st.assess_take(speechlike(seconds=16.0), SR)
    assert rep.codes == ["too_long"] and rep.verdict == "check"
    rep = st.assess_take(np.zeros(SR * 2, np.float32), SR)
    assert rep.codes == ["no_speech"] and rep.verdict == "redo"
    # 1 s of speech for a long sentence: probably cut short
    rep = st.assess_take(speechlike(seconds=1.0), SR, text="x" * 140)
    assert rep.codes == ["cut_short"], rep.summary()


# ---- prompts, saving, overwriting, resuming --------------------------------------------------
def test_prompts_skip_empty_transcripts(prompts, tmp_path):
    studio = st.Studio(prompts, tmp_path / "raw")
    assert [p.filename for p in studio.prompts] == ["take_001.wav", "take_002.flac", "take_004.wav"]
    assert studio.skipped == ["take_003.ogg"]
    assert studio.progress() == "1 / 3" and studio.n_done == 0


def test_keep_saves_a_resampled_wav_under_the_take_name(prompts, tmp_path):
    raw = tmp_path / "raw"
    studio = st.Studio(prompts, raw, sample_rate=44_100, prep_settings=ENERGY)
    x = speechlike(seconds=2.0)
    rep = studio.receive_take((x * 32767).astype(np.int16), SR)      # the browser sends int16 at 48 kHz
    assert rep.verdict == "good"
    path = studio.keep()
    assert path == raw / "take_001.wav"
    y, sr = sf.read(path, dtype="float32")
    info = sf.info(path)
    assert sr == 44_100 and info.channels == 1 and info.subtype == "PCM_16"
    assert len(y) / sr == pytest.approx(len(x) / SR, abs=2e-3)
    # resampling kept the signal: correlate against the source resampled the same way
    import soxr

    ref = soxr.resample(x, SR, 44_100)
    n = min(len(ref), len(y))
    assert np.corrcoef(ref[:n], y[:n])[0, 1] > 0.999
    assert studio.current.filename == "take_002.flac" and studio.progress() == "2 / 3"
    assert not list(raw.glob(".*.wav")), "no temporary files left behind"


def test_keep_never_overwrites_without_asking(prompts, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    old = raw / "take_001.flac"                     # an earlier take, recorded elsewhere (any extension counts)
    sf.write(old, speechlike(seconds=1.0, seed=1), 16_000)
    before = old.read_bytes()
    studio = st.Studio(prompts, raw)
    assert studio.current.filename == "take_002.flac"    # resumes at the first prompt without a take
    studio.skip(-1)
    assert studio.current.filename == "take_001.wav"
    studio.receive_take(speechlike(seconds=1.5), SR)
    with pytest.raises(st.TakeExistsError, match="take_001.flac already exists"):
        studio.keep()
    assert old.read_bytes() == before and not (raw / "take_001.wav").exists()
    assert studio.pending is not None                     # the new take is still there to replace with
    path = studio.keep(overwrite=True)
    assert path == raw / "take_001.wav" and not old.exists()
    backups = list((raw / ".replaced").glob("take_001.*.flac"))
    assert len(backups) == 1 and backups[0].read_bytes() == before   # the old take was moved, not lost
    assert sf.info(path).duration == pytest.approx(1.5 + 0.6, abs=0.01)


def test_resume_marks_done_prompts(prompts, tmp_path):
    raw = tmp_path / "raw"
    s1 = st.Studio(prompts, raw)
    for _ in range(2):
        s1.receive_take(speechlike(seconds=1.2), SR)
        s1.keep()
    # a new session (kernel restart) sees what is on disk
    s2 = st.Studio(prompts, raw)
    assert [r["done"] for r in s2.status()] == [True, True, False]
    assert s2.current.filename == "take_004.wav" and s2.n_done == 2 and s2.progress() == "3 / 3"
    assert s2.status()[1]["take"].endswith("take_002.wav")
    s2.receive_take(speechlike(seconds=1.2), SR)
    s2.keep()
    assert s2.next_undone() is None and s2.n_done == 3


def test_redo_discards_and_keep_needs_a_take(prompts, tmp_path):
    studio = st.Studio(prompts, tmp_path / "raw")
    with pytest.raises(RuntimeError, match="record one first"):
        studio.keep()
    studio.receive_take(speechlike(seconds=1.0), SR)
    studio.redo()
    with pytest.raises(RuntimeError):
        studio.keep()
    assert studio.n_done == 0 and studio.current.filename == "take_001.wav"


def test_bad_prompt_files_say_what_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv.*filename,transcript"):
        st.Studio(tmp_path / "nope.csv", tmp_path / "raw")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,words\na.wav,hi\n")
    with pytest.raises(ValueError, match="bad.csv, line 1: no header naming a file column"):
        st.Studio(bad, tmp_path / "raw")
    dup = write_prompts(tmp_path / "dup.csv", [("take_001.wav", "a"), ("take_001.flac", "b")])
    with pytest.raises(ValueError, match="lines 2 and 3 both name the take 'take_001'"):
        st.Studio(dup, tmp_path / "raw")
    empty = write_prompts(tmp_path / "empty.csv", [("take_001.wav", "")])
    with pytest.raises(ValueError, match="no row with a transcript"):
        st.Studio(empty, tmp_path / "raw")


def test_studio_reads_every_table_prep_reads(tmp_path):
    """One reader: the headers, separators and layouts prep accepts, the studio accepts (issue 14)."""
    from helpers import prep

    tables = {"file_text.csv": "file,text\na.wav,Hello there.\nb.flac,Second one.\n",
              "semicolon.csv": "filename;transcript\na.wav;Hello there.\nb.flac;Second one.\n",
              "metadata.csv": "a|Hello there.|Hello there.\nb|Second one.|Second one.\n"}
    for name, content in tables.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        studio = st.Studio(path, tmp_path / "raw")
        assert [(p.stem, p.text) for p in studio.prompts] == [("a", "Hello there."), ("b", "Second one.")], name
        assert {k.rsplit(".", 1)[0]: v for k, v in prep.read_prompts(path).items()} == {
            "a": "Hello there.", "b": "Second one."}, name
    assert [p.save_name for p in st.Studio(tmp_path / "metadata.csv", tmp_path / "raw").prompts] == ["a.wav", "b.wav"]


def test_a_take_saved_under_another_unicode_form_counts_as_done(tmp_path):
    import unicodedata

    raw = tmp_path / "raw"
    raw.mkdir()
    prompts = write_prompts(tmp_path / "p.csv", [(unicodedata.normalize("NFC", "café_01.wav"), "A cafe."),
                                                 ("take_02.wav", "Two.")])
    sf.write(raw / unicodedata.normalize("NFD", "café_01.WAV"), np.zeros(SR, np.float32), SR)   # as macOS names it
    studio = st.Studio(prompts, raw)
    assert studio.n_done == 1 and studio.current.filename == "take_02.wav"


def test_widget_messages_drive_the_studio(prompts, tmp_path):
    """The comm messages the browser sends, played into the kernel side: take -> review -> keep -> confirm."""
    raw = tmp_path / "raw"
    studio = st.Studio(prompts, raw, sample_rate=44_100, prep_settings=ENERGY)
    w = studio.widget()
    assert w.prompt["progress"] == "1 / 3" and w.prompt["save_name"] == "take_001.wav"
    pcm = (speechlike(seconds=2.0) * 32767).astype("<i2")
    studio._on_msg(w, {"type": "take", "sample_rate": SR, "n": len(pcm)}, [memoryview(pcm.tobytes())])
    assert w.state == "review" and w.review["verdict"] == "good"
    studio._on_msg(w, {"type": "keep"}, [])
    assert (raw / "take_001.wav").is_file() and w.prompt["save_name"] == "take_002.wav" and w.prompt["n_done"] == 1
    studio._on_msg(w, {"type": "back"}, [])
    studio._on_msg(w, {"type": "take", "sample_rate": SR, "n": len(pcm)}, [memoryview(pcm.tobytes())])
    studio._on_msg(w, {"type": "keep"}, [])
    assert w.state == "confirm" and "already exists" in w.message
    studio._on_msg(w, {"type": "replace"}, [])
    assert w.state == "idle" and len(list((raw / ".replaced").iterdir())) == 1
    assert w.prompt["done_list"] == [True, False, False]
    studio._on_msg(w, {"type": "goto", "index": 2}, [])
    assert w.prompt["save_name"] == "take_004.wav" and w.prompt["progress"] == "3 / 3"
    studio._on_msg(w, {"type": "take", "sample_rate": SR, "n": 0}, [memoryview(b"")])   # an empty take
    assert w.message.startswith("Error: ValueError")


def test_show_without_a_browser_says_so(prompts, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_FRONTEND", "none")
    st.Studio(prompts, tmp_path / "raw").show()
    out = capsys.readouterr().out
    assert "No browser or microphone is attached" in out and "3 prompts" in out
    assert "sample data" not in out and "continues without recording" in out
    st.Studio(prompts, tmp_path / "raw").show(continuing_with=tmp_path / "my_takes")
    assert f"continues with the takes in {tmp_path / 'my_takes'}" in capsys.readouterr().out
    monkeypatch.setenv("SPEECHLAB_FRONTEND", "browser")
    st.Studio(prompts, tmp_path / "raw").show()
    assert "No browser" not in capsys.readouterr().out


def test_notebook_01_prep_verdict_is_part_of_the_feedback(tmp_path):
    """The studio also runs helpers.prep.process_take (notebook 01's pipeline) on each take."""
    text = "The quick brown fox jumps over the lazy dog, and then it runs far away into the dark green forest."
    prompts = write_prompts(tmp_path / "p.csv", [("take_001.wav", text)])
    studio = st.Studio(prompts, tmp_path / "raw", prep_settings=ENERGY)
    rep = studio.receive_take(speechlike(seconds=6.0), SR)                 # ~16 characters per second: fits
    assert rep.prep["verdict"] == "ok" and rep.verdict == "good", rep.summary()
    assert "prep keeps it" in rep.summary()
    rep = studio.receive_take(speechlike(seconds=1.5), SR)                 # ~65 characters per second: does not
    assert rep.prep["verdict"] == "excluded" and rep.prep["reason"] == "transcript_mismatch"
    assert "prep_transcript_mismatch" in rep.codes and rep.verdict == "redo", rep.summary()
    rep = studio.receive_take(np.clip(speechlike(seconds=6.0) * 8, -1, 1), SR)  # clipped: said once, not twice
    assert rep.codes.count("clipped") == 1 and not any(c == "prep_clipped" for c in rep.codes)
    assert rep.prep["reason"] == "clipped"


# ---- the consent statement take ------------------------------------------------------------------
def test_consent_statement_is_offered_first_saved_as_consent_wav_and_kept_out_of_training(prompts, tmp_path):
    raw = tmp_path / "raw"
    s = st.Studio(prompts, raw, sample_rate=16_000, use_prep=False, consent_name="Ana  Li",
                  consent_purpose="a tutorial exercise, kept on my own computer")
    assert s.current.save_name == "consent.wav" and len(s.prompts) == 4
    assert s.current.text == ("I, Ana Li, agree that my recordings may be used to train a synthetic voice of me, "
                              "for a tutorial exercise, kept on my own computer.")
    assert s.consent_take() is None
    s.receive_take(speechlike(5.0, sr=SR), SR)
    assert s.keep() == raw / "consent.wav" and s.consent_take() == raw / "consent.wav"
    assert s.current.save_name == "take_001.wav"                  # then the prompts, in order
    s.receive_take(speechlike(3.0, sr=SR, seed=1), SR)
    s.keep()
    # a table that lists the consent row itself is not given a second one; a reopened studio resumes after it
    again = st.Studio(prompts, raw, sample_rate=16_000, use_prep=False, consent_name="Ana Li")
    assert [p.save_name for p in again.prompts].count("consent.wav") == 1 and again.current.save_name == "take_002.wav"
    # prep: the consent take is reported, with where it is, and never reaches the manifest
    res = prep.prepare(raw, prompts, tmp_path / "dataset", settings=ENERGY, progress=False, write_hf=False)
    row = next(r for r in res.rows if r["id"] == "consent")
    assert row["verdict"] == "excluded" and row["reason"] == "consent_take" and str(raw / "consent.wav") in row["error"]
    assert [m["id"] for m in res.manifest] == ["take_001"]
