"""helpers.prep on the bundled sample takes: verdicts, outputs, trim accuracy, splits, re-runs, CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import audio as A
from helpers import prep
from helpers.config import SAMPLE_DATA

RAW, PROMPTS, TRUTH = SAMPLE_DATA / "raw", SAMPLE_DATA / "prompts.csv", SAMPLE_DATA / "raw_truth.json"


def _digest_folder(folder) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def truth():
    return prep.load_truth(TRUTH)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole pipeline, once, on the sample data (about 5-10 s on 2 cores)."""
    out = tmp_path_factory.mktemp("prep") / "dataset"
    raw_before = _digest_folder(RAW)
    result = prep.prepare(RAW, PROMPTS, out, progress=False)
    return result, out, raw_before


def test_every_take_gets_the_expected_verdict(built, truth) -> None:
    result, _, _ = built
    got = {r["file"]: (r["verdict"], r["reason"] or None) for r in result.rows}
    expected = {name: (t["expected_verdict"], t["expected_reason"]) for name, t in truth.items()}
    assert got == expected
    assert sum(v == "excluded" for v, _ in got.values()) == 4  # clipped, silent, missing_transcript, corrupt


def test_raw_takes_are_never_modified(built) -> None:
    _, _, raw_before = built
    assert _digest_folder(RAW) == raw_before


def test_every_output_is_16k_mono_pcm16_at_target_loudness(built) -> None:
    result, out, _ = built
    assert len(result.manifest) == 36
    for m in result.manifest:
        info = sf.info(str(out / m["path"]))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16"), m["path"]
        pcm, _ = sf.read(str(out / m["path"]), dtype="int16")
        assert np.abs(pcm.astype(np.int32)).max() < 32767, f"{m['path']} reaches full scale"
        x, sr = sf.read(str(out / m["path"]), dtype="float32")
        assert abs(A.loudness(x, sr) - prep.PrepSettings().target_lufs) <= 1.0, m["path"]
        assert A.peak_dbfs(x) <= -1.0 + 0.01
        assert x.size / sr == pytest.approx(m["duration_s"], abs=1e-3)


def test_trim_accuracy_against_ground_truth(truth) -> None:
    """Energy trim (the recommended method) vs Silero VAD on the 36 valid takes.

    The issue's bar: both boundaries within 30 ms of the truth for at least 95 % of valid takes. The truth is
    the audible speech of the clean signal (speech band, above the room noise; see sample_data/README.md).
    Measured: energy 36 of 36 within 30 ms (median 18.5 ms, p95 24.4 ms); Silero VAD decides on a 32 ms grid
    and ends late (p95 ~135 ms), so no take has both ends within 30 ms.
    """
    errors = prep.trim_errors(RAW, truth, progress=False)
    summary = prep.trim_error_summary(errors)
    energy, vad = summary["energy"], summary["vad"]
    assert energy["takes"] == vad["takes"] == 36
    starts = np.abs([e["start_err_ms"] for e in errors if e["method"] == "energy"])
    assert np.mean(starts <= 30) >= 0.95
    assert energy["within_tol_share"] >= 0.95
    assert energy["median_ms"] <= 25 and energy["p95_ms"] <= 30
    assert energy["within_tol_share"] > vad["within_tol_share"] and energy["median_ms"] < vad["median_ms"]
    assert vad["p95_ms"] <= 150  # VAD is coarse, but never lost on these takes


def test_manifest_report_and_hf_dataset(built) -> None:
    result, out, _ = built
    rows = prep.load_manifest(out)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for r in rows:
        assert set(r) == {"id", "path", "text", "text_norm", "duration_s", "speaker", "split", "audio_path"}
        assert r["speaker"] == "learner" and r["path"] == f"wavs/{r['id']}.wav"
        assert not any(ch.isdigit() for ch in r["text_norm"])
    splits = {s: sum(r["split"] == s for r in rows) for s in ("train", "validation", "test")}
    assert splits == {"train": 28, "validation": 4, "test": 4}
    report = prep.read_report(out)
    assert len(report) == 40 and {r["verdict"] for r in report} == {"ok", "excluded"}
    import datasets

    dd = datasets.load_from_disk(str(out / "hf"))
    assert {k: len(v) for k, v in dd.items()} == splits
    ex = dd["validation"][0]
    assert ex["audio"]["sampling_rate"] == 16_000
    assert len(ex["audio"]["array"]) == pytest.approx(ex["duration_s"] * 16_000, abs=1)


def test_split_is_fixed_by_id_hash() -> None:
    ids = [f"take_{i:03d}" for i in range(1, 41)]
    a = prep.assign_splits(ids)
    assert a == prep.assign_splits(list(reversed(ids)))
    assert sorted(a.values()).count("test") == 4 and sorted(a.values()).count("validation") == 4
    small = prep.assign_splits(["a", "b", "c"])
    assert sorted(small.values()) == ["test", "train", "validation"]


def test_rerun_skips_unchanged_takes_and_redoes_changed_settings(tmp_path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("take_001.flac", "take_005.wav", "take_023.ogg", "take_034.wav"):
        shutil.copy(RAW / name, raw / name)
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("filename,transcript\n" + "".join(
        line + "\n" for line in PROMPTS.read_text(encoding="utf-8").splitlines()[1:]
        if line.split(",")[0] in {p.name for p in raw.iterdir()}), encoding="utf-8")
    out = tmp_path / "dataset"
    first = prep.prepare(raw, prompts, out, progress=False, write_hf=False)
    assert (first.processed, first.reused) == (4, 0)
    wav_mtime = (out / "wavs/take_001.wav").stat().st_mtime_ns
    # what a run killed mid-write leaves (helpers.files temp names beside prep's own outputs) ...
    litter = [out / "wavs/.take_001.wav.k1ll3d.wav", out / "wavs/.take_034.wav.x9.wav", out / ".manifest.jsonl.zz.jsonl",
              out / ".state/takes/.take_005.json.q1.json"]
    for p in litter:
        p.write_bytes(b"")
    (out / ".hf.tmp9").mkdir()
    # ... and files that are not prep's (a learner's own notes, a WAV prep never wrote): these must stay
    foreign = [out / "wavs/.my_notes.txt", out / "wavs/my_own.wav", out / "wavs/.take_001.wav"]
    for p in foreign:
        p.write_bytes(b"mine")
    again = prep.prepare(raw, prompts, out, progress=False, write_hf=False)
    assert (again.processed, again.reused) == (0, 4)
    assert not [p for p in litter + [out / ".hf.tmp9"] if p.exists()], "a killed run's temp files were not tidied"
    assert all(p.read_bytes() == b"mine" for p in foreign)
    assert (out / "wavs/take_001.wav").stat().st_mtime_ns == wav_mtime
    longer_pad = prep.prepare(raw, prompts, out, prep.PrepSettings(pad_ms=200), progress=False, write_hf=False)
    assert longer_pad.processed == 4
    d1 = {m["id"]: m["duration_s"] for m in first.manifest}
    d2 = {m["id"]: m["duration_s"] for m in longer_pad.manifest}
    assert all(d2[k] == pytest.approx(d1[k] + 0.2, abs=0.002) for k in d1)
    (raw / "take_023.ogg").unlink()  # a take removed from the folder loses its outputs
    prep.prepare(raw, prompts, out, prep.PrepSettings(pad_ms=200), progress=False, write_hf=False)
    assert not (out / "wavs/take_023.wav").exists()
    report = {r["file"]: r for r in prep.read_report(out)}
    assert report["take_023.ogg"]["reason"] == "missing_file"


def test_command_line_entry_point(tmp_path, capsys) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("take_001.flac", "take_002.flac", "take_012.flac"):
        shutil.copy(RAW / name, raw / name)
    prompts = tmp_path / "p.csv"
    prompts.write_text("file,text\n"
                       '"take_001.flac","The train leaves at 7:45 on platform 9, so we should grab a coffee and head over now."\n'
                       "take_002.flac,Hi.\n"  # a 6-second take cannot say just "Hi."
                       "take_012.flac,Too loud.\n")
    out = tmp_path / "out"
    assert prep.main(["--raw", str(raw), "--prompts", str(prompts), "--out", str(out), "--no-hf"]) == 0
    text = capsys.readouterr().out
    assert "excluded take_012.flac: clipped" in text and "1 of 3 takes usable" in text
    assert "excluded take_002.flac: transcript_mismatch" in text
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert manifest[0]["text_norm"].startswith("The train leaves at seven forty-five on platform nine, so")
    assert prep.main(["--raw", str(tmp_path / "missing"), "--prompts", str(prompts), "--out", str(out)]) == 2
    assert "raw takes folder not found" in capsys.readouterr().out


def test_bad_prompts_table_says_what_to_fix(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,words\na.wav,hello\n")
    with pytest.raises(prep.PrepError, match=r"bad\.csv.*file column.*transcript column"):
        prep.read_prompts(bad)
    with pytest.raises(prep.PrepError, match="manifest.jsonl not found.*notebook 01"):
        prep.load_manifest(tmp_path)


def test_ensure_dataset_builds_once_from_the_sample_data(tmp_path) -> None:
    ds = prep.ensure_dataset(tmp_path, progress=False)
    assert ds == tmp_path / "dataset"
    rows = prep.load_manifest(ds)
    assert len(rows) == 36 and all(Path(r["audio_path"]).is_file() for r in rows)
    stamp = (ds / "manifest.jsonl").stat().st_mtime_ns
    assert prep.ensure_dataset(tmp_path, progress=False) == ds
    assert (ds / "manifest.jsonl").stat().st_mtime_ns == stamp  # nothing rebuilt


def test_process_take_verdicts_on_synthetic_faults(tmp_path) -> None:
    """Faults the sample set does not contain: too short, too long, empty file — excluded, never raised."""
    rng = np.random.default_rng(0)
    sr = 22_050

    def take(name: str, speech_s: float) -> "Path":
        n = int((speech_s + 1.0) * sr)
        x = rng.standard_normal(n) * 1e-3
        a = int(0.5 * sr)
        t = np.arange(int(speech_s * sr)) / sr
        x[a:a + t.size] += 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t) ** 2
        path = tmp_path / name
        sf.write(path, x, sr, subtype="PCM_24")
        return path

    energy = prep.PrepSettings(trim_method="energy")   # the synthetic tones are not speech to a VAD
    row, out = prep.process_take(take("short.wav", 0.3), "Yes.", energy)
    assert (row["verdict"], row["reason"], out) == ("excluded", "too_short", None)
    row, out = prep.process_take(take("long.wav", 16.0), "word " * 60, energy)
    assert (row["verdict"], row["reason"]) == ("excluded", "too_long")
    row, out = prep.process_take(take("fine.wav", 2.0), "A short sentence of about thirty chars.", energy)
    assert row["verdict"] == "ok" and out is not None and row["sample_rate"] == sr
    assert row["duration_s"] == pytest.approx(row["speech_s"] + 0.2, abs=0.002)
    (tmp_path / "empty.flac").write_bytes(b"")
    row, out = prep.process_take(tmp_path / "empty.flac", "Something.")
    assert (row["verdict"], row["reason"]) == ("excluded", "empty") and "Re-export" in row["error"]


def test_sample_dataset_is_recognised_and_a_learners_own_is_not(built, tmp_path) -> None:
    import csv
    import shutil

    _, out, _ = built
    assert prep.is_sample_dataset(out)
    own = tmp_path / "own"
    shutil.copytree(out, own)
    with (own / "report.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["raw_duration_s"] = str(float(rows[0]["raw_duration_s"]) + 0.05)  # same name, another recording
    with (own / "report.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert not prep.is_sample_dataset(own)
    assert not prep.is_sample_dataset(tmp_path / "nothing")


def _copy_takes(dst: Path, names=("take_001.flac", "take_005.wav", "take_023.ogg")) -> tuple[Path, Path]:
    dst.mkdir(parents=True)
    for name in names:
        shutil.copy(RAW / name, dst / name)
    table = dst.parent / "prompts.csv"
    table.write_text("filename,transcript\n" + "".join(
        line + "\n" for line in PROMPTS.read_text(encoding="utf-8").splitlines()[1:] if line.split(",")[0] in names),
        encoding="utf-8")
    return dst, table


def test_no_silent_fallback_to_the_sample(tmp_path, monkeypatch) -> None:
    """Issue 14: when the learner asked for their own takes, a missing, empty or other-source dataset stops with
    the reason; the sample is built only when nobody asked for anything else."""
    from helpers import embeddings as E
    from helpers.config import data_in_use

    work = tmp_path / "work"
    raw, table = _copy_takes(tmp_path / "mine" / "raw")
    monkeypatch.setenv("SPEECHLAB_RAW_DIR", str(raw))
    with pytest.raises(prep.PrepError, match="No usable dataset .* from your takes in .*not\\s+used in their place"):
        prep.ensure_dataset(work, progress=False)
    with pytest.raises(prep.PrepError, match="not\\s+used in their place"):
        E.learner_takes(work)
    assert not (work / "dataset").exists()                       # nothing was built behind the learner's back
    assert "is not built from them yet" in data_in_use(work)
    res = prep.prepare(raw, table, work / "dataset", progress=False)
    assert len(res.manifest) == 3 and prep.ensure_dataset(work, progress=False) == work / "dataset"
    assert "your takes from" in data_in_use(work, raw) or "your takes in" in data_in_use(work, raw)
    assert not prep.is_sample_dataset(work / "dataset")
    # another raw folder asked for than the one the dataset was built from: stop
    other, _ = _copy_takes(tmp_path / "other" / "raw", ("take_002.flac",))
    monkeypatch.setenv("SPEECHLAB_RAW_DIR", str(other))
    with pytest.raises(prep.PrepError, match="was built from .* but your takes are in"):
        prep.ensure_dataset(work, progress=False)
    # the learner's own dataset with nothing usable: stop, even with SPEECHLAB_RAW_DIR unset
    monkeypatch.delenv("SPEECHLAB_RAW_DIR")
    table.write_text("filename,transcript\ntake_001.flac,\ntake_005.wav,\ntake_023.ogg,\n", encoding="utf-8")
    empty = prep.prepare(raw, table, work / "dataset", progress=False)
    assert empty.manifest == [] and "3 missing_transcript" in empty.nothing_usable()
    assert not (work / "dataset" / "hf").exists()                # no stale dataset of ours stands in
    with pytest.raises(prep.PrepError, match="found no usable take"):
        prep.ensure_dataset(work, progress=False)
    assert prep.main(["--raw", str(raw), "--prompts", str(table), "--out", str(work / "dataset"), "--no-hf"]) == 3


def test_pick_example_is_a_readable_take_of_any_folder(tmp_path) -> None:
    raw, table = _copy_takes(tmp_path / "raw", ("take_034.wav", "take_005.wav"))   # 034 is the corrupt one
    assert prep.pick_example(raw, table).name == "take_005.wav"
    (raw / "take_005.wav").unlink()
    assert prep.pick_example(raw, table) is None
