#!/usr/bin/env python3
"""Recording-prep throughput on the sample takes, as multiples of real time.

    .venv/bin/python benchmarks/bench_prep.py            # prints figures, writes bench_prep.json beside it
    .venv/bin/python benchmarks/bench_prep.py --repeat 5 --trim energy   # hybrid (the default), energy or vad

Runs ``helpers.prep.prepare`` on ``sample_data/raw`` (40 takes, 44.1 kHz stereo) into a
temporary folder: once cold (first imports of scipy/pyloudnorm included, as a learner's first
run) and ``--repeat`` times warm (a fresh output folder each time, so nothing is skipped).
Throughput = seconds of raw audio / seconds of processing. Wall time depends on what else the
machine is doing; CPU time (this process only) is the steadier figure on a shared machine.
Goal from the issue: >= 100x real time on 2 CPU cores for the sample set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import audio as A, prep  # noqa: E402
from helpers.config import SAMPLE_DATA  # noqa: E402
from helpers.files import write_json  # noqa: E402


def run_once(out: Path, settings: prep.PrepSettings) -> tuple[float, float, prep.PrepResult]:
    shutil.rmtree(out, ignore_errors=True)
    w0, c0 = time.perf_counter(), time.process_time()
    res = prep.prepare(SAMPLE_DATA / "raw", SAMPLE_DATA / "prompts.csv", out, settings, progress=False, write_hf=False)
    return time.perf_counter() - w0, time.process_time() - c0, res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trim", choices=A.TRIM_METHODS, default=A.DEFAULT_TRIM_METHOD)
    args = ap.parse_args()
    settings = prep.PrepSettings(trim_method=args.trim)
    tmp = Path(tempfile.mkdtemp(prefix="bench_prep-"))
    try:
        cold_wall, cold_cpu, res = run_once(tmp / "ds", settings)
        audio_s = res.raw_seconds
        warm = [run_once(tmp / "ds", settings)[:2] for _ in range(args.repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    best_wall = min(w for w, _ in warm)
    best_cpu = min(c for _, c in warm)
    ok = [r for r in res.rows if r["verdict"] == "ok"]
    loud_err = max(abs(r["loudness_after_lufs"] - settings.target_lufs) for r in ok)
    figures = {
        "trim_method": args.trim,
        "takes": len(res.rows),
        "takes_ok": len(ok),
        "raw_audio_s": round(audio_s, 1),
        "cold_wall_s": round(cold_wall, 2),
        "cold_x_realtime": round(audio_s / cold_wall, 1),
        "warm_wall_s_best": round(best_wall, 2),
        "warm_x_realtime_wall": round(audio_s / best_wall, 1),
        "warm_x_realtime_cpu": round(audio_s / best_cpu, 1),
        "loudness_err_max_lu": round(loud_err, 3),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(f"sample set: {len(res.rows)} takes, {audio_s:.0f} s of raw 44.1 kHz stereo audio, trim={args.trim}")
    print(f"  cold run (imports included): {cold_wall:6.2f} s  = {figures['cold_x_realtime']:6.1f}x real time")
    print(f"  warm, best of {args.repeat}:          {best_wall:6.2f} s  = {figures['warm_x_realtime_wall']:6.1f}x real time "
          f"(CPU time: {figures['warm_x_realtime_cpu']:.1f}x)")
    print(f"  loudness error, max over {len(ok)} outputs: {loud_err:.3f} LU")
    print(f"  load average during the run: {figures['load_avg_1min']} on {os.cpu_count()} cores")
    dest = Path(__file__).with_suffix(".json")
    write_json(dest, figures)
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
