"""helpers.longtake: one long recording of the prompt list -> one take per prompt.

Real speech: 12 home-reader takes (outside takecheck's dev third) joined with pauses of 0.3-2 s of the reader's
own room tone, one prompt skipped and one read twice.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import longtake as LT
from helpers import takecheck as TC
from helpers.files import write_wav

ROOT = Path(__file__).resolve().parents[1]
HOMEREADER = ROOT.parent / "shared" / "realspeech" / "homereader"
N_PROMPTS = 12
sys.path.insert(0, str(ROOT / "benchmarks"))


# ----------------------------------------------------------------------------------- no model needed

def test_alignment_finds_skipped_repeated_and_extra():
    prompts = [p.split() for p in ("the cat sat on the mat", "a dog ran in the park", "birds sing at dawn",
                                   "rain fell all night long")]
    chunks = [["the", "cat", "sat"], ["on", "the", "mat"], [], ["um", "sorry", "hang", "on", "wait"],
              ["rain", "fell", "all"], ["night", "long"], ["rain", "fell", "all", "night", "long"]]
    groups = LT.align_chunks(chunks, prompts)
    assert groups == [(0, 2, 0), (3, 4, None), (4, 6, 3), (6, 7, 3)]


def test_speech_chunks_split_at_pauses_not_inside_words():
    sr = 16000
    rng = np.random.default_rng(0)
    t = np.arange(int(0.6 * sr)) / sr
    burst = (0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(t.size)).astype(np.float32)
    room = lambda s: (0.002 * rng.standard_normal(int(s * sr))).astype(np.float32)  # noqa: E731
    audio = np.concatenate([room(0.5), burst, room(0.1), burst, room(0.8), burst, room(0.5)])
    chunks = LT.speech_chunks(audio + room(audio.size / sr), sr, min_gap_s=0.2)
    assert len(chunks) == 2                              # the 0.1 s gap does not split, the 0.8 s one does
    assert chunks[1][0] == pytest.approx(0.5 + 0.6 + 0.1 + 0.6 + 0.8, abs=0.12)


def test_room_tone_louder_than_its_neighbours_is_split_at_the_words_pause():
    """Two readings joined by a pause whose second half is louder room tone (another take's room): the shared
    floor calls it all speech, one chunk; Whisper's word times show the pause, and the chunk is cut there."""
    sr = 16000
    rng = np.random.default_rng(1)
    t = np.arange(int(0.5 * sr)) / sr
    word = (0.3 * np.sin(2 * np.pi * 200 * t) * np.hanning(t.size)).astype(np.float32)
    quiet = lambda s: (0.0005 * rng.standard_normal(int(s * sr))).astype(np.float32)  # noqa: E731
    loud = lambda s: (0.004 * rng.standard_normal(int(s * sr))).astype(np.float32)  # noqa: E731 (+18 dB)
    audio = np.concatenate([quiet(3.0), word, word, quiet(0.15), loud(0.9), word, word, loud(0.3), quiet(3.0)])
    s1 = 3.0 + 1.0 + 1.05                                  # the second reading starts here
    chunks = LT.speech_chunks(audio, sr)
    joined = [c for c in chunks if c[0] < 4.0 < c[1] and c[0] < s1 + 0.2 < c[1]]
    assert joined, f"the louder tone should have joined both readings into one chunk here: {chunks}"
    words = [(3.0, 3.5, "one"), (3.5, 4.0, "two"), (s1, s1 + 0.5, "three"), (s1 + 0.5, s1 + 1.0, "four")]
    split = LT.split_at_word_gaps(audio, chunks, words, sr)
    assert len(split) == len(chunks) + 1
    first = [c for c in split if c[0] < 3.5 < c[1]][0]
    second = [c for c in split if c[0] < s1 + 0.2 < c[1]][0]
    assert 3.95 <= first[1] <= 4.2                          # cut at the quiet stretch right after the words
    assert first[1] <= second[0] <= s1                      # inside the pause, never inside a word
    assert LT.split_at_word_gaps(audio, chunks, [], sr) == chunks


def test_valleys_split_a_joined_chunk_at_the_pause_only():
    """The same louder-tone pause, without Whisper: a quarter second 25 dB below the chunk's loud frames is a
    pause (split there), a 0.1 s dip inside a reading is not."""
    sr = 16000
    rng = np.random.default_rng(1)
    t = np.arange(int(0.5 * sr)) / sr
    word = (0.3 * np.sin(2 * np.pi * 200 * t) * np.hanning(t.size)).astype(np.float32)
    quiet = lambda s: (0.0005 * rng.standard_normal(int(s * sr))).astype(np.float32)  # noqa: E731
    loud = lambda s: (0.004 * rng.standard_normal(int(s * sr))).astype(np.float32)  # noqa: E731
    audio = np.concatenate([quiet(3.0), word, loud(0.1), word, quiet(0.15), loud(0.9), word, word, loud(0.3),
                            quiet(3.0)])
    s1 = 3.0 + 1.1 + 1.05
    chunks = LT.speech_chunks(audio, sr)
    assert len(chunks) == 1, chunks                       # the louder tone joins both readings
    split = LT.split_at_valleys(audio, chunks, sr)
    assert len(split) == 2, split                         # one cut: the pause, not the 0.1 s dip at 3.5 s
    # (the new edge may sit in the first 30 ms of a word that fades in: the trimmer decides the edges later)
    assert 4.05 <= split[0][1] <= s1 and 4.05 <= split[1][0] <= s1 + 0.06


def test_speech_edges_come_from_the_series_trimmer():
    from helpers import audio as A

    sr = 16000
    take = A.load_mono(ROOT / "sample_data" / "raw" / "take_001.flac")
    tb = A.trim_bounds(take, sr)
    audio = np.concatenate([np.zeros(sr, np.float32), take, np.zeros(sr, np.float32)])
    audio = audio + 0.0005 * np.random.default_rng(2).standard_normal(audio.size).astype(np.float32)
    cut_e = audio.size / sr - 0.5
    start, end = LT.speech_edges(audio, 0.5, cut_e, (0.0, 99.0), sr)
    b = A.trim_bounds(audio[int(0.5 * sr): int(cut_e * sr)], sr)
    assert b.found and (start, end) == pytest.approx((0.5 + b.start_s, 0.5 + b.end_s))
    assert start == pytest.approx(1.0 + tb.start_s, abs=0.05) and end == pytest.approx(1.0 + tb.end_s, abs=0.05)
    assert LT.speech_edges(audio, 0.5, 0.55, (0.7, 0.8), sr) == (0.7, 0.8)   # too short to judge: the chunks'


# ----------------------------------------------------------------------------------- real speech

@pytest.fixture(scope="module")
def session(tmp_path_factory):
    if not HOMEREADER.is_dir():
        pytest.skip(f"real speech not found at {HOMEREADER} (../shared/realspeech beside the repository)")
    from bench_takecheck import read_homereader

    takes = read_homereader(HOMEREADER)
    dev = set(TC.dev_ids([t[0] for t in takes]))
    chosen = [t for t in takes if t[0] not in dev][-N_PROMPTS:]
    skip, twice = 3, 8
    audio, truth = LT.build_long_recording(chosen, skip, twice, seed=1)
    d = tmp_path_factory.mktemp("longtake")
    rec = write_wav(d / "raw" / "session.wav", audio, 16000)
    sha = hashlib.sha256(rec.read_bytes()).hexdigest()
    listener = TC.Listener(cpu_threads=2)
    res = LT.split_long_recording(rec, [t[2] for t in chosen], d / "takes", names=[t[1].name for t in chosen],
                                  listener=listener)
    return {"chosen": chosen, "skip": skip, "twice": twice, "truth": truth, "rec": rec, "sha": sha, "res": res,
            "dir": d, "listener": listener}


def test_room_tone_is_real_and_pauses_are_in_range(session):
    truth = session["truth"]
    gaps = [b["start_s"] - a["end_s"] for a, b in zip(truth, truth[1:])]
    assert min(gaps) >= 0.3 and max(gaps) <= 2.0
    assert len(truth) == N_PROMPTS                       # one skipped, one read twice


def test_boundaries_and_attribution(session):
    res, truth = session["res"], session["truth"]
    score = LT.score_split(res, truth)
    assert score["attributed_wrong"] == [] and score["attributed_right"] == N_PROMPTS - 1, score
    # goal 95 %: met here and in benchmarks/bench_longtake.json (97.4 % on 40 prompts, 95.5 % on 12)
    assert score["boundaries_within_100ms_share"] >= 0.95, score
    assert res.missing == [session["skip"]] and res.repeated == [session["twice"]], res.summary()
    assert res.extra == []


def test_pieces_written_named_and_raw_untouched(session):
    d, res, chosen = session["dir"], session["res"], session["chosen"]
    out = d / "takes"
    names = sorted(p.name for p in out.glob("*.wav"))
    expected = sorted(Path(t[1].name).stem + ".wav" for i, t in enumerate(chosen) if i != session["skip"])
    assert names == expected
    table = (out / "prompts.csv").read_text(encoding="utf-8").splitlines()
    assert table[0] == "filename,transcript" and len(table) == N_PROMPTS
    report = json.loads((out / LT.REPORT_FILE).read_text())
    assert report["missing"] == [Path(chosen[session["skip"]][1].name).stem]
    assert hashlib.sha256(session["rec"].read_bytes()).hexdigest() == session["sha"]
    assert sorted(p.name for p in session["rec"].parent.iterdir()) == ["session.wav"]
    # a re-run replaces its own folder whole, and nothing else
    (out / "stale.wav").write_bytes(b"x")
    again = LT.split_long_recording(session["rec"], [t[2] for t in chosen], out, names=[t[1].name for t in chosen],
                                    listener=session["listener"])
    assert not (out / "stale.wav").exists() and len(again.kept) == len(res.kept)
    assert not [p for p in d.iterdir() if p.name.startswith(".")]   # no temp folders left behind
