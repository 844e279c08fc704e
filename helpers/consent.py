"""Consent: is the person who agreed to a synthetic voice the person whose takes will train it?

Why this module exists
----------------------
A voice can be cloned from anyone's recordings. The series asks for one more take: the **consent statement**
("I, <name>, agree that my recordings may be used to train a synthetic voice of me, for <purpose>."), read by
the learner in the studio and saved as ``consent.wav`` beside the takes (:data:`helpers.prompts.CONSENT_FILE`).
Prep keeps it out of the training data and its report row says where it is; notebook 02 embeds it with GE2E
and compares it with the speaker embedding of the dataset (the centroid of the takes):

* ``same_speaker``      — similarity >= :data:`THRESHOLD`: notebook 03 may train;
* ``different_speaker`` — below it: stop; the message says what to do;
* ``too_short``         — under :data:`MIN_SPEECH_S` of speech: too little to judge a voice (see
  ``helpers.embeddings.STABLE_S``); record the whole statement again;
* ``missing``           — no consent take: how to record one.

The verdict is written to ``<work>/embeddings/consent.json`` (:func:`save_verdict`) and read back by
notebook 03 (:func:`load_verdict`) before it trains.

The threshold
-------------
:data:`THRESHOLD` comes from real speakers: the home reader and FSDD's 6 speakers, the very set of
``benchmarks/bench_speaker_real.json``'s ``eer.all_real_speakers`` (GE2E EER 0.59 %, utterance vs utterance,
threshold 0.703). The consent check compares one take with a *centroid*, which scores higher than one
utterance — for impostors too: at 0.703 it accepted 61 of 1134 impostor trials (5.4 %). So the operating point
is the **consent check's own EER point on the same speakers** (``benchmarks/bench_consent.py``: each >= 3 s
take against the centroid of its speaker's other takes, and against every other speaker's): there genuine
(>= 0.814) and impostor (<= 0.766) scores do not overlap (EER 0), and the threshold is the middle of that gap.
Those speakers differ in microphone and sample rate as well as in voice (FSDD is 8 kHz), so between similar
people on one microphone the error rate is higher: "same speaker" is evidence, not proof of identity, and no
substitute for asking the person.

Light imports: numpy at the top; the encoder (torch, resemblyzer) only inside :func:`check_dataset`.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

# GE2E cosine similarity: bench_consent.json "threshold" (tests/test_consent.py checks they agree).
THRESHOLD = 0.79
OPERATING_POINT = ("EER point of the consent check (a >= 3 s take vs a speaker's GE2E centroid) on the real speakers "
                   "of benchmarks/bench_speaker_real.json eer.all_real_speakers; the middle of the gap, the EER being "
                   "0 (benchmarks/bench_consent.json)")
MIN_SPEECH_S = 3.0          # less speech than this: "too_short" (embeddings of <= 2 s wobble: helpers.embeddings)
STATUSES = ("same_speaker", "different_speaker", "too_short", "missing")
VERDICT_FILE = "consent.json"
ENCODER = "ge2e"

__all__ = ["THRESHOLD", "OPERATING_POINT", "MIN_SPEECH_S", "STATUSES", "VERDICT_FILE", "find_consent_take",
           "speech_seconds", "judge", "check_consent", "check_dataset", "save_verdict", "load_verdict",
           "missing_verdict"]


def _how_to_record() -> str:
    from .prompts import CONSENT_FILE, CONSENT_TEMPLATE

    return ("Record it in notebook 01's studio: Studio(prompts_csv, raw_dir, consent_name='Your Name', "
            "consent_purpose='what the voice is for') offers the statement first and saves it as "
            f"{CONSENT_FILE} in your raw folder (or record \"{CONSENT_TEMPLATE.format(name='<your name>', purpose='<what the voice is for>')}\" yourself and save it there "
            f"as {CONSENT_FILE}); then run notebooks 01 and 02 again.")


def find_consent_take(dataset_dir: str | Path) -> Path | None:
    """The consent take of the dataset in ``dataset_dir`` (notebook 01's output), or None.

    Read from prep's ``report.csv`` (the row excluded as ``consent_take``) and ``source.json`` (the raw folder);
    only an existing file is returned.
    """
    from .prompts import is_consent

    dataset_dir = Path(dataset_dir)
    report, source = dataset_dir / "report.csv", dataset_dir / "source.json"
    if not report.is_file() or not source.is_file():
        return None
    raw_dir = Path(json.loads(source.read_text(encoding="utf-8")).get("raw_dir", ""))
    with report.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("reason") == "consent_take" or is_consent(row.get("id", "")):
                p = raw_dir / row.get("file", "")
                if row.get("file") and p.is_file():
                    return p
    return None


def speech_seconds(audio: np.ndarray, sr: int) -> float:
    """Seconds from the first to the last speech frame (the studio's energy detector): pauses count, the
    silence before and after does not."""
    from .studio import speech_frames

    _, is_speech = speech_frames(np.asarray(audio, dtype=np.float32), int(sr), 0.02)
    if not is_speech.any():
        return 0.0
    idx = np.flatnonzero(is_speech)
    return float((idx[-1] + 1 - idx[0]) * 0.02)


def missing_verdict(why: str = "") -> dict[str, Any]:
    """The verdict when there is no consent take (``why``: a sentence to put first, e.g. about the sample)."""
    msg = (why + " " if why else "") + "No consent statement take was found. " + _how_to_record()
    return {"status": "missing", "score": None, "threshold": THRESHOLD, "message": msg}


def judge(score: float | None, speech_s: float, threshold: float = THRESHOLD) -> dict[str, Any]:
    """The verdict for a consent take of ``speech_s`` seconds of speech scoring ``score`` against the dataset."""
    if speech_s < MIN_SPEECH_S or score is None:
        return {"status": "too_short", "score": None if score is None else float(score), "threshold": threshold,
                "message": (f"The consent take holds {speech_s:.1f} s of speech; at least {MIN_SPEECH_S:.0f} s are "
                            "needed to judge a voice. Read the whole statement again, at your usual pace, and "
                            "replace the take in the studio; then run notebooks 01 and 02 again.")}
    score = float(score)
    if score >= threshold:
        return {"status": "same_speaker", "score": score, "threshold": threshold,
                "message": (f"Same speaker: the consent take and the dataset's takes sound like one person to GE2E "
                            f"(similarity {score:.3f} >= threshold {threshold:.3f}). Notebook 03 may train a voice "
                            "from these takes.")}
    return {"status": "different_speaker", "score": score, "threshold": threshold,
            "message": (f"Different speaker: the consent take does not sound like the person in the dataset "
                        f"(similarity {score:.3f} < threshold {threshold:.3f}). Stop: do not train a voice from "
                        "these takes. If both really are you, re-record the consent statement in the same room, "
                        "with the same microphone, as your takes, and run notebooks 01 and 02 again. If the takes "
                        "are someone else's, only that person can consent: ask them to record the statement "
                        "themselves.")}


def check_consent(consent_audio: np.ndarray, sr: int, speaker_vector: np.ndarray, encoder: Any,
                  threshold: float = THRESHOLD) -> dict[str, Any]:
    """Judge one consent take against a speaker embedding (an L2-normalised centroid from ``encoder``).

    ``encoder``: a :class:`helpers.embeddings.Encoder` (GE2E: the threshold is GE2E's). Returns the verdict dict
    (``status``, ``score``, ``threshold``, ``message``, plus ``speech_s``).
    """
    from .audio import resample, to_mono

    x = resample(to_mono(np.asarray(consent_audio, dtype=np.float32)), int(sr), 16_000)
    speech_s = speech_seconds(x, 16_000)
    score = None
    if speech_s >= MIN_SPEECH_S:
        v = encoder.embed([x], progress=False)[0]
        ref = np.asarray(speaker_vector, dtype=np.float32).reshape(-1)
        score = float(v @ (ref / max(float(np.linalg.norm(ref)), 1e-12)))
    out = judge(score, speech_s, threshold)
    out["speech_s"] = round(speech_s, 2)
    return out


def check_dataset(work_dir: str | Path, speaker_vector: np.ndarray, encoder: Any,
                  threshold: float = THRESHOLD) -> dict[str, Any]:
    """Find the consent take of ``<work_dir>/dataset`` and judge it against ``speaker_vector`` (GE2E centroid of
    the dataset's takes, from ``encoder``). The verdict also names the take (``consent_path``)."""
    from .embeddings import read_audio
    from .prep import is_sample_dataset

    dataset = Path(work_dir) / "dataset"
    path = find_consent_take(dataset)
    if path is None:
        why = ("The bundled sample's learner is a synthetic voice (Piper joe): it has no consent take, so this "
               "check reports 'missing' for the sample." if is_sample_dataset(dataset) else "")
        return missing_verdict(why)
    out = check_consent(read_audio(path), 16_000, speaker_vector, encoder, threshold)
    out["consent_path"] = str(path)
    return out


def save_verdict(work_dir: str | Path, verdict: dict[str, Any]) -> Path:
    """Write ``verdict`` to ``<work_dir>/embeddings/consent.json`` (atomically), with the operating point and date."""
    from .files import write_json

    if verdict.get("status") not in STATUSES:
        raise ValueError(f"consent status must be one of {STATUSES}, got {verdict.get('status')!r}")
    for key in ("score", "threshold", "message"):
        if key not in verdict:
            raise ValueError(f"a consent verdict needs {key!r}")
    data = {**verdict, "encoder": verdict.get("encoder", ENCODER), "operating_point": OPERATING_POINT,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return write_json(Path(work_dir) / "embeddings" / VERDICT_FILE, data)


def load_verdict(work_dir: str | Path) -> dict[str, Any] | None:
    """The verdict notebook 02 saved (keys ``status`` in :data:`STATUSES`, ``score``, ``threshold``,
    ``message``, ...), or None when notebook 02 has not checked yet."""
    path = Path(work_dir) / "embeddings" / VERDICT_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("status") not in STATUSES:
        raise ValueError(f"{path}: unknown consent status {data.get('status')!r}. Delete it and run notebook 02 again.")
    return data
