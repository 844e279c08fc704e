#!/usr/bin/env python3
"""Generate the multi-voice corpus that the offline base voice model (issue 8) is pretrained on.

What it does
------------
1. **Text** — thousands of English sentences generated *here* from this script's own word lists and
   sentence templates (no external text source at all, so there is nothing to license). Every
   sentence is normalised with :func:`helpers.text.normalize_for_tts` for the SpeechT5 character vocabulary.
2. **Audio** — each sentence is spoken by ONE of the offline voices of this machine: flite (``slt``,
   ``rms``, ``awb``, ``kal16``) and espeak-ng voices/variants (accents × formant variants × speaking rate).
   The Piper ``joe`` voice is **held out**: it plays the learner in notebook 03 and is never in this corpus.
   Audio is resampled to 16 kHz mono (soxr), edge silences trimmed, RMS-normalised, a faint dither added
   (TTS engines write digital silence, which would pin the log-mel at its 1e-10 floor).
3. **Targets** — 80-bin log-mels with the SpeechT5 feature extractor of the stand-in processor
   (``helpers.models.standin("speecht5_tts")``: 64 ms window, 16 ms hop, 80–7600 Hz, log10), and token
   ids with its character tokenizer — exactly what ``processor(text=..., audio_target=...)`` returns.
4. **Speakers** — per voice, the GE2E (resemblyzer, 256-d) embedding: the re-normalised mean over
   ``--embed-per-voice`` of that voice's training utterances. The model is conditioned on it.
5. **Shards** — ``shard_NNN.npz`` (``np.savez_compressed``): log-mels quantised to uint8 with a per-shard
   offset/scale, concatenated, with offsets; token ids concatenated with offsets; voice index; split;
   the text. ``corpus.json`` + ``voices.npz`` describe it. Everything the GPU trainer needs is in there
   (the GPU machine has no soundfile, resemblyzer or flite).

Held-out evaluation sentences (``--heldout-per-voice`` per voice, never spoken by any voice in training)
get split ``"test"``; they are in the shards too (validation loss on the GPU; WER here).

    .venv/bin/python scripts/make_base_corpus.py --out .corpus --hours 2.0
    .venv/bin/python scripts/make_base_corpus.py --out /tmp/c --hours 0.02   # seconds: a smoke run

Re-runs are safe: the folder is written atomically (an interrupted run leaves nothing half-written).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLE_RATE = 16_000
HELD_OUT_VOICES = ("piper_joe",)  # the learner: never in the corpus

# --- voices ------------------------------------------------------------------------------------------
# name -> (engine, voice argument, extra args). espeak-ng: accent + formant variant, speaking rate (-s,
# words per minute) and pitch (-p) varied so the speaker encoder sees distinct "people".
VOICES: dict[str, tuple[str, str, list[str]]] = {
    "flite_slt": ("flite", "slt", []),
    "flite_rms": ("flite", "rms", []),
    "flite_awb": ("flite", "awb", []),
    "flite_kal16": ("flite", "kal16", []),
    "espeak_us_m1": ("espeak-ng", "en-us", ["-s", "150", "-p", "45"]),
    "espeak_us_f3": ("espeak-ng", "en-us+f3", ["-s", "145", "-p", "55"]),
    "espeak_gb_m3": ("espeak-ng", "en-gb+m3", ["-s", "155", "-p", "40"]),
    "espeak_rp_f2": ("espeak-ng", "en-gb-x-rp+f2", ["-s", "140", "-p", "60"]),
    "espeak_scot_m7": ("espeak-ng", "en-gb-scotland+m7", ["-s", "150", "-p", "35"]),
    "espeak_029_f4": ("espeak-ng", "en-029+f4", ["-s", "145", "-p", "50"]),
    "espeak_nyc_m2": ("espeak-ng", "en-us-nyc+m2", ["-s", "160", "-p", "48"]),
    "espeak_wmids_f1": ("espeak-ng", "en-gb-x-gbcwmd+f1", ["-s", "150", "-p", "58"]),
}

# --- text: helpers/sentences.py (the project's own word lists and templates) ------------------------
from helpers.sentences import make_sentence, make_sentences  # noqa: E402,F401


# --- audio ---------------------------------------------------------------------------------------------

def synth(voice: str, text: str, tmp: Path) -> np.ndarray:
    """16 kHz float32 mono audio of ``text`` in ``voice`` (flite / espeak-ng through a temp WAV)."""
    import soundfile as sf
    import soxr

    engine, arg, extra = VOICES[voice]
    wav = tmp / "u.wav"
    if engine == "flite":
        cmd = ["flite", "-voice", arg, "-t", text, "-o", str(wav)]
    else:
        cmd = ["espeak-ng", "-v", arg, *extra, "-w", str(wav), text]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not wav.exists():
        raise RuntimeError(f"{engine} failed for voice {voice!r}: {res.stderr.strip()[:300]} "
                           f"(is `{engine}` installed? apt-get install {engine})")
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if sr != SAMPLE_RATE:
        audio = soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)
    return audio


def clean(audio: np.ndarray, rng: np.random.Generator, pad_s: float = 0.08, target_rms: float = 0.08) -> np.ndarray:
    """Trim edge silence (keep ``pad_s``), RMS-normalise, add a faint dither (no digital silence)."""
    frame = 160
    n = len(audio) // frame
    if n == 0:
        return audio
    energy = np.sqrt((audio[: n * frame].reshape(n, frame) ** 2).mean(axis=1))
    voiced = np.nonzero(energy > max(1e-4, 0.02 * energy.max()))[0]
    if voiced.size:
        pad = int(pad_s * SAMPLE_RATE)
        a = max(0, voiced[0] * frame - pad)
        b = min(len(audio), (voiced[-1] + 1) * frame + pad)
        audio = audio[a:b]
    rms = float(np.sqrt(np.mean(audio ** 2))) + 1e-9
    audio = audio * (target_rms / rms)
    peak = float(np.max(np.abs(audio)))
    if peak > 0.97:
        audio = audio * (0.97 / peak)
    return (audio + rng.normal(0.0, 2e-4, size=audio.shape)).astype(np.float32)


# --- packing ------------------------------------------------------------------------------------------

def quantise(mels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """float log-mels -> uint8 with one offset/scale: value = offset + q * scale."""
    lo, hi = float(mels.min()), float(mels.max())
    scale = max(hi - lo, 1e-6) / 255.0
    q = np.clip(np.round((mels - lo) / scale), 0, 255).astype(np.uint8)
    return q, lo, scale


def write_shard(path: Path, items: list[dict]) -> int:
    """Quantise the items' mels with one offset/scale and write them as a shard (``helpers.basevoice.pack_shard``)."""
    from helpers.basevoice import pack_shard

    q, lo, scale = quantise(np.concatenate([it["mel"] for it in items]).astype(np.float32))
    bounds = np.cumsum([0] + [len(it["mel"]) for it in items])
    return pack_shard(path, [q[a:b] for a, b in zip(bounds[:-1], bounds[1:])], lo, scale, [it["ids"] for it in items],
                      [it["voice_idx"] for it in items], [it["split"] for it in items],
                      [it["text"] for it in items], [it["uid"] for it in items])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".corpus")
    ap.add_argument("--hours", type=float, default=2.0, help="total training audio to generate")
    ap.add_argument("--voices", nargs="*", default=list(VOICES), help=f"subset of {list(VOICES)}")
    ap.add_argument("--heldout-per-voice", type=int, default=12)
    ap.add_argument("--embed-per-voice", type=int, default=40)
    ap.add_argument("--shard-utts", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args(argv)

    from tqdm.auto import tqdm
    from transformers import SpeechT5Processor

    from helpers import models
    from helpers.embeddings import get_encoder, speaker_embedding
    from helpers.files import atomic_dir, write_json
    from helpers.text import normalize_for_tts, tokenizer_vocab

    bad = [v for v in args.voices if v not in VOICES]
    if bad or any(v in HELD_OUT_VOICES for v in args.voices):
        raise SystemExit(f"Unknown or held-out voice(s) {bad}: choose from {list(VOICES)} (joe is held out).")
    proc_dir = models.standin("speecht5_tts")
    processor = SpeechT5Processor.from_pretrained(proc_dir)
    vocab = tokenizer_vocab(processor)
    voices = list(args.voices)
    t0 = time.perf_counter()

    # Enough sentences: ~5 s each on average (measured ~4.5-6 s across voices); generated lazily per voice.
    per_voice_s = args.hours * 3600 / len(voices)
    n_train = int(per_voice_s / 3.0) + 50  # upper bound; we stop each voice at its time budget
    pool = make_sentences(len(voices) * (n_train + args.heldout_per_voice), args.seed)
    heldout = pool[: len(voices) * args.heldout_per_voice]
    train_pool = pool[len(heldout):]
    rng = np.random.default_rng(args.seed)

    items: list[dict] = []
    seconds = {v: 0.0 for v in voices}
    audio_for_embedding: dict[str, list[np.ndarray]] = {v: [] for v in voices}
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        bar = tqdm(total=round(args.hours * 3600), desc="corpus (s of audio)", unit="s")
        for vi, voice in enumerate(voices):
            mine = [(s, "test") for s in heldout[vi * args.heldout_per_voice:(vi + 1) * args.heldout_per_voice]]
            mine += [(s, "train") for s in train_pool[vi::len(voices)]]
            for k, (text, split) in enumerate(mine):
                if split == "train" and seconds[voice] >= per_voice_s:
                    break
                used, _ = normalize_for_tts(text, vocab)
                audio = clean(synth(voice, used, tmp), rng)
                enc = processor(text=used, audio_target=audio, sampling_rate=SAMPLE_RATE)
                ids = list(enc["input_ids"])
                if len(ids) >= 200 or len(audio) > 15 * SAMPLE_RATE:
                    continue
                items.append({"uid": f"{voice}_{k:05d}", "voice_idx": vi, "split": split, "text": used,
                              "ids": ids, "mel": np.asarray(enc["labels"][0], dtype=np.float32)})
                if split == "train":
                    seconds[voice] += len(audio) / SAMPLE_RATE
                    bar.update(len(audio) / SAMPLE_RATE)
                    if len(audio_for_embedding[voice]) < args.embed_per_voice:
                        audio_for_embedding[voice].append(audio)
        bar.close()
    t_synth = time.perf_counter() - t0

    print("GE2E speaker embeddings per voice ...", flush=True)
    encoder = get_encoder("ge2e")
    emb = np.stack([speaker_embedding(encoder.embed(audio_for_embedding[v], progress=False)) for v in voices])
    t_embed = time.perf_counter() - t0 - t_synth

    rng_py = random.Random(args.seed)
    rng_py.shuffle(items)
    with atomic_dir(args.out) as tmp:
        sizes = []
        for i in range(0, len(items), args.shard_utts):
            sizes.append(write_shard(tmp / f"shard_{i // args.shard_utts:03d}.npz", items[i:i + args.shard_utts]))
        np.savez(tmp / "voices.npz", names=np.array(voices), ge2e=emb.astype(np.float32))
        processor.save_pretrained(tmp / "processor")
        n_split = {s: sum(it["split"] == s for it in items) for s in ("train", "test")}
        write_json(tmp / "corpus.json", {
            "voices": voices, "held_out_voices": list(HELD_OUT_VOICES),
            "engines": {v: " ".join([VOICES[v][0], VOICES[v][1], *VOICES[v][2]]) for v in voices},
            "train_hours": round(sum(seconds.values()) / 3600, 3),
            "seconds_per_voice": {v: round(s, 1) for v, s in seconds.items()},
            "utterances": n_split, "shards": len(sizes), "megabytes": round(sum(sizes) / 1e6, 2),
            "text_source": "generated by scripts/make_base_corpus.py from its own word lists and templates (seed "
                           f"{args.seed}); no external text",
            "features": "SpeechT5 feature extractor (stand-in processor): 80 log10-mel bins, 16 ms hop, uint8 per shard",
            "speaker_embedding": f"GE2E (resemblyzer) 256-d, re-normalised mean of {args.embed_per_voice} utterances per voice",
            "seconds_to_build": {"synth_and_features": round(t_synth, 1), "embeddings": round(t_embed, 1)},
            "seed": args.seed,
        })
    info = json.loads((args.out / "corpus.json").read_text())
    print(json.dumps({k: info[k] for k in ("train_hours", "utterances", "shards", "megabytes", "seconds_to_build")}))
    print(f"Next: python -m helpers.basevoice train --corpus {args.out} --out work/base_voice --minutes 8.5 --resume")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
