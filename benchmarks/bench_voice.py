#!/usr/bin/env python3
"""Notebooks 01 → 03 on any folder of recordings, in one command: the evaluation table of "your voice" as JSON.

    python benchmarks/bench_voice.py --raw ../shared/realspeech/homereader/wavs \
        --prompts ../shared/realspeech/homereader/prompts.csv --work /tmp/voice_work
    SPEECHLAB_STRATEGIES='["full"]' python benchmarks/bench_voice.py ...   # any notebook parameter, as in make run

What it runs, exactly as a learner would:

1. **01's prep** (``python -m helpers.prep --raw --prompts --out <work>/dataset``): trim, loudness, the split;
   the raw folder is only read.
2. **02's speaker embedding** (GE2E, outlier takes left out) — notebook 03 computes it when it is missing.
3. **Notebook 03 itself**, executed by papermill with ``SPEECHLAB_WORK=<work>`` and ``SPEECHLAB_RAW_DIR=--raw`` (so it
   can never fall back to the sample): fine-tune, the collapse run, the choice of α on the validation takes, the
   evaluation on the held-out test sentences.

The JSON beside this file (``--out``) holds 03's recorded figures (``results.json``'s ``03_speecht5_finetune``):
the evaluation table with WER, GE2E similarity, closer-to-you, MCD and DNSMOS per system, the real takes' ceiling,
the α the rule chose and why, and "your voice" judged on the test sentences with its 95% intervals, plus the wall
time of each stage and the machine. The executed notebook is kept in ``<work>/03_executed.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT_JSON = Path(__file__).with_suffix(".json")


def run(raw: Path, prompts: Path | None, work: Path, profile: str = "quick", seed: int = 0,
        extra_env: dict[str, str] | None = None) -> dict:
    import papermill

    from helpers import prep

    work.mkdir(parents=True, exist_ok=True)
    timings = {}
    t0 = time.perf_counter()
    args = ["--raw", str(raw), "--out", str(work / "dataset")] + (["--prompts", str(prompts)] if prompts else [])
    rc = prep.main(args)
    if rc:
        raise SystemExit(f"prep failed on {raw} (exit {rc}): see its message above")
    timings["prep_s"] = round(time.perf_counter() - t0, 1)

    env = {"SPEECHLAB_WORK": str(work), "SPEECHLAB_RESULTS": str(work / "results"), "SPEECHLAB_RAW_DIR": str(raw),
           "SPEECHLAB_PROFILE": profile, "SPEECHLAB_SEED": str(seed), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           **(extra_env or {})}
    os.environ.update(env)
    t0 = time.perf_counter()
    papermill.execute_notebook(str(ROOT / "notebooks" / "03_speecht5_finetune.ipynb"), str(work / "03_executed.ipynb"),
                               cwd=str(ROOT / "notebooks"), progress_bar=False, log_output=False)
    timings["notebook_03_s"] = round(time.perf_counter() - t0, 1)
    figures = json.loads((work / "results" / "03_speecht5_finetune.json").read_text())
    return {
        "what": "notebooks 01 (prep) -> 02 (GE2E embedding) -> 03 (fine-tune, choose alpha on validation, evaluate on "
                "held-out test sentences) on one folder of recordings",
        "raw": str(raw), "prompts": str(prompts) if prompts else None, "profile": profile, "seed": seed,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "timings": timings,
        "notebook_overrides": {k: v for k, v in os.environ.items()
                               if k.startswith("SPEECHLAB_") and k not in env and k != "SPEECHLAB_RESULTS"},
        "notebook_03": figures,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw", type=Path, required=True, help="folder of the raw takes (only read)")
    ap.add_argument("--prompts", type=Path, default=None, help="the prompt table (any layout helpers.prompts reads)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_voice_work"), help="work dir (dataset, runs, clips)")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT_JSON)
    args = ap.parse_args(argv)
    res = run(args.raw.resolve(), args.prompts.resolve() if args.prompts else None, args.work.resolve(),
              args.profile, args.seed)
    from helpers.files import write_json

    write_json(args.out, res)
    nb = res["notebook_03"]
    print(f"{'system':<28} {'WER':>6} {'sim':>6} {'closer':>7} {'DNSMOS':>7}")
    for name, row in {"your real takes": nb.get("real_takes", {}), **nb.get("eval_table", {})}.items():
        fmt = lambda v, f: "-" if v is None else format(v, f)
        print(f"{name:<28} {fmt(row.get('wer'), '6.3f')} {fmt(row.get('speaker_similarity'), '6.3f')} "
              f"{fmt(row.get('closer_to_you'), '7.2f')} {fmt(row.get('dnsmos_ovrl'), '7.2f')}")
    print("your voice:", json.dumps(nb.get("your_voice")))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
