#!/usr/bin/env python3
"""How fast does SpeechT5 fine-tune? The public recipe, a bare PyTorch loop and notebook 03's helper, one GPU, one run.

Rows (every one measured in the same run, same GPU, same synthetic utterances):

* **recipe** — the Hugging Face course / task guide: ``Seq2SeqTrainer``, per-device batch 4 x gradient
  accumulation 8 (= 32 utterances per optimiser step), fp16, gradient checkpointing;
* **bare_B** — the fastest plain loop we know how to write: bf16 autocast, fused AdamW, gradient clipping,
  the same length-grouped batches, pre-padded and pinned, no host sync per step; micro-batch B;
* **helper_B** — ``helpers.tts.train`` (accelerate) at micro-batch B; ``helper_auto`` at the micro-batch
  the ``full`` profile picks from the card's memory (``helpers.training.gpu_micro_batch``);
* **before_32** — the helper as it was before issue 17 (``--before DIR``: a copy of the old ``helpers``
  package, e.g. ``git archive <commit> helpers | tar -x -C DIR``), at notebook 03's old batch of 32;
* **t4_fp16** — the helper in fp16 at the micro-batch a 16 GB T4 gets, to check its peak memory;
* **compile_static** — the bare loop with every batch padded to one static shape and ``torch.compile``;
* **basevoice** — the base voice's pretraining loop (``helpers.basevoice.pretrain``) now and before, steps/s.

MFU: FLOPs of one forward + backward are *counted* (``torch.utils.flop_counter.FlopCounterMode``) on a
real batch, per utterance, times utterances/s, over the card's dense bf16 peak (datasheet: 989 TFLOP/s
for H100/H200 SXM; this workplace measured ~790 on an H200 with a large bf16 matrix product).

The model is the REAL-SIZE SpeechT5 (``SpeechT5Config()`` defaults, 144 M parameters, random weights: speed
does not depend on the values) on synthetic utterances shaped like real ones: 2–9 s of 80-bin log-mel
targets (62.5 frames/s) and ~14 characters per second of random token ids, a 512-d speaker embedding each.

    python benchmarks/bench_speecht5.py --before .before      # GPU: every row, writes bench_speecht5.json
    python benchmarks/bench_speecht5.py --smoke               # CPU, tiny model, seconds: proves the script runs
    accelerate launch --num_processes 2 benchmarks/bench_speecht5.py --only helper --tag dp_2gpu
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


def run_helper(data, args, device_is_gpu: bool, batch: int | None = None, tts_module=None,
               precision: str | None = None) -> dict:
    """helpers.tts.train (or an older copy of it: ``tts_module``) — timed per optimiser step."""
    from accelerate import PartialState

    from helpers import tts as current
    from helpers.config import choose_precision

    tts = tts_module or current
    batch = batch or args.batch
    steps = args.steps
    state = PartialState()
    precision = precision or args.precision or choose_precision("cuda" if device_is_gpu else "cpu")
    model = build_model(args.smoke)
    cfg = tts.TrainConfig(strategy="full", learning_rate=3e-5, warmup_steps=5, max_steps=args.warmup + steps,
                          micro_batch_size=batch, grad_accum=args.accum, precision=precision,
                          gradient_checkpointing=args.grad_ckpt, group_by_length=True, eval_every=0,
                          save_every=10**9, log_every=args.log_every, seed=0)
    times: list[float] = []  # at every log: the helper reads the loss back only then, as in notebook 03

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
    # times[0] is at the end of the warm-up (warmup is a multiple of log_every)
    per_step = float(np.mean(np.diff(times))) / args.log_every if state.is_main_process else float("nan")
    utt_per_step = batch * args.accum * state.num_processes
    del model
    return {"s_per_step": per_step, "utterances_per_step": utt_per_step,
            "utterances_per_s": utt_per_step / per_step, "peak_gpu_gb": _peak_gb(),
            "settings": {"trainer": f"{tts.__name__}.train (accelerate)", "micro_batch": batch,
                         "grad_accum": args.accum, "processes": state.num_processes, "precision": precision,
                         "gradient_checkpointing": args.grad_ckpt, "group_by_length": True},
            "measured_steps": (len(times) - 1) * args.log_every}


def _grouped_batches(data, batch: int, n_batches: int, pad_to: tuple[int, int] | None = None) -> list[dict]:
    """Length-grouped batches collated once, pinned (``pad_to``: one static (tokens, frames) shape)."""
    import torch

    from helpers.tts import TTSDataCollator, length_grouped_batches

    coll = TTSDataCollator(pad_token_id=1, reduction_factor=2)
    lengths = [len(d["labels"]) for d in data]
    out, epoch = [], 0
    while len(out) < n_batches:
        for b in length_grouped_batches(lengths, batch, seed=0, epoch=epoch):
            if len(b) < batch:
                continue
            x = coll([data[i] for i in b])
            if pad_to is not None:
                t, f = pad_to
                ids = torch.full((batch, t), 1, dtype=torch.long)
                am = torch.zeros((batch, t), dtype=torch.long)
                ids[:, :x["input_ids"].shape[1]] = x["input_ids"]
                am[:, :x["attention_mask"].shape[1]] = x["attention_mask"]
                lab = torch.full((batch, f, 80), -100.0)
                lab[:, :x["labels"].shape[1]] = x["labels"]
                x = {"input_ids": ids, "attention_mask": am, "labels": lab, "speaker_embeddings": x["speaker_embeddings"]}
            out.append({k: v.pin_memory() if torch.cuda.is_available() else v for k, v in x.items()})
            if len(out) == n_batches:
                break
        epoch += 1
    return out


def run_bare(data, args, batch: int, compile_static: bool = False, stock_loss: bool = False) -> dict:
    """The bare loop: bf16 autocast, fused AdamW, clip 1.0, pre-collated pinned batches, no per-step sync.
    ``stock_loss``: transformers' own loss (host syncs inside), as the loop issue 17 measured."""
    import torch

    from helpers.tts import make_train_module, use_sync_free_loss

    dev = torch.device("cuda")
    model = build_model(args.smoke).to(dev)
    model.config.use_cache = False
    module = make_train_module(model, "full", sync_free_loss=not stock_loss)
    use_sync_free_loss(not stock_loss)
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-5, fused=True)
    pad_to = None
    if compile_static:
        pad_to = (max(len(d["input_ids"]) for d in data), max(len(d["labels"]) for d in data) // 2 * 2)
    batches = _grouped_batches(data, batch, args.warmup + args.steps, pad_to)
    fwd = torch.compile(module, dynamic=False) if compile_static else module
    _reset_peak()

    def step(b):
        b = {k: v.to(dev, non_blocking=True) for k, v in b.items()}
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = fwd(b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach()

    t_first = time.perf_counter()
    for b in batches[:args.warmup]:
        step(b)
    _sync()
    warm_s = time.perf_counter() - t_first
    t0 = time.perf_counter()
    for b in batches[args.warmup:]:
        last = step(b)
    _sync()
    per_step = (time.perf_counter() - t0) / args.steps
    assert torch.isfinite(last), "bare loop diverged"
    out = {"s_per_step": per_step, "utterances_per_step": batch, "utterances_per_s": batch / per_step,
           "peak_gpu_gb": _peak_gb(), "measured_steps": args.steps,
           "settings": {"trainer": "bare loop" + (" + torch.compile, one static shape" if compile_static else ""),
                        "loss": "transformers' stock loss" if stock_loss else "helpers.tts sync-free loss",
                        "micro_batch": batch, "precision": "bf16", "fused_adamw": True, "group_by_length": True,
                        "static_shape": list(pad_to) if pad_to else None},
           "warmup_s": warm_s}
    del model, module, opt, fwd
    return out


def flops_per_utterance(data, args, batch: int = 16) -> float:
    """Counted FLOPs of one forward + backward of the real model, per utterance (bf16 autocast)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from helpers.tts import make_train_module

    dev = torch.device("cuda")
    model = build_model(args.smoke).to(dev)
    model.config.use_cache = False
    module = make_train_module(model, "full")
    module.train()
    b = {k: v.to(dev) for k, v in _grouped_batches(data, batch, 1)[0].items()}
    with FlopCounterMode(display=False) as fc:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = module(b)
        loss.backward()
    del model, module
    return fc.get_total_flops() / batch


def run_basevoice(helpers_pkg, steps: int = 300) -> dict:
    """The base voice's pretraining loop on a synthetic corpus in its real shard format: steps/s."""
    import torch

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        n = 2048
        mel_q, ids, voice, split, text, uid = [], [], [], [], [], []
        for i in range(n):
            frames = int(rng.uniform(1.5, 6.0) * FRAMES_PER_S)
            mel_q.append(rng.integers(0, 255, size=(frames, 80), dtype=np.uint8))
            ids.append(rng.integers(4, 79, size=int(frames / FRAMES_PER_S * CHARS_PER_S)))
            voice.append(i % 2)
            split.append("train" if i % 16 else "test")
            text.append("x")
            uid.append(f"u{i}")
        helpers_pkg.basevoice.pack_shard(corpus / "shard_000.npz", mel_q, -11.0, 0.05, ids, voice, split, text, uid)
        ge2e = rng.normal(size=(2, 256)).astype(np.float32)
        np.savez(corpus / "voices.npz", names=np.array(["a", "b"]), ge2e=ge2e / np.linalg.norm(ge2e, axis=1, keepdims=True))
        res = {}
        for label, k in (("short", 50), ("long", 50 + steps)):
            st = helpers_pkg.basevoice.pretrain(corpus, Path(tmp) / f"run_{label}", minutes=9.0, max_steps=k,
                                                batch_size=64, eval_every=0, save_every=10**9, log_every=50,
                                                resume=False)
            res[label] = st["runs"][-1]["seconds"]
        torch.cuda.synchronize()
    return {"steps_per_s": steps / (res["long"] - res["short"]), "batch_size": 64, "measured_steps": steps}


def _load_before(folder: Path):
    """Import an older copy of the ``helpers`` package (``folder/helpers``) as ``helpers_before``."""
    import importlib
    import importlib.util

    init = folder / "helpers" / "__init__.py"
    spec = importlib.util.spec_from_file_location("helpers_before", init, submodule_search_locations=[str(init.parent)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["helpers_before"] = mod
    spec.loader.exec_module(mod)
    for sub in ("tts", "basevoice", "training"):
        try:
            setattr(mod, sub, importlib.import_module(f"helpers_before.{sub}"))
        except ImportError:
            pass
    return mod


def versions() -> dict:
    from importlib import metadata
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "accelerate"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0}


def _peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run (stand-in size, short clips); JSON to a temp file")
    ap.add_argument("--only", choices=("all", "recipe", "helper"), default="all")
    ap.add_argument("--tag", default=None, help="JSON key for --only helper (e.g. dp_2gpu); default 'helper'")
    ap.add_argument("--n", type=int, default=1280, help="synthetic utterances (a multiple of every batch: no short last batch)")
    ap.add_argument("--steps", type=int, default=15, help="measured optimiser steps (a multiple of --log-every)")
    ap.add_argument("--warmup", type=int, default=5, help="optimiser steps not timed (a multiple of --log-every)")
    ap.add_argument("--log-every", type=int, default=5, help="helper rows: loss read back every N steps (notebook 03: 5)")
    ap.add_argument("--batch", type=int, default=32, help="helper micro-batch per process (notebook 03's reference batch)")
    ap.add_argument("--batches", default="32,64,128", help="micro-batches of the bare and helper rows")
    ap.add_argument("--accum", type=int, default=1, help="helper gradient accumulation")
    ap.add_argument("--grad-ckpt", action="store_true", help="helper with gradient checkpointing")
    ap.add_argument("--precision", choices=("bf16", "fp16", "fp32"), default=None, help="helper precision (default: auto)")
    ap.add_argument("--recipe-batch", type=int, default=4)
    ap.add_argument("--recipe-accum", type=int, default=8)
    ap.add_argument("--before", type=Path, default=None, help="folder holding an older helpers/ to compare with")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    ap.add_argument("--sample-set-utterances", type=int, default=120,
                    help="for the time-to-fine-tune estimate (~10 min of 5 s takes)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    from accelerate import PartialState

    state = PartialState()
    gpu = torch.cuda.is_available() and not args.smoke
    if args.smoke:
        args.n, args.steps, args.warmup, args.log_every = 24, 2, 1, 1
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
    batches = [int(b) for b in args.batches.split(",")] if not args.smoke else [args.batch]

    results: dict = {}

    def show(key: str) -> None:
        r = results[key]
        if state.is_main_process:
            print(f"{key}: {r['s_per_step']:.3f} s/step, {r['utterances_per_s']:.1f} utt/s, "
                  f"peak {r['peak_gpu_gb'] or 0:.1f} GB", flush=True)

    if args.only in ("all", "recipe") and state.num_processes == 1:
        results["recipe"] = run_recipe(data, args, gpu)
        show("recipe")
    if args.only == "helper":
        key = args.tag or "helper"
        results[key] = run_helper(data, args, gpu)
        show(key)
    if args.only == "all":
        from helpers import training

        from helpers.tts import use_sync_free_loss

        if gpu and args.before:  # the code as it was: transformers' stock loss, the old loops
            old = _load_before(args.before)
            use_sync_free_loss(False)
            results["before_32"] = run_helper(data, args, gpu, batch=32, tts_module=old.tts)
            show("before_32")
            use_sync_free_loss(False)
            results["basevoice_before"] = run_basevoice(old)
            print("basevoice_before:", results["basevoice_before"], flush=True)
        if gpu:
            results["bare_32_stock"] = run_bare(data, args, 32, stock_loss=True)
            show("bare_32_stock")
        for b in batches:
            results[f"helper_{b}"] = run_helper(data, args, gpu, batch=b)
            show(f"helper_{b}")
        if gpu:
            for b in batches:
                results[f"bare_{b}"] = run_bare(data, args, b)
                show(f"bare_{b}")
            auto = training.gpu_micro_batch("cuda")
            results["helper_auto"] = run_helper(data, args, gpu, batch=auto)
            show("helper_auto")
            t4 = training.micro_batch_for_memory(15.1e9)
            results["t4_fp16"] = run_helper(data, args, gpu, batch=t4, precision="fp16")
            show("t4_fp16")
            import helpers.basevoice  # binds the package ``helpers`` with its basevoice module loaded
            results["basevoice_after"] = run_basevoice(helpers)
            print("basevoice_after:", results["basevoice_after"], flush=True)
            if not args.no_compile:
                try:
                    results["compile_static_64"] = run_bare(data, args, 64, compile_static=True)
                    show("compile_static_64")
                except Exception as e:  # say what happened, keep the other rows
                    results["compile_static_64"] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
                    print("compile_static_64 failed:", results["compile_static_64"]["error"], flush=True)
            fpu = flops_per_utterance(data, args)
            peak = _peak_tflops(torch.cuda.get_device_name(0))
            results["flops_per_utterance"] = fpu
            for k, r in results.items():
                if isinstance(r, dict) and "utterances_per_s" in r:
                    r["tflops_per_s"] = r["utterances_per_s"] * fpu / 1e12
                    r["mfu"] = r["tflops_per_s"] / peak if peak else None
    if not state.is_main_process:
        return 0

    record = json.loads(out_path.read_text()) if out_path.exists() else {}
    if args.only == "all":
        record = {k: v for k, v in record.items() if k.startswith("dp_")}  # every row of this run, nothing stale
    record.update(results)
    record["device"] = torch.cuda.get_device_name(0) if gpu else "cpu (smoke)"
    record["versions"] = versions()
    record["data"] = {"utterances": args.n, "seconds": list(seconds), "frames_per_s": FRAMES_PER_S,
                      "chars_per_s": CHARS_PER_S, "model": "SpeechT5Config() defaults, random weights"
                      if not args.smoke else "stand-in size (smoke)"}
    record["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if "recipe" in record and "helper_auto" in record:
        rec, hel = record["recipe"], record["helper_auto"]
        record["speedup_utterances_per_s"] = hel["utterances_per_s"] / rec["utterances_per_s"]
        same = record.get(f"bare_{args.batch}"), record.get(f"helper_{args.batch}")
        record["goal"] = {
            "helper_at_least_bare_at_same_batch": bool(same[0] and same[1]
                                                       and same[1]["utterances_per_s"] >= 0.97 * same[0]["utterances_per_s"]),
            "full_profile_utterances_per_s_at_least": 600.0,
            "full_profile_met": bool(hel["utterances_per_s"] >= 600.0),
            "t4_peak_gb_at_most": 14.0,
            "t4_met": bool((record.get("t4_fp16", {}).get("peak_gpu_gb") or 99) <= 14.0)}
        utterances = NOTEBOOK_FULL_STEPS * args.batch
        record["notebook_full_finetune_estimate_s"] = {
            "utterances": utterances, "epochs_of_sample_set": utterances / args.sample_set_utterances,
            "helper_auto_s": utterances / hel["utterances_per_s"], "recipe_s": utterances / rec["utterances_per_s"]}
        print(f"full profile vs recipe (utterances/s): {record['speedup_utterances_per_s']:.1f}x; goals: {record['goal']}")
    if "dp_1gpu" in record and "dp_2gpu" in record:
        record["data_parallel_speedup"] = record["dp_2gpu"]["utterances_per_s"] / record["dp_1gpu"]["utterances_per_s"]
        print(f"data-parallel speed-up, 2 GPUs vs 1: {record['data_parallel_speedup']:.2f}x")
    out_path.write_text(json.dumps(record, indent=2) + "\n")
    if gpu and args.only == "all":
        print(f"{'row':<20}{'utt/s':>9}{'s/step':>9}{'peak GB':>9}{'MFU':>7}")
        for k, r in record.items():
            if isinstance(r, dict) and "utterances_per_s" in r:
                print(f"{k:<20}{r['utterances_per_s']:>9.1f}{r['s_per_step']:>9.3f}{(r['peak_gpu_gb'] or 0):>9.1f}"
                      f"{(r.get('mfu') or 0):>7.1%}")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
