"""Facts about the committed sample data (built by scripts/make_sample_data.py). Fast: reads headers and a few
small files, runs no model."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
RAW = SAMPLE / "raw"
AUDIO_EXT = {".wav", ".flac", ".ogg"}


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def prompts() -> list[dict]:
    return _csv(SAMPLE / "prompts.csv")


@pytest.fixture(scope="module")
def truth() -> dict:
    t = json.loads((SAMPLE / "raw_truth.json").read_text(encoding="utf-8"))
    return {k: v for k, v in t.items() if not k.startswith("_")}


@pytest.fixture(scope="module")
def raw_files() -> list[Path]:
    return sorted(p for p in RAW.iterdir() if p.is_file())


def _special(truth: dict, reason: str) -> str:
    names = [k for k, v in truth.items() if v["expected_reason"] == reason]
    assert len(names) == 1, (reason, names)
    return names[0]


def test_raw_holds_only_audio(raw_files):
    assert raw_files, "sample_data/raw is empty"
    assert {p.suffix for p in raw_files} <= AUDIO_EXT
    assert {".flac", ".wav"} <= {p.suffix for p in raw_files}


def test_prompts_and_raw_match_one_to_one(prompts, raw_files):
    assert list(prompts[0].keys()) == ["filename", "transcript"]
    names = [r["filename"] for r in prompts]
    assert len(names) == len(set(names))
    assert set(names) == {p.name for p in raw_files}
    assert 35 <= len(names) <= 45


def test_exactly_one_empty_transcript_and_one_stray_character(prompts, truth):
    empty = [r["filename"] for r in prompts if not r["transcript"].strip()]
    assert empty == [_special(truth, "missing_transcript")]
    stray = [r["filename"] for r in prompts if any(ord(c) > 127 or c == "&" for c in r["transcript"])]
    assert len(stray) == 1


def test_raw_takes_open_as_audacity_exports(raw_files, truth):
    corrupt = _special(truth, "corrupt")
    for p in raw_files:
        if p.name == corrupt:
            continue
        info = sf.info(p)
        assert (info.samplerate, info.channels) == (44100, 2), p.name
        if p.suffix in {".wav", ".flac"}:
            assert info.subtype == "PCM_16", p.name


def test_corrupt_take_fails_to_open(truth):
    corrupt = RAW / _special(truth, "corrupt")
    assert corrupt.suffix == ".wav" and corrupt.stat().st_size > 1000
    with pytest.raises(sf.LibsndfileError):
        sf.read(corrupt)


def test_truth_lists_every_file_with_speech_inside(raw_files, truth):
    assert set(truth) == {p.name for p in raw_files}
    corrupt = _special(truth, "corrupt")
    for p in raw_files:
        t = truth[p.name]
        assert t["sample_rate"] == 44100 and t["channels"] == 2
        assert (t["expected_verdict"] == "ok") == (t["expected_reason"] is None) == (not t["faults"])
        if p.name == corrupt:
            continue
        dur = sf.info(p).duration
        assert abs(dur - t["duration_s"]) < 0.05, p.name
        assert 0.2 <= t["speech_start_s"] < t["speech_end_s"] <= dur - 0.2, p.name
        assert t["speech_end_s"] - t["speech_start_s"] > 2.0, p.name


def test_clipped_take_is_clipped(truth):
    x, _ = sf.read(RAW / _special(truth, "clipped"), dtype="int16")
    assert np.mean((x == 32767) | (x == -32768)) > 0.02


def test_silent_take_is_nearly_silent(truth):
    x, _ = sf.read(RAW / _special(truth, "silent"), dtype="float64")
    assert 20 * np.log10(np.abs(x).max()) < -45.0


def test_healthy_takes_are_neither_clipped_nor_silent(truth):
    # Two representative "ok" takes, one FLAC and one WAV: real speech level, no full-scale samples.
    ok = [k for k, v in truth.items() if v["expected_verdict"] == "ok"]
    for name in [next(k for k in ok if k.endswith(".flac")), next(k for k in ok if k.endswith(".wav"))]:
        x, _ = sf.read(RAW / name, dtype="float64")
        peak_db = 20 * np.log10(np.abs(x).max())
        assert -30.0 < peak_db < -1.0, name
        assert abs(np.mean(x)) > 0.001, name          # the planted DC offset is there


def test_voices_set(truth):
    rows = _csv(SAMPLE / "voices" / "voices.csv")
    assert list(rows[0].keys()) == ["voice", "path", "transcript", "engine"]
    by_voice: dict[str, list[dict]] = {}
    for r in rows:
        by_voice.setdefault(r["voice"], []).append(r)
    assert len(by_voice) >= 7
    sentences = {tuple(r["transcript"] for r in rs) for rs in by_voice.values()}
    assert len(sentences) == 1, "every voice must read the same sentences in the same order"
    for voice, rs in by_voice.items():
        assert len(rs) >= 8, voice
        for r in rs:
            info = sf.info(SAMPLE / r["path"])
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), r["path"]
    assert {r["engine"] for r in rows} >= {"flite", "espeak-ng", "piper"}
    prompt_texts = {v["spoken_text"] for v in truth.values()}
    assert not prompt_texts & {r["transcript"] for r in rows}


def test_total_size_under_budget():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 30_000_000, f"sample_data is {total / 1e6:.1f} MB"
