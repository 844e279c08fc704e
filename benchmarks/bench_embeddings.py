#!/usr/bin/env python3
"""Speaker-embedding extraction throughput: utterances per second, on CPU and (if there is one) GPU.

    .venv/bin/python benchmarks/bench_embeddings.py                  # every device here, default sizes
    .venv/bin/python benchmarks/bench_embeddings.py --device cpu --n 32 --seconds 4
    python benchmarks/bench_embeddings.py --device cuda               # a GPU box with only torch (+ speechbrain)

What it measures, per encoder and device: the wall time of ``encoder.embed(n utterances)`` through the
same ``helpers.embeddings`` interface the notebook uses (GE2E: resemblyzer preprocessing + batched LSTM
windows; SpeechBrain models: padded batches through ``encode_batch``), after one warm-up batch; the
best of ``--repeats`` runs. Reported: utterances/s and the real-time factor (seconds of audio per second).

Encoders it tries, and what it says when it cannot:

``ge2e``            resemblyzer's pretrained GE2E (needs ``resemblyzer``).
``xvector``         the real ``speechbrain/spkrec-xvect-voxceleb`` when the Hub or a local cache has it;
                    otherwise ``xvector-arch``: SpeechBrain's Xvector at the real model's exact size
                    (24 fbanks, TDNN 512-512-512-512-1500, 512-d) with random weights — the same
                    arithmetic, so the same speed (needs ``speechbrain``).
``ecapa``           likewise ``speechbrain/spkrec-ecapa-voxceleb`` or ``ecapa-arch`` (80 fbanks,
                    C=1024, 192-d) with random weights.
``xvector-standin`` the reduced offline stand-in the ``quick`` profile uses (what the notebook costs offline).

Audio: the reference voices in ``sample_data/voices`` cut/looped to ``--seconds`` when present, else
seeded synthetic speech-like signals (harmonics with a moving pitch, amplitude-modulated). Writes
``bench_embeddings.json`` beside this script, keeping earlier runs of *other* devices (so a GPU run by
the lead adds to the CPU figures instead of replacing them).
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).with_suffix(".json")
SR = 16_000


def test_audio(n: int, seconds: float, seed: int = 0) -> tuple[list[np.ndarray], str]:
    """``n`` utterances of ``seconds`` each: real reference voices if present, else synthetic."""
    target = int(seconds * SR)
    voices = ROOT / "sample_data" / "voices" / "voices.csv"
    if voices.exists():
        try:
            from helpers.embeddings import load_reference_voices, read_audio

            rows = load_reference_voices(ROOT / "sample_data")
            out = []
            for i in range(n):
                w = read_audio(rows[i % len(rows)]["audio_path"])
                out.append(np.resize(w, target).astype(np.float32))  # loop short ones, cut long ones
            return out, f"sample_data/voices ({len(rows)} utterances, looped/cut to {seconds:g} s)"
        except Exception as err:  # e.g. soundfile missing on a bare GPU box
            print(f"(reference voices unreadable here: {err}; using synthetic audio)")
    rng = np.random.default_rng(seed)
    t = np.arange(target) / SR
    out = []
    for _ in range(n):
        f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        w = sum(np.sin(k * phase) / k for k in range(1, 12))
        env = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(2, 5) * t)) ** 2
        out.append((0.05 * w * env + 0.003 * rng.normal(size=target)).astype(np.float32))
    return out, f"synthetic speech-like signals ({seconds:g} s)"


class _ArchEncoder:
    """A SpeechBrain speaker model at its real size with random weights, run like ``encode_batch``."""

    def __init__(self, name: str, device: str):
        import torch
        from speechbrain.lobes.features import Fbank
        from speechbrain.processing.features import InputNormalization

        if name == "xvector-arch":
            from speechbrain.lobes.models.Xvector import Xvector

            n_mels, self.dim = 24, 512
            self.model = Xvector(in_channels=24, activation=torch.nn.LeakyReLU, tdnn_blocks=5,
                                 tdnn_channels=[512, 512, 512, 512, 1500], tdnn_kernel_sizes=[5, 3, 3, 1, 1],
                                 tdnn_dilations=[1, 2, 3, 1, 1], lin_neurons=512)
        else:
            from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

            n_mels, self.dim = 80, 192
            self.model = ECAPA_TDNN(80, channels=[1024, 1024, 1024, 1024, 3072], kernel_sizes=[5, 3, 3, 3, 1],
                                    dilations=[1, 2, 3, 4, 1], attention_channels=128, lin_neurons=192)
        self.name, self.device = name, device
        self.fbank = Fbank(n_mels=n_mels).to(device)
        self.norm = InputNormalization(norm_type="sentence", std_norm=False).to(device)
        self.model.to(device).eval()
        self.n_params = sum(p.numel() for p in self.model.parameters())

    def embed(self, wavs, batch_size=16, progress=False):
        import torch

        out = []
        for i in range(0, len(wavs), batch_size):
            chunk = wavs[i:i + batch_size]
            longest = max(len(w) for w in chunk)
            x = torch.zeros(len(chunk), longest)
            for j, w in enumerate(chunk):
                x[j, :len(w)] = torch.from_numpy(w)
            lens = torch.tensor([len(w) / longest for w in chunk])
            with torch.inference_mode():
                x, lens = x.to(self.device), lens.to(self.device)
                feats = self.norm(self.fbank(x), lens)
                e = self.model(feats, lens).reshape(len(chunk), -1)
                out.append(torch.nn.functional.normalize(e, dim=1).float().cpu().numpy())
        return np.concatenate(out)


def make_encoder(name: str, device: str):
    """(encoder, label, note) or raise with the reason it cannot run here."""
    if name == "ge2e":
        from helpers.embeddings import GE2EEncoder

        try:
            from helpers.models import packaged

            weights = packaged("resemblyzer-ge2e")
        except Exception:
            weights = None  # resemblyzer's own bundled file
        if weights is None:
            import resemblyzer

            weights = Path(resemblyzer.__file__).parent / "pretrained.pt"
        return GE2EEncoder(device=device, weights=weights), "ge2e", "pretrained"
    if name == "xvector-standin":
        from helpers.embeddings import get_encoder
        from helpers.models import standin

        return get_encoder("xvector", device=device, source=standin("spkrec-xvect-voxceleb")), name, \
            "reduced stand-in, random weights (the quick profile's cost)"
    if name in ("xvector", "ecapa"):
        from helpers.embeddings import get_encoder

        try:
            return get_encoder(name, device=device, allow_standin=False), name, "pretrained (hub)"
        except Exception as err:  # offline: same architecture, random weights
            print(f"  {name}: real model unavailable ({type(err).__name__}); timing the architecture instead")
            enc = _ArchEncoder(f"{name}-arch", device)
            return enc, f"{name}-arch", f"real architecture ({enc.n_params / 1e6:.1f} M params), random weights: speed only"
    raise ValueError(name)


def bench(enc, wavs, batch_size: int, repeats: int, device: str) -> float:
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    enc.embed(wavs[:batch_size], batch_size=batch_size, progress=False)  # warm-up
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        enc.embed(wavs, batch_size=batch_size, progress=False)
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="auto: cpu, and cuda too when available")
    ap.add_argument("--encoders", default="ge2e,xvector,ecapa,xvector-standin")
    ap.add_argument("--n", type=int, default=None, help="utterances per run (default: cpu 32, cuda 256)")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each utterance")
    ap.add_argument("--batch-size", type=int, default=None, help="default: cpu 16, cuda 64")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # hub models only when explicitly allowed / cached
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if args.device == "auto" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("No CUDA device here.")
        return 2
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    runs = previous.get("runs", {})
    for device in devices:
        n = args.n or (32 if device == "cpu" else 256)
        bs = args.batch_size or (16 if device == "cpu" else 64)
        wavs, audio_desc = test_audio(n, args.seconds)
        hw = (torch.cuda.get_device_name(0) if device == "cuda"
              else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
        print(f"\n== {device} ({hw}): {n} utterances x {args.seconds:g} s, batch {bs}; audio: {audio_desc}")
        results, skipped = {}, {}
        for name in [e.strip() for e in args.encoders.split(",") if e.strip()]:
            try:
                enc, label, note = make_encoder(name, device)
            except ImportError as err:
                skipped[name] = f"not installed here: {err.name or err}"
                print(f"  {name:16s} skipped: {skipped[name]}")
                continue
            except Exception as err:
                skipped[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
                print(f"  {name:16s} skipped: {skipped[name]}")
                continue
            try:
                secs = bench(enc, wavs, bs, args.repeats, device)
            except Exception as err:  # e.g. a dependency that only fails when first used
                skipped[label] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
                print(f"  {label:16s} {skipped[label]}")
                continue
            ups = n / secs
            results[label] = {"utterances_per_s": round(ups, 2), "realtime_factor": round(ups * args.seconds, 1),
                              "seconds": round(secs, 3), "dim": enc.dim, "model": note}
            print(f"  {label:16s} {ups:8.1f} utt/s  {ups * args.seconds:8.1f}x real time  ({note})")
        runs[device] = {"hardware": hw, "n_utterances": n, "utterance_s": args.seconds, "batch_size": bs,
                        "audio": audio_desc, "results": results, "skipped": skipped,
                        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                        "torch": torch.__version__, "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    report = {"benchmark": "speaker-embedding extraction throughput", "script": "benchmarks/bench_embeddings.py",
              "runs": runs}
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, OUT)
    print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
