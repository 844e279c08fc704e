#!/usr/bin/env python3
"""The consent check's threshold, on REAL speakers (GE2E): the EER operating point, and what it does to the check.

    .venv/bin/python benchmarks/bench_consent.py            # a few minutes on 2 cores (~300 utterances)

Notebook 02 compares the learner's consent take (one statement, a few seconds) with the speaker embedding of
their dataset (the centroid of their takes) and calls them the same speaker when the cosine similarity reaches
``helpers.consent.THRESHOLD``. The speakers are exactly the set whose EER ``bench_speaker_real.json`` reports
as ``eer.all_real_speakers`` (the home reader's 141 takes and FSDD's 6 speakers x 16 digit strings of ~2 s;
same seed, same strings): this script reproduces that EER (it must match the JSON) and its threshold
(utterance vs utterance), then measures the consent check itself — a consent-like take (>= 3 s) against a
speaker's centroid: the home reader's takes, each against the centroid of his other takes, and FSDD digit
strings of >= 3 s made of recordings not in the centroid's strings; genuine = the same speaker's centroid,
impostor = every other speaker's. A centroid scores higher than one utterance, for impostors too, so the
utterance-pair EER threshold accepts impostors here; the threshold is the consent check's own EER point on
the same speakers (the middle of the gap when genuine and impostor scores do not overlap).
Writes bench_consent.json beside this script.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from helpers import embeddings as E, realspeech as RS  # noqa: E402
from helpers.audio import load_mono  # noqa: E402
from helpers.files import write_json  # noqa: E402
from bench_speaker_real import digit_strings  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> int:
    if RS.root() is None:
        print(RS.SKIP_REASON)
        return 2
    t0 = time.perf_counter()
    enc = E.get_encoder("ge2e")
    rng = np.random.default_rng(0)  # as bench_speaker_real: its only random draws are the digit strings
    hr = RS.homereader_rows()
    by: dict[str, list] = {}
    for r in RS.fsdd_rows():
        by.setdefault(r["speaker"], []).append(r)
    v_hr = enc.embed([load_mono(r["path"]) for r in hr], progress=False)
    v_str, v_consent = {}, {}
    for s, rs in sorted(by.items()):
        order = iter(rng.permutation(len(rs)))
        v_str[s] = enc.embed(digit_strings(rs, 16, None, 2.0, order=order), progress=False)
        v_consent[s] = order  # the rest of this speaker's permutation: recordings no 2 s string used
    for s, rs in sorted(by.items()):
        v_consent[s] = enc.embed(digit_strings(rs, 8, None, 3.0, order=v_consent[s]), progress=False)

    groups = {"homereader": v_hr, **v_str}
    vecs = np.vstack(list(groups.values()))
    labels = [k for k, v in groups.items() for _ in range(len(v))]
    eer, thr = E.equal_error_rate(*E.pair_scores(vecs, labels))
    reported = json.loads((HERE / "bench_speaker_real.json").read_text())["eer"]["all_real_speakers"]

    cent = {k: E.speaker_embedding(v) for k, v in groups.items()}
    genuine, impostor = [], []
    for i in range(len(v_hr)):  # the home reader: each take vs the centroid of his other takes
        genuine.append(float(v_hr[i] @ E.speaker_embedding(np.delete(v_hr, i, axis=0))))
        impostor += [float(v_hr[i] @ cent[s]) for s in v_str]
    for s, vc in v_consent.items():
        for v in vc:
            genuine.append(float(v @ cent[s]))
            impostor += [float(v @ cent[o]) for o in groups if o != s]
    genuine, impostor = np.array(genuine), np.array(impostor)
    c_eer, c_thr = E.equal_error_rate(genuine, impostor)
    # The consent check's own EER point on these speakers; when genuine and impostor scores do not overlap
    # (EER 0) every threshold in the gap has no error: take its middle, not its edge.
    gap = float(impostor.max()) < float(genuine.min())
    consent_thr = (float(impostor.max()) + float(genuine.min())) / 2 if gap else c_thr

    def at(t: float) -> dict:
        return {"false_rejections": int((genuine < t).sum()), "false_acceptances": int((impostor >= t).sum())}

    out = {
        "encoder": "ge2e",
        "eer_all_real_speakers": round(eer, 4), "eer_in_bench_speaker_real_json": reported,
        "pairwise_eer_threshold": round(thr, 4),
        "consent_check": {
            "genuine": len(genuine), "impostor": len(impostor),
            "genuine_min": round(float(genuine.min()), 4), "genuine_mean": round(float(genuine.mean()), 4),
            "impostor_max": round(float(impostor.max()), 4), "impostor_mean": round(float(impostor.mean()), 4),
            "eer": round(c_eer, 4), "at_pairwise_eer_threshold": at(thr)},
        "operating_point": ("EER point of the consent check (a >= 3 s take vs a speaker's centroid) on the same real "
                            "speakers as bench_speaker_real.json eer.all_real_speakers; middle of the gap when the "
                            "EER is 0"),
        "threshold": round(consent_thr, 4),
        "at_threshold": at(round(consent_thr, 4)),
        "seconds": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    write_json(HERE / "bench_consent.json", out)
    return 0 if abs(round(eer, 4) - reported) < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
