#!/usr/bin/env python3
"""How fast does SpeechT5 fine-tune? The public recipe vs. notebook 03's training helper, same GPU, one run.

(a) **recipe** — the Hugging Face course / task guide: ``Seq2SeqTrainer``, per-device batch 4 x gradient
    accumulation 8 (= 32 utterances per optimiser step), fp16, gradient checkpointing;
(b) **helper** — ``helpers.tts.train`` with notebook 03's default GPU settings: precision from the setup
    helper (bf16 on Ampere+, fp16 on a T4), no gradient checkpointing, micro-batch 32 x accumulation 1
    (the same 32 utterances per step), length-grouped batches.

Both train the REAL-SIZE SpeechT5 (``SpeechT5Config()`` defaults, 144 M parameters, random weights: speed
does not depend on the values) on synthetic utterances shaped like real ones: 2–9 s of 80-bin log-mel
targets (62.5 frames/s) and ~14 characters per second of random token ids, a 512-d speaker embedding each.

    python benchmarks/bench_speecht5.py                     # GPU: both, writes bench_speecht5.json beside it
    python benchmarks/bench_speecht5.py --smoke             # CPU, tiny model, seconds: proves the script runs
    python benchmarks/bench_speecht5.py --only helper --tag dp_1gpu
    accelerate launch --num_processes 2 benchmarks/bench_speecht5.py --only helper --tag dp_2gpu

Reported per system: seconds per optimiser step, utterances per second, peak GPU memory; plus the speed-up
and an estimate of the seconds to fine-tune notebook 03's ``full`` profile on the sample set.
Each run merges its figures into the JSON (keys ``recipe`` / ``helper`` / the ``--tag``), so the file
always holds the last measurement of each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT_JSON = Path(__file__).with_suffix(".json")
FRAMES_PER_S = 62.5
CHARS_PER_S = 14.0
# notebook 03, profile full: steps x utterances per step (see its parameters cell)
NOTEBOOK_FULL_STEPS = 400


def synthetic_utterances(n: int, seconds: tuple[float, float], vocab: int, seed: int = 0,
                         max_tokens: int = 199) -> list[dict]:
    """Utterances shaped like real ones: random text ids and log-mel-like targets of 2–9 s."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        dur = rng.uniform(*seconds)
        frames = int(dur * FRAMES_PER_S)
        tokens = int(np.clip(dur * CHARS_PER_S * rng.uniform(0.8, 1.2), 4, max_tokens))
        spk = rng.normal(size=512).astype(np.float32)
        out.append({"id": f"syn{i}", "input_ids": rng.integers(4, vocab - 2, size=tokens).tolist(),
                    "labels": (rng.normal(-5.0, 2.0, size=(frames, 80))).astype(np.float32),
                    "speaker_embedding": spk / np.linalg.norm(spk)})
    return out


def build_model(smoke: bool):
    from transformers import SpeechT5Config, SpeechT5ForTextToSpeech

    if smoke:
        from helpers.standins import tts_config_kwargs
        config = SpeechT5Config(**tts_config_kwargs())
    else:
        config = SpeechT5Config()  # the real microsoft/speecht5_tts sizes
    model = SpeechT5ForTextToSpeech(config)
    return model


def _sync():
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_gb() -> float | None:
    import torch
    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def _reset_peak():
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def run_recipe(data, args, device_is_gpu: bool) -> dict:
    """(a) Seq2SeqTrainer, 4 x 8, fp16, gradient checkpointing — timed per optimiser step."""
    import torch
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

    from helpers.tts import TTSDataCollator

    model = build_model(args.smoke)
    model.config.use_cache = False
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, targs, state, control, **kw):
            _sync()
            times.append(time.perf_counter())

    steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory() as tmp:
        targs = Seq2SeqTrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.recipe_batch, gradient_accumulation_steps=args.recipe_accum,
            learning_rate=1e-5, warmup_steps=min(500, steps), max_steps=steps, gradient_checkpointing=True,
            fp16=device_is_gpu, eval_strategy="no", save_strategy="no", logging_steps=1000, report_to="none",
            label_names=["labels"], remove_unused_columns=False, dataloader_num_workers=0, seed=0,
            use_cpu=not device_is_gpu)
        trainer = Seq2SeqTrainer(model=model, args=targs, train_dataset=data,
                                 data_collator=TTSDataCollator(pad_token_id=1, reduction_factor=2),
                                 callbacks=[Clock()])
        _reset_peak()
        t0 = time.perf_counter()
        trainer.train()
    per_step = float(np.mean(np.diff(times[args.warmup - 1:]))) if args.warmup >= 1 else (times[-1] - t0) / steps
    utt_per_step = args.recipe_batch * args.recipe_accum
    del trainer, model
    return {"s_per_step": per_step, "utterances_per_step": utt_per_step,
            "utterances_per_s": utt_per_step / per_step, "peak_gpu_gb": _peak_gb(),
            "settings": {"trainer": "Seq2SeqTrainer", "per_device_batch": args.recipe_batch,
                         "grad_accum": args.recipe_accum, "precision": "fp16" if device_is_gpu else "fp32 (cpu)",
                         "gradient_checkpointing": True, "group_by_length": False},
            "measured_steps": len(times) - args.warmup}


def run_helper(data, args, device_is_gpu: bool) -> dict:
    """(b) helpers.tts.train with notebook 03's GPU defaults — timed per optimiser step."""
    from accelerate import PartialState

    from helpers import tts
    from helpers.config import choose_precision

    state = PartialState()
    precision = args.precision or choose_precision("cuda" if device_is_gpu else "cpu")
    model = build_model(args.smoke)
    cfg = tts.TrainConfig(strategy="full", learning_rate=3e-5, warmup_steps=5, max_steps=args.warmup + args.steps,
                          micro_batch_size=args.batch, grad_accum=args.accum, precision=precision,
                          gradient_checkpointing=args.grad_ckpt, group_by_length=True, eval_every=0,
                          save_every=10**9, log_every=1, seed=0)
    times: list[float] = []

    def clock(event, info):
        if event == "log":
            _sync()
            times.append(time.perf_counter())

    _reset_peak()
    with tempfile.TemporaryDirectory() as tmp:
        spk = data[0]["speaker_embedding"]
        # the helper's checkpoint at the last step is not part of the timing (clock fires before it)
        tts.train(model, None, data, [], spk, Path(tmp) / "run", cfg, callbacks=[clock], resume=False,
                  device=None if device_is_gpu else "cpu", progress=False)
    per_step = float(np.mean(np.diff(times[args.warmup - 1:]))) if state.is_main_process else float("nan")
    utt_per_step = args.batch * args.accum * state.num_processes
    return {"s_per_step": per_step, "utterances_per_step": utt_per_step,
            "utterances_per_s": utt_per_step / per_step, "peak_gpu_gb": _peak_gb(),
            "settings": {"trainer": "helpers.tts.train (accelerate)", "micro_batch": args.batch,
                         "grad_accum": args.accum, "processes": state.num_processes, "precision": precision,
                         "gradient_checkpointing": args.grad_ckpt, "group_by_length": True},
            "measured_steps": len(times) - args.warmup}


def versions() -> dict:
    from importlib import metadata
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "accelerate"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run (stand-in size, short clips); JSON to a temp file")
    ap.add_argument("--only", choices=("both", "recipe", "helper"), default="both")
    ap.add_argument("--tag", default=None, help="JSON key for --only helper (e.g. dp_2gpu); default 'helper'")
    ap.add_argument("--n", type=int, default=640, help="synthetic utterances")
    ap.add_argument("--steps", type=int, default=12, help="measured optimiser steps")
    ap.add_argument("--warmup", type=int, default=3, help="optimiser steps not timed")
    ap.add_argument("--batch", type=int, default=32, help="helper micro-batch per process")
    ap.add_argument("--accum", type=int, default=1, help="helper gradient accumulation")
    ap.add_argument("--grad-ckpt", action="store_true", help="helper with gradient checkpointing")
    ap.add_argument("--precision", choices=("bf16", "fp16", "fp32"), default=None, help="helper precision (default: auto)")
    ap.add_argument("--recipe-batch", type=int, default=4)
    ap.add_argument("--recipe-accum", type=int, default=8)
    ap.add_argument("--sample-set-utterances", type=int, default=120,
                    help="for the time-to-fine-tune estimate (~10 min of 5 s takes)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    from accelerate import PartialState

    state = PartialState()
    gpu = torch.cuda.is_available() and not args.smoke
    if args.smoke:
        args.n, args.steps, args.warmup = 24, 2, 1
        args.batch, args.recipe_batch, args.recipe_accum = 8, 2, 4
        seconds, vocab = (0.5, 1.2), 81
    else:
        seconds, vocab = (2.0, 9.0), 81
        if not gpu:
            print("No GPU: this benchmark is meant for one (use --smoke for a CPU check).", file=sys.stderr)
            return 2
    torch.manual_seed(0)
    data = synthetic_utterances(args.n, seconds, vocab)
    out_path = args.out or (Path(tempfile.gettempdir()) / "bench_speecht5.smoke.json" if args.smoke else OUT_JSON)

    results: dict = {}
    if args.only in ("both", "recipe") and state.num_processes == 1:
        results["recipe"] = run_recipe(data, args, gpu)
        if state.is_main_process:
            print(f"recipe: {results['recipe']['s_per_step']:.3f} s/step, "
                  f"{results['recipe']['utterances_per_s']:.1f} utt/s, peak {results['recipe']['peak_gpu_gb']} GB")
    if args.only in ("both", "helper"):
        key = args.tag or "helper"
        results[key] = run_helper(data, args, gpu)
        if state.is_main_process:
            r = results[key]
            print(f"{key}: {r['s_per_step']:.3f} s/step, {r['utterances_per_s']:.1f} utt/s, peak {r['peak_gpu_gb']} GB "
                  f"(process 0), {r['settings']}")
    if not state.is_main_process:
        return 0

    record = json.loads(out_path.read_text()) if out_path.exists() else {}
    record.update(results)
    record["device"] = torch.cuda.get_device_name(0) if gpu else "cpu (smoke)"
    record["versions"] = versions()
    record["data"] = {"utterances": args.n, "seconds": list(seconds), "frames_per_s": FRAMES_PER_S,
                      "chars_per_s": CHARS_PER_S, "model": "SpeechT5Config() defaults, random weights"
                      if not args.smoke else "stand-in size (smoke)"}
    record["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if "recipe" in record and "helper" in record:
        rec, hel = record["recipe"], record["helper"]
        record["speedup_utterances_per_s"] = hel["utterances_per_s"] / rec["utterances_per_s"]
        record["goal"] = {"speedup_at_least": 5.0, "peak_gpu_gb_at_most": 14.0,
                          "met": bool(record["speedup_utterances_per_s"] >= 5.0
                                      and (hel["peak_gpu_gb"] or 0) <= 14.0)}
        steps_needed = NOTEBOOK_FULL_STEPS
        record["notebook_full_finetune_estimate_s"] = {
            "steps": steps_needed, "utterances_per_step": hel["utterances_per_step"],
            "epochs_of_sample_set": steps_needed * hel["utterances_per_step"] / args.sample_set_utterances,
            "helper_s": steps_needed * hel["s_per_step"], "recipe_s": steps_needed * rec["s_per_step"]}
        print(f"speed-up (utterances/s): {record['speedup_utterances_per_s']:.2f}x; goal met: {record['goal']['met']}")
        print(f"notebook full profile ({steps_needed} steps x {hel['utterances_per_step']} utt): "
              f"helper {record['notebook_full_finetune_estimate_s']['helper_s']:.0f} s, "
              f"recipe {record['notebook_full_finetune_estimate_s']['recipe_s']:.0f} s")
    if "dp_1gpu" in record and "dp_2gpu" in record:
        record["data_parallel_speedup"] = record["dp_2gpu"]["utterances_per_s"] / record["dp_1gpu"]["utterances_per_s"]
        print(f"data-parallel speed-up, 2 GPUs vs 1: {record['data_parallel_speedup']:.2f}x")
    out_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
