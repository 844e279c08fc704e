#!/usr/bin/env python3
"""Benchmark notebook 04's recognisers: accuracy and speed on the reference voices, and the
from-scratch models' training throughput. Prints the figures and writes them to bench_asr.json beside
this script (the last measurement).

    .venv/bin/python benchmarks/bench_asr.py                 # all 64 reference utterances
    .venv/bin/python benchmarks/bench_asr.py --limit 16      # a faster subset
    .venv/bin/python benchmarks/bench_asr.py --systems whisper-tiny.en --train-steps 0

Offline by default (HF_HUB_OFFLINE=1 is set unless you set it yourself); hub backends named with
--systems are skipped with a note when they cannot be loaded. Timings depend on the machine and on
what else is running: the JSON records the CPU count and torch threads used.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", nargs="+", default=["pocketsphinx", "whisper-tiny.en"])
    ap.add_argument("--limit", type=int, default=None, help="score only the first N reference utterances")
    ap.add_argument("--train-steps", type=int, default=10, help="timed training steps per from-scratch model (0: skip)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the from-scratch models")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    from helpers import asr, models
    from helpers import asr_scratch as S
    from helpers.config import SAMPLE_DATA
    from helpers.files import write_json

    table = pd.read_csv(SAMPLE_DATA / "voices" / "voices.csv")
    if args.limit:
        table = table.iloc[: args.limit]
    audios = [S.load_audio(SAMPLE_DATA / p) for p in table.path]
    refs = list(table.transcript)
    audio_s = sum(len(a) for a in audios) / 16000
    print(f"reference voices: {len(audios)} utterances, {audio_s:.1f} s of audio; {os.cpu_count()} CPUs")

    out: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "device": args.device,
                             "torch": torch.__version__},
                 "set": {"name": "sample_data/voices", "utterances": len(audios), "audio_s": round(audio_s, 2)},
                 "systems": {}, "scratch": {}}
    for name in args.systems:
        t0 = time.perf_counter()
        try:
            backend = asr.get_backend(name, device=args.device)
        except models.ModelUnavailableError as err:
            print(f"  {name:20s} SKIPPED ({str(err).splitlines()[0]})")
            continue
        load_s = time.perf_counter() - t0
        summary, _ = asr.evaluate(backend, audios, refs)
        out["systems"][name] = {"wer": round(summary["wer"], 4), "cer": round(summary["cer"], 4),
                                "rtf": round(summary["rtf"], 4), "compute_s": summary["compute_s"],
                                "load_s": round(load_s, 2), "size_mb": summary["size_mb"]}
        print(f"  {name:20s} WER {summary['wer']:.3f}  CER {summary['cer']:.3f}  RTF {summary['rtf']:.3f}  "
              f"load {load_s:.1f} s  size {summary['size_mb']:.0f} MB")

    if args.train_steps > 0:
        torch.set_num_threads(args.threads)
        vocab = S.CharVocab()
        rows = [{"id": str(i), "audio": a, "text": t} for i, (a, t) in enumerate(zip(audios[:16], refs[:16]))]
        batch_audio_s = sum(len(r["audio"]) for r in rows) / 16000
        for arch, mc in S.PRESETS["quick"].items():
            torch.manual_seed(0)
            items = S.featurize(rows, S.Featurizer(mc.features, n_mels=mc.n_feats, n_mfcc=mc.n_feats), vocab,
                                progress=False)
            model = S.build_model(mc, len(vocab)).to(args.device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            batch = S.collate(items)
            S.train_step(model, batch, opt, 400.0, args.device)  # warm-up
            t0 = time.perf_counter()
            for _ in range(args.train_steps):
                S.train_step(model, batch, opt, 400.0, args.device)
            per_step = (time.perf_counter() - t0) / args.train_steps
            out["scratch"][arch] = {"params": S.count_params(model), "batch": len(items),
                                    "s_per_step": round(per_step, 4),
                                    "audio_s_per_s": round(batch_audio_s / per_step, 1), "threads": args.threads}
            print(f"  {arch:12s} {S.count_params(model):>9,d} params  {per_step:.3f} s/step (batch {len(items)}, "
                  f"{batch_audio_s:.0f} s audio) = {batch_audio_s / per_step:.0f} s of audio trained per second")

    dest = Path(__file__).with_suffix(".json")
    write_json(dest, out)
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
