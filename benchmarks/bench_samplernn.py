#!/usr/bin/env python3
"""SampleRNN throughput: training samples/s and generation samples/s at batch 1 and batch 128.

    python benchmarks/bench_samplernn.py            # the paper-sized setting on the GPU (see below)
    python benchmarks/bench_samplernn.py --smoke    # tiny model on the CPU, seconds: checks the code path

Setting (the public PyTorch port's, which measured on an H100: 2.1 M samples/s training, 1.6 k samples/s
generating at batch 1 and 20.5 k at batch 128): frame sizes 16,4; 2 GRU layers; dim 1024; batch 128;
TBPTT 1024; bf16 autocast for training; fp32 generation with the per-frame CUDA graph.
Goals on an H100: >= 4.3 M, >= 16 k and >= 500 k samples/s.

Needs only torch and numpy (imports ``helpers.samplernn`` from this repository). Prints the figures and
writes them as JSON beside this script (``bench_samplernn.json``; ``--smoke`` writes to the temp folder,
so a smoke run never replaces the GPU figures). The training data is synthetic (a random mix of tones + noise,
quantised): throughput does not depend on what the audio says.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from helpers import samplernn as S  # noqa: E402

PAPER = dict(frame_sizes=(16, 4), n_rnn=2, dim=1024, batch=128, seq_len=1024)
SMOKE = dict(frame_sizes=(16, 4), n_rnn=1, dim=64, batch=4, seq_len=128)


def synthetic_codes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / S.SAMPLE_RATE
    x = sum(0.2 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(80, 2000, 5))
    x = x + 0.02 * rng.standard_normal(n)
    return S.quantize(np.clip(x, -1, 1), "linear").astype(np.uint8)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_train(model, device: str, batch: int, seq_len: int, steps: int, warmup: int) -> dict:
    tcfg = S.TrainConfig(batch_size=batch, seq_len=seq_len, segment_len=seq_len * 8, amp=True)
    codes = synthetic_codes(S.SAMPLE_RATE * 20)
    trainer = S.Trainer(model, codes, None, tcfg, device)
    for _ in range(warmup):
        trainer.train_step(sync=False)
    sync(device)
    t0 = time.perf_counter()
    losses = [trainer.train_step(sync=False) for _ in range(steps)]
    sync(device)
    dt = time.perf_counter() - t0
    loss = float(torch.stack(losses).float().mean())
    if not math.isfinite(loss):
        raise RuntimeError(f"training diverged: loss {loss}")
    return {"samples_per_s": steps * batch * seq_len / dt, "step_ms": 1000 * dt / steps, "steps": steps,
            "mean_bits_per_sample": loss}


def bench_generate(model, device: str, batch: int, n_samples: int, dtype, use_graph: bool | None) -> dict:
    gen = S.Generator(model, batch_size=batch, dtype=dtype, use_graph=use_graph)
    gen.generate(model.cfg.lookback * 2, temperature=1.0, seed=1)    # warm-up (captures the CUDA graph)
    sync(device)
    t0 = time.perf_counter()
    codes = gen.generate(n_samples, temperature=1.0, seed=2)
    sync(device)
    dt = time.perf_counter() - t0
    spread = int(codes.float().std().item() > 0)   # something other than one constant came out
    return {"samples_per_s": batch * n_samples / dt, "per_sequence_samples_per_s": n_samples / dt,
            "realtime_factor_per_sequence": n_samples / dt / S.SAMPLE_RATE, "seconds": dt, "n_samples": n_samples,
            "cuda_graph": gen.use_graph, "nonconstant_output": bool(spread)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny model on the CPU, seconds")
    ap.add_argument("--device", default=None, help="default: cuda if available (smoke: cpu)")
    ap.add_argument("--train-steps", type=int, default=None)
    ap.add_argument("--gen-seconds", type=float, default=None, help="seconds of audio per sequence to time")
    ap.add_argument("--gen-dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--no-graph", action="store_true", help="generation without the CUDA graph (for comparison)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    s = SMOKE if args.smoke else PAPER
    device = args.device or ("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if not args.smoke and device == "cpu":
        print("WARNING: paper-sized settings on the CPU will take very long; use --smoke to check the code path.")
    steps = args.train_steps or (5 if args.smoke else 50)
    gen_s = args.gen_seconds or (0.1 if args.smoke else 1.0)
    out = args.out or (Path(tempfile.gettempdir()) / "bench_samplernn.smoke.json" if args.smoke else HERE / "bench_samplernn.json")
    torch.manual_seed(0)
    if device == "cpu":
        torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    model = S.build_model(S.SampleRNNConfig(frame_sizes=s["frame_sizes"], n_rnn=s["n_rnn"], dim=s["dim"]), device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    train = bench_train(model, device, s["batch"], s["seq_len"], steps, warmup=2 if args.smoke else 10)
    train_peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    dtype = torch.bfloat16 if args.gen_dtype == "bf16" else torch.float32
    use_graph = False if args.no_graph else None
    big = 4 if args.smoke else 128
    n = int(gen_s * S.SAMPLE_RATE)
    gen1 = bench_generate(model, device, 1, n, dtype, use_graph)
    gen128 = bench_generate(model, device, big, n, dtype, use_graph)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    result = {
        "what": "SampleRNN throughput (helpers.samplernn)",
        "smoke": args.smoke,
        "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "versions": {"torch": torch.__version__, "python": platform.python_version(),
                     "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if device.startswith("cuda") else None},
        "settings": {**{k: list(v) if isinstance(v, tuple) else v for k, v in s.items()},
                     "q_levels": 256, "train_precision": "bf16 autocast" if device.startswith("cuda") else "fp32",
                     "gen_dtype": args.gen_dtype, "train_steps_timed": steps, "gen_seconds_per_sequence": gen_s,
                     "gen_batch_large": big,
                     "parameters": S.count_parameters(model)},
        "train_samples_per_s": train["samples_per_s"],
        "train_step_ms": train["step_ms"],
        "gen_samples_per_s_b1": gen1["samples_per_s"],
        "gen_samples_per_s_b128": gen128["samples_per_s"],
        "gen_realtime_factor_b1": gen1["realtime_factor_per_sequence"],
        "peak_memory_gib_train": train_peak,
        "peak_memory_gib": peak,
        "details": {"train": train, "gen_b1": gen1, "gen_large": gen128},
        "reference_port_h100": S.PORT_H100,
        "goals_h100": S.GOALS_H100,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(f"device                {result['device']}  (torch {torch.__version__})")
    print(f"settings              {result['settings']}")
    print(f"training              {train['samples_per_s'] / 1e6:8.3f} M samples/s  ({train['step_ms']:.1f} ms/step; goal 4.3 M on H100, port 2.1 M)")
    print(f"generation, batch 1   {gen1['samples_per_s'] / 1e3:8.2f} k samples/s  ({gen1['realtime_factor_per_sequence']:.2f}x real time; goal 16 k, port 1.6 k)")
    print(f"generation, batch {result['settings']['gen_batch_large']:<3} {gen128['samples_per_s'] / 1e3:8.2f} k samples/s  (goal 500 k at 128, port 20.5 k)")
    if peak is not None:
        print(f"peak GPU memory       {peak:.2f} GiB (training {train_peak:.2f} GiB)")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
