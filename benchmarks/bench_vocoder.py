#!/usr/bin/env python3
"""Is the base voice's Griffin-Lim vocoder set well? Its settings against Whisper tiny.en's WER on real mels.

Issue 16 asks whether a better vocoder would lower the base voice's WER ceiling. Before training one, this
checks the two cheap knobs of the one we have (``helpers.basevoice.mel_to_audio``):

* **iterations** of fast Griffin-Lim (16, 32 = the shipped setting, 64, 100);
* **how the mel is turned back into a linear spectrum**: the clipped pseudo-inverse that ships, or a
  non-negative least-squares fit (projected gradient from the pseudo-inverse, 200 steps; librosa's
  ``mel_to_stft`` does the same with NNLS).

Each setting vocodes *real* log-mels (no model involved: this is the vocoder's ceiling) and Whisper tiny.en
transcribes the result; WER through the series' one normaliser:

* synthetic: the held-out ``test`` sentences of the four flite voices the base voice was trained on
  (``.corpus``, made by ``scripts/make_base_corpus.py``; ``--per-voice`` each);
* real: the home reader's *dev* takes (``../shared/realspeech/homereader``, helpers.realspeech.split), their
  log-mels made by the series' SpeechT5 feature extractor. The test split is not used.

    .venv/bin/python benchmarks/bench_vocoder.py      # ~8 minutes on 2 cores

Writes ``bench_vocoder.json`` beside this script.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def nnls_magnitude(log_mel: np.ndarray, steps: int = 200) -> np.ndarray:
    """``(frames, 80)`` log10-mels -> ``(513, frames)`` magnitudes >= 0 that fit the mel in least squares
    (projected gradient descent from the clipped pseudo-inverse)."""
    from helpers import basevoice as bv

    a = bv.mel_filters().T.astype(np.float64)            # (80, 513): mel = a @ |X|
    mel = np.power(10.0, np.asarray(log_mel, dtype=np.float64)).T
    x = np.maximum(np.linalg.pinv(a) @ mel, 0.0)
    step = 1.0 / np.linalg.norm(a, 2) ** 2
    for _ in range(steps):
        x = np.maximum(x - step * (a.T @ (a @ x - mel)), 0.0)
    return x.astype(np.float32)


def vocode(log_mel: np.ndarray, n_iter: int, inversion: str, power: float = 1.2, peak: float = 0.9) -> np.ndarray:
    """``basevoice.mel_to_audio`` with a choice of mel inversion."""
    from helpers import basevoice as bv

    mag = (bv.mel_to_magnitude(log_mel) if inversion == "pinv" else nnls_magnitude(log_mel)) ** power
    wav = bv.griffin_lim(mag, n_iter=n_iter)
    m = float(np.max(np.abs(wav))) if wav.size else 0.0
    return wav * (peak / m) if m > 0 else wav


SETTINGS = (("pinv", 16), ("pinv", 32), ("pinv", 64), ("pinv", 100), ("nnls", 32))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / ".corpus")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "base_voice")
    ap.add_argument("--per-voice", type=int, default=12)
    ap.add_argument("--real", type=int, default=30, help="home-reader dev takes")
    args = ap.parse_args(argv)
    if not (args.corpus / "corpus.json").exists():
        print(f"{args.corpus}: no corpus; build it with scripts/make_base_corpus.py")
        return 2
    import torch

    from helpers import audio as A
    from helpers import basevoice as bv
    from helpers import metrics
    from helpers import realspeech as RS
    from helpers.asr import get_backend
    from helpers.files import write_json

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    t0 = time.perf_counter()
    names, _ = bv.load_voices(args.model)
    test = bv.load_corpus(args.corpus, ("test",), voices=names)
    sets: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    by_voice: dict[str, list[dict]] = {}
    for e in test:
        by_voice.setdefault(e["voice"], []).append(e)
    pick = [e for v in names for e in by_voice.get(v, [])[: args.per_voice]]
    sets["synthetic (4 flite voices, held-out sentences)"] = ([e["labels"] for e in pick], [e["text"] for e in pick])
    if RS.root() is not None:
        from transformers import AutoProcessor

        proc = AutoProcessor.from_pretrained(str(args.model))
        rows = RS.homereader_rows("dev")[: args.real]
        mels = [np.asarray(proc(text="a", audio_target=A.load_mono(r["path"]), sampling_rate=16000)["labels"][0],
                           dtype=np.float32) for r in rows]
        sets["real (home reader, dev takes)"] = (mels, [r["text"] for r in rows])
    else:
        print(RS.SKIP_REASON)
    asr = get_backend("whisper-tiny.en")
    result: dict = {"what": "Whisper tiny.en WER of real log-mels vocoded by Griffin-Lim at each setting (the vocoder's "
                            "ceiling; no model involved)", "shipped": {"inversion": "pinv", "n_iter": 32},
                    "sets": {k: len(v[1]) for k, v in sets.items()}, "wer": {}, "vocode_seconds": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for inversion, n_iter in SETTINGS:
            key = f"{inversion}, {n_iter} iterations"
            result["wer"][key], result["vocode_seconds"][key] = {}, {}
            for name, (mels, texts) in sets.items():
                t = time.perf_counter()
                wavs = [vocode(m, n_iter, inversion) for m in mels]
                result["vocode_seconds"][key][name] = round(time.perf_counter() - t, 1)
                result["wer"][key][name] = round(metrics.wer(texts, asr.transcribe(wavs)), 3)
            print(key, result["wer"][key], flush=True)
    result.update(seconds=round(time.perf_counter() - t0, 1), cpus=os.cpu_count(), python=platform.python_version(),
                  measured_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_json(Path(__file__).with_suffix(".json"), result)
    print(f"wrote {Path(__file__).with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
