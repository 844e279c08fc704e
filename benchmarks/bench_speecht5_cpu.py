#!/usr/bin/env python3
"""Notebook 03's quick fine-tune on a CPU: seconds per step of ``helpers.tts.train`` now and before.

The quick profile fine-tunes the offline base voice (``models/base_voice``, 7 M parameters) with strategy
``full``, micro-batch 8, fp32, on 2 CPU cores. This times that loop on utterances shaped like the sample
learner's (2–9 s; the base voice's 256-d GE2E conditioning) for the current helper and, with ``--before DIR``
(an older copy of the package: ``git archive <commit> helpers | tar -x -C DIR``), for the old one,
alternating the two so a busy machine slows both alike. JSON beside this file.

    python benchmarks/bench_speecht5_cpu.py --before .before
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT_JSON = Path(__file__).with_suffix(".json")


def time_train(tts_mod, models_mod, data, steps: int, batch: int) -> float:
    """Seconds per optimiser step, from the helper's own clock (state['seconds']), first 2 steps excluded."""
    from helpers.models import base_voice

    _, model, _ = models_mod.load_speecht5(base_voice(), None)
    times: list[float] = []

    def clock(event, info):
        if event == "log":
            times.append(time.perf_counter())

    cfg = tts_mod.TrainConfig(strategy="full", learning_rate=2e-4, warmup_steps=2, max_steps=steps,
                              micro_batch_size=batch, grad_accum=1, eval_every=0, save_every=10**9, log_every=1,
                              precision="fp32", seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        tts_mod.train(model, None, data, [], data[0]["speaker_embedding"], Path(tmp) / "run", cfg,
                      callbacks=[clock], resume=False, device="cpu", progress=False)
    return float(np.mean(np.diff(times[1:])))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from bench_speecht5 import _load_before, synthetic_utterances
    from helpers import models, tts

    data = synthetic_utterances(64, (2.0, 9.0), 81)
    for d in data:  # the base voice is conditioned on 256-d GE2E embeddings
        v = d["speaker_embedding"][:256]
        d["speaker_embedding"] = v / np.linalg.norm(v)
    old = _load_before(args.before) if args.before else None
    res: dict = {"now": [], "before": []}
    for _ in range(args.rounds):
        if old is not None:
            tts.use_sync_free_loss(False)
            import helpers_before.models as old_models
            res["before"].append(time_train(old.tts, old_models, data, args.steps, args.batch))
        res["now"].append(time_train(tts, models, data, args.steps, args.batch))
    out = {"s_per_step": {k: float(np.median(v)) for k, v in res.items() if v}, "runs": res,
           "settings": {"model": "models/base_voice", "strategy": "full", "micro_batch": args.batch, "precision": "fp32",
                        "threads": torch.get_num_threads(), "steps_timed": args.steps - 2},
           "notebook_quick_steps": 150, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    out["notebook_quick_train_s"] = {k: 150 * v for k, v in out["s_per_step"].items()}
    OUT_JSON.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["s_per_step"]), "->", out["notebook_quick_train_s"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
