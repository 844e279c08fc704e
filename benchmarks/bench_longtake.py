#!/usr/bin/env python3
"""Benchmark the long-recording splitter (helpers.longtake) on real speech: the home reader of
../shared/realspeech/homereader (one man, at home, 141 takes, correct transcripts).

N takes of the *test* split (takecheck.dev_ids: the splitter's rules were checked on a dev session of the other
takes, never on these) whose transcripts the forced aligner can place (helpers.align: the truth is the first
word's start and the last word's end, as in bench_trim_real.py; no trimmer decides it) are joined with pauses of
0.3-2 s of real room tone (helpers.realspeech.room_tone: each take's own quiet stretches), one prompt skipped
(N // 3) and one read twice (2N // 3); longtake.split_long_recording splits it, and the split is scored: every
kept piece attributed to the right prompt, and the share of speech edges within 100 ms of the truth.

    .venv/bin/python benchmarks/bench_longtake.py              # 40 prompts (~2-3 min on 2 busy cores)
    .venv/bin/python benchmarks/bench_longtake.py --long 12 40

Writes bench_longtake.json beside this script (the last measurement).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long", type=int, nargs="+", default=[40], help="prompts per session (one session each)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    from bench_takecheck import HOMEREADER, read_homereader

    if not HOMEREADER.is_dir():
        print(f"{HOMEREADER} not found: this benchmark needs ../shared/realspeech/homereader beside the repository.")
        return 2
    from helpers import longtake as LT
    from helpers import takecheck as TC
    from helpers.files import write_json

    from helpers import align
    from helpers import audio as A

    listener = TC.Listener(cpu_threads=args.threads)
    takes = read_homereader()
    dev = set(TC.dev_ids([t[0] for t in takes]))
    test_takes, no_truth, aligned = [], [], {}
    for t in takes:
        if t[0] in dev:
            continue
        b = align.checked_speech_bounds(A.load_mono(t[1]), t[2], listener)
        if b is None:
            no_truth.append(t[0])  # a first/last word the aligner lacks, or an end Whisper disagrees with: no truth
        else:
            test_takes.append(t)
            aligned[t[0]] = b     # the same alignment is the truth of the long recording: aligned once
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
           "data": "../shared/realspeech/homereader, test split (takes outside takecheck.dev_ids), in prompts.csv order; "
                   "takes the aligner cannot place left out",
           "truth": "PocketSphinx forced alignment (helpers.align.checked_speech_bounds): first word start, last word end; "
                    "takes whose aligned end Whisper's last word contradicts by > 0.5 s left out",
           "speech_edges": "helpers.audio.trim_bounds (the series' default trimmer) on each piece between the pauses",
           "left_out_no_truth": no_truth,
           "goal": ">= 95% of boundaries within 100 ms, every kept piece attributed to the right prompt",
           "settings": {"word_gap_s": LT.WORD_GAP_S, "min_gap_s": 0.2, "speech_range_db": LT.SPEECH_RANGE_DB,
                        "valley_drop_db": LT.VALLEY_DROP_DB, "skip_cost": LT.SKIP_COST,
                        "repeat_cost": LT.REPEAT_COST, "edit_cost": LT.EDIT_COST, "extra_cost": LT.EXTRA_COST},
           "sessions": {}}
    for n in args.long:
        res = LT.benchmark(test_takes[:n], listener=listener, bounds=aligned)
        out["sessions"][str(n)] = res
        print(n, {k: v for k, v in res.items() if k != "ids"})
    write_json(Path(__file__).with_name("bench_longtake.json"), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
