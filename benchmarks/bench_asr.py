#!/usr/bin/env python3
"""Benchmark notebook 04's recognisers: accuracy and speed on the synthetic reference voices AND on real
speech, the effect of Whisper's decoding settings (beam size, timestamps) on real speech, and the
from-scratch models' training throughput. Prints the figures and writes them to bench_asr.json beside
this script (the last measurement).

Real speech (helpers.realspeech; skipped with a note when ../shared/realspeech is absent): the home
reader's test-split takes (--real-limit of them, as recorded, 16 kHz) and FSDD spoken digits (--fsdd-limit,
spread over its 6 speakers). Both sides of every score go through helpers.metrics.normalize_for_wer.

    .venv/bin/python benchmarks/bench_asr.py                 # all 64 reference utterances + the real subsets
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


def _real_sets(real_limit: int, fsdd_limit: int) -> dict:
    """{set name: (audios, refs, ids)} of real speech, or {} when the corpus is not on this machine."""
    from helpers import realspeech as RS
    from helpers.audio import load_mono

    if RS.root() is None:
        return {}
    sets = {}
    if real_limit:
        rows = RS.homereader_rows("test")[:real_limit]
        sets["home reader (test split)"] = ([load_mono(r["path"]) for r in rows], [r["text"] for r in rows],
                                            [r["id"] for r in rows])
    if fsdd_limit:
        rows = RS.fsdd_rows()
        rows = rows[:: max(1, len(rows) // fsdd_limit)][:fsdd_limit]   # the manifest is by digit: a stride spreads them
        sets["FSDD digits"] = ([load_mono(r["path"]) for r in rows], [r["text"] for r in rows], [r["id"] for r in rows])
    return sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", nargs="+", default=["pocketsphinx", "whisper-tiny.en", "whisper-base"])
    ap.add_argument("--limit", type=int, default=None, help="score only the first N reference utterances")
    ap.add_argument("--train-steps", type=int, default=10, help="timed training steps per from-scratch model (0: skip)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the from-scratch models")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--real-limit", type=int, default=30, help="home-reader test takes scored (0: none)")
    ap.add_argument("--fsdd-limit", type=int, default=60, help="FSDD digits scored, spread over speakers (0: none)")
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="Whisper beam sizes compared on real speech")
    ap.add_argument("--real-only", action="store_true",
                    help="measure only the real-speech section; keep the rest of bench_asr.json as last measured")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    from helpers import asr, models
    from helpers import asr_scratch as S
    from helpers.config import SAMPLE_DATA
    from helpers.files import write_json

    dest = Path(__file__).with_suffix(".json")
    if args.real_only:
        import json

        old = json.loads(dest.read_text(encoding="utf-8")) if dest.exists() else {}
        args.train_steps = 0
    table = pd.read_csv(SAMPLE_DATA / "voices" / "voices.csv")
    if args.real_only:
        table = table.iloc[:0]
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
    for name in ([] if args.real_only else args.systems):
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

    real_sets = _real_sets(args.real_limit, args.fsdd_limit)
    out["real"] = {"sets": {k: {"utterances": len(v[0]), "audio_s": round(sum(len(a) for a in v[0]) / 16000, 1),
                                "ids": v[2]} for k, v in real_sets.items()}, "systems": {}, "settings": {}}
    if not real_sets:
        print("real speech: not found (../shared/realspeech); skipped")
    for set_name, (r_audio, r_refs, _ids) in real_sets.items():
        print(f"real speech, {set_name}: {len(r_audio)} utterances, {sum(len(a) for a in r_audio) / 16000:.0f} s")
        for name in args.systems:
            try:
                backend = asr.get_backend(name, device=args.device)
            except models.ModelUnavailableError:
                continue
            summary, _ = asr.evaluate(backend, r_audio, r_refs)
            out["real"]["systems"][f"{name}|{set_name}"] = {"wer": round(summary["wer"], 4),
                                                            "cer": round(summary["cer"], 4),
                                                            "rtf": round(summary["rtf"], 4)}
            print(f"  {name:20s} WER {summary['wer']:.3f}  CER {summary['cer']:.3f}  RTF {summary['rtf']:.3f}")
        if "whisper-tiny.en" in args.systems:
            for beam in args.beams:
                for ts in (False, True):
                    backend = asr.get_backend("whisper-tiny.en", device=args.device, beam_size=beam, timestamps=ts)
                    summary, _ = asr.evaluate(backend, r_audio, r_refs)
                    key = f"beam {beam}, timestamps {'on' if ts else 'off'}|{set_name}"
                    out["real"]["settings"][key] = {"wer": round(summary["wer"], 4), "cer": round(summary["cer"], 4),
                                                    "rtf": round(summary["rtf"], 4)}
                    print(f"  whisper-tiny.en {key.split('|')[0]:26s} WER {summary['wer']:.3f}  "
                          f"CER {summary['cer']:.3f}  RTF {summary['rtf']:.3f}")

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

    if args.real_only:
        out = {**old, "real": out["real"]}
    write_json(dest, out)
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
