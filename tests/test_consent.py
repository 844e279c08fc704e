"""helpers.consent on real speech: the consent take vs the dataset's speaker, with GE2E at the real-speaker threshold.

The home reader (one real man) is the learner: his dev-split takes make the dataset's centroid and another of his
takes is the consent statement -> same speaker. An FSDD speaker's digits (joined to >= 3 s) and a flite voice
reading the statement -> different speaker. No take -> missing; too little speech -> too short. Skipped, saying
why, when the real-speech corpus is absent. About 30-60 s on 2 busy cores (GE2E on ~9 utterances, two small prep runs).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import consent as C
from helpers import embeddings as E
from helpers import prep
from helpers import realspeech as RS
from helpers.audio import load_mono
from helpers.prompts import consent_text

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(RS.root() is None, reason=RS.SKIP_REASON)


@pytest.fixture(scope="module")
def reader():
    """GE2E, the home reader's centroid from 4 dev-split takes, and another of his takes (the consent candidate)."""
    enc = E.get_encoder("ge2e")
    dev = RS.homereader_rows("dev")
    vecs = enc.embed([load_mono(r["path"]) for r in dev[:4]], progress=False)
    return enc, E.speaker_embedding(vecs), dev[6:7]


def test_the_learner_own_take_as_consent_is_the_same_speaker(reader):
    enc, centroid, others = reader
    for r in others:
        v = C.check_consent(load_mono(r["path"], 44100), 44100, centroid, enc)
        assert v["status"] == "same_speaker", v
        assert v["score"] >= C.THRESHOLD and v["threshold"] == C.THRESHOLD and "Same speaker" in v["message"]
        assert v["speech_s"] >= C.MIN_SPEECH_S
        print(f"home reader consent vs his centroid: {v['score']:.3f}")


def test_another_real_person_is_a_different_speaker(reader):
    enc, centroid, _ = reader
    fsdd = RS.fsdd_rows()
    first = sorted({x["speaker"] for x in fsdd})[0]
    rows = [r for r in fsdd if r["speaker"] == first]
    parts, k = [], 0
    while sum(len(p) for p in parts) < 4.0 * 16000:  # >= 3 s of speech once the pauses are counted out
        parts += [load_mono(rows[k * 7]["path"]), np.zeros(1600, np.float32)]
        k += 1
    v = C.check_consent(np.concatenate(parts), 16000, centroid, enc)
    assert v["status"] == "different_speaker", v
    print(f"FSDD {first} vs the home reader: {v['score']:.3f}")
    assert v["score"] < C.THRESHOLD and "Stop" in v["message"] and "only that person can consent" in v["message"]


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite (Debian package) not installed")
def test_a_synthetic_voice_reading_the_statement_is_a_different_speaker(reader, tmp_path):
    enc, centroid, _ = reader
    wav = tmp_path / "flite.wav"
    text = consent_text("John Smith", "a tutorial exercise")
    subprocess.run(["flite", "-voice", "rms", "-t", text, "-o", str(wav)], check=True, capture_output=True)
    v = C.check_consent(load_mono(wav), 16000, centroid, enc)
    print(f"flite rms vs the home reader: {v['score']:.3f}")
    assert v["status"] == "different_speaker", v


def test_too_little_speech_is_too_short_not_a_verdict(reader):
    enc, centroid, others = reader
    x = load_mono(others[0]["path"])
    crop = x[len(x) // 2 - 16000: len(x) // 2 + 16000]  # 2 s of his own speech
    v = C.check_consent(crop, 16000, centroid, enc)
    assert v["status"] == "too_short" and v["score"] is None and "at least 3 s" in v["message"]


def test_prep_records_the_consent_take_and_the_verdict_round_trips(reader, tmp_path):
    enc, centroid, others = reader
    raw, work = tmp_path / "raw", tmp_path / "work"
    raw.mkdir()
    takes = RS.homereader_rows("dev")[:2]
    with (tmp_path / "prompts.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "transcript"])
        for r in takes:
            shutil.copy(r["path"], raw / Path(r["path"]).name)  # a temporary copy: the corpus stays read-only
            w.writerow([Path(r["path"]).name, r["text"]])
    settings = prep.PrepSettings(trim_method="energy")
    prep.prepare(raw, tmp_path / "prompts.csv", work / "dataset", settings=settings, progress=False, write_hf=False)
    assert C.find_consent_take(work / "dataset") is None
    missing = C.check_dataset(work, centroid, enc)
    assert missing["status"] == "missing" and "consent_name=" in missing["message"]
    assert C.load_verdict(work) is None

    shutil.copy(others[0]["path"], raw / "consent.wav")
    res = prep.prepare(raw, tmp_path / "prompts.csv", work / "dataset", settings=settings, progress=False,
                       write_hf=False)
    assert "consent" not in [m["id"] for m in res.manifest] and len(res.manifest) == 2
    assert C.find_consent_take(work / "dataset") == raw / "consent.wav"
    v = C.check_dataset(work, centroid, enc)
    assert v["status"] == "same_speaker" and v["consent_path"] == str(raw / "consent.wav")
    path = C.save_verdict(work, v)
    assert path == work / "embeddings" / "consent.json"
    back = C.load_verdict(work)
    assert {k: back[k] for k in ("status", "score", "threshold", "message")} == \
        {k: v[k] for k in ("status", "score", "threshold", "message")}
    assert back["operating_point"] == C.OPERATING_POINT
    with pytest.raises(ValueError, match="status"):
        C.save_verdict(work, {"status": "maybe", "score": 0.5, "threshold": 0.79, "message": ""})


def test_threshold_is_the_benchmark_s():
    bench = json.loads((ROOT / "benchmarks" / "bench_consent.json").read_text())
    real = json.loads((ROOT / "benchmarks" / "bench_speaker_real.json").read_text())
    assert bench["eer_in_bench_speaker_real_json"] == real["eer"]["all_real_speakers"] == bench["eer_all_real_speakers"]
    assert C.THRESHOLD == pytest.approx(bench["threshold"], abs=0.005)
    assert bench["at_threshold"] == {"false_rejections": 0, "false_acceptances": 0}
