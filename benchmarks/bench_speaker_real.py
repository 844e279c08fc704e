#!/usr/bin/env python3
"""Speaker checks on REAL speakers (GE2E): EER by duration, genuine takes flagged, planted foreign takes caught.

    .venv/bin/python benchmarks/bench_speaker_real.py            # ~3-10 min on 2 cores (about 900 utterances)

Real speech (helpers.realspeech): the home reader's 141 takes (one man at home) and FSDD's 6 speakers, whose
single digits (~0.4 s) are also joined into strings of about 2 s ("a take"). Measures:

* EER of GE2E on FSDD single digits, on ~2 s digit strings, and on all real speakers together;
* ``flag_outliers`` with durations: genuine takes flagged (the home reader's takes plus a third of them cut to
  1.5 s; each FSDD speaker's strings), and foreign takes planted one at a time (FSDD strings among the home
  reader's takes; every FSDD speaker's string among every other's) caught.

The duration rule's settings (MIN_JUDGE_S, STABLE_S, short_power) were chosen on the home reader's dev split
and FSDD; the widening relative to the yardstick's own duration (not to STABLE_S) is a rule with no setting, checked
on the dev parts (home reader dev ids; FSDD hosts whose name's sha1 puts them in dev: lucas, nicolas). Figures are
given per split. Writes bench_speaker_real.json beside this script.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from helpers import embeddings as E, realspeech as RS  # noqa: E402
from helpers.audio import load_mono  # noqa: E402
from helpers.files import write_json  # noqa: E402


def digit_strings(rows: list[dict], n: int, rng: np.random.Generator | None, seconds: float = 2.0,
                  order=None) -> list[np.ndarray]:
    """``n`` strings of one speaker's digits, each at least ``seconds`` long (0.1 s between digits), drawn in a
    random order from ``rng`` -- or from the iterator of row indices ``order`` (so a caller can track what it used)."""
    pick = order if order is not None else iter(rng.permutation(len(rows)))
    out = []
    for _ in range(n):
        parts: list[np.ndarray] = []
        while sum(len(p) for p in parts) < seconds * 16000:
            parts += [load_mono(rows[next(pick)]["path"]), np.zeros(1600, np.float32)]
        out.append(np.concatenate(parts))
    return out


def main() -> int:
    if RS.root() is None:
        print(RS.SKIP_REASON)
        return 2
    t0 = time.perf_counter()
    enc = E.get_encoder("ge2e")
    rng = np.random.default_rng(0)
    hr = RS.homereader_rows()
    hw = [load_mono(r["path"]) for r in hr]
    crops = [w[len(w) // 2 - 12_000:len(w) // 2 + 12_000] for w in hw]
    by: dict[str, list] = {}
    for r in RS.fsdd_rows():
        by.setdefault(r["speaker"], []).append(r)
    singles = {s: [load_mono(r["path"]) for r in rs[::17][:25]] for s, rs in sorted(by.items())}
    strings = {s: digit_strings(rs, 16, rng) for s, rs in sorted(by.items())}
    v_hr, v_crop = enc.embed(hw, progress=False), enc.embed(crops, progress=False)
    v_single = {s: enc.embed(w, progress=False) for s, w in singles.items()}
    v_str = {s: enc.embed(w, progress=False) for s, w in strings.items()}
    d_hr = np.array([len(w) / 16000 for w in hw])
    d_str = {s: np.array([len(x) / 16000 for x in w]) for s, w in strings.items()}

    def eer(groups: dict[str, np.ndarray]) -> float:
        vecs = np.vstack(list(groups.values()))
        labels = [k for k, v in groups.items() for _ in range(len(v))]
        return round(E.equal_error_rate(*E.pair_scores(vecs, labels))[0], 4)

    out: dict = {"encoder": "ge2e", "eer": {
        "fsdd_single_digits": eer(v_single), "fsdd_digit_strings_2s": eer(v_str),
        "all_real_speakers": eer({"homereader": v_hr, **v_str})}, "homereader": {}, "fsdd": {}}
    splits = np.array([RS.split(r["id"]) for r in hr])
    for which in ("dev", "test"):
        m = np.flatnonzero(splits == which)
        k = len(m) // 3
        vecs = np.vstack([v_hr[m], v_crop[m[:k]]])
        durs = np.concatenate([d_hr[m], np.full(k, 1.5)])
        genuine = E.flag_outliers(vecs, durations=durs)
        caught = [bool(E.flag_outliers(np.vstack([v_hr[m], v_str[s][j]]),
                                       durations=np.append(d_hr[m], d_str[s][j])).flagged[-1])
                  for s in v_str for j in range(len(v_str[s]))]
        out["homereader"][which] = {"genuine_takes": len(vecs), "of_which_1.5s_crops": k,
                                    "genuine_flagged": int(genuine.flagged.sum()),
                                    "planted_fsdd_caught": f"{sum(caught)}/{len(caught)}"}
    flagged, n, caught, per = 0, 0, [], {"dev": [0, 0, []], "test": [0, 0, []]}
    for a in v_str:
        f = int(E.flag_outliers(v_str[a], durations=d_str[a]).flagged.sum())
        c = [bool(E.flag_outliers(np.vstack([v_str[a], v_str[b][j]]),
                                  durations=np.append(d_str[a], d_str[b][j])).flagged[-1])
             for b in v_str if b != a for j in range(len(v_str[b]))]
        flagged, n, caught = flagged + f, n + len(v_str[a]), caught + c
        part = per[RS.split(a)]  # the host speaker's split (sha1 of the name, as for the home reader's ids)
        part[0], part[1], part[2] = part[0] + f, part[1] + len(v_str[a]), part[2] + c
    out["fsdd"] = {"genuine_strings": n, "genuine_flagged": flagged, "planted_other_speaker_caught":
                   f"{sum(caught)}/{len(caught)}", "caught_share": round(sum(caught) / len(caught), 3),
                   "by_host_split": {w: {"hosts": sorted(a for a in v_str if RS.split(a) == w),
                                         "genuine_flagged": f"{p[0]}/{p[1]}",
                                         "planted_caught": f"{sum(p[2])}/{len(p[2])}"} for w, p in per.items()}}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["cpus"] = os.cpu_count()
    print(out)
    write_json(Path(__file__).with_suffix(".json"), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
