"""The offline *base voice*: a small SpeechT5 that the project pretrains itself (issue 8).

Why this module exists
----------------------
Offline, notebook 03 could only fine-tune a randomly initialised stand-in, whose audio means nothing.
Training from scratch on 10 minutes of one voice collapses; fine-tuning a model that already speaks
works. To show both offline, the project carries a small SpeechT5 that already speaks: pretrained
here on a multi-voice corpus of synthetic English (``scripts/make_base_corpus.py``: flite and espeak-ng
voices, sentences generated from the script's own word lists; the Piper ``joe`` voice is held out).

What is in here
---------------
1. :func:`base_config_kwargs` — the real ``microsoft/speecht5_tts`` architecture at reduced size
   (hidden 256, 3+3 layers, 4 heads, FFN 1024, post-net 5×256), conditioned on the **GE2E** speaker
   embedding (256-d, the offline encoder of notebook 02), guided attention loss on. ~7.1 M parameters.
2. :func:`load_corpus` — the corpus shards (uint8 log-mels, token ids, voice index) as the training
   examples :class:`helpers.tts.TTSDataCollator` takes, each with its voice's GE2E embedding.
3. :func:`pretrain` — a time-boxed, resumable loop (``--minutes 8.5 --resume``) built from notebook 03's
   pieces: the collator, :func:`helpers.tts.make_train_module` (loss = L1 + stop BCE + guided attention),
   :func:`helpers.tts.length_grouped_batches`, :func:`helpers.tts.save_checkpoint`. It is not
   :func:`helpers.tts.train` because that one stops at a step count, not at a wall-clock limit, and the
   GPU machine gives ≤ 10 minutes per command. bf16 autocast on a GPU, fp32 on a CPU.
   Learning rate: linear warm-up, then inverse square root (no need to know the total step count).
4. :func:`export` — an fp16 safetensors model folder ``load_speecht5`` opens (+ processor, voices).
5. :func:`griffin_lim` / :func:`mel_to_audio` — a vocoder that needs no trained weights: SpeechT5 log10
   mels -> linear magnitudes (least squares through the mel filter bank) -> Griffin-Lim phase.

The GPU machine has only torch / transformers / accelerate / numpy (no soundfile, no resemblyzer):
everything training needs is inside the shards, and this module imports nothing else.

Command line::

    python -m helpers.basevoice train --corpus .corpus --out work/base_voice --minutes 8.5 --resume
    python -m helpers.basevoice export --out work/base_voice --dest models/base_voice
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import choose_precision

SAMPLE_RATE = 16_000
N_FFT, WIN, HOP = 1024, 1024, 256  # SpeechT5 feature extractor: 64 ms window, 16 ms hop at 16 kHz


# ----------------------------------------------------------------------------------------------------
# 1. The model
# ----------------------------------------------------------------------------------------------------

def base_config_kwargs() -> dict:
    """``SpeechT5Config`` settings of the base voice: the stand-in's (real tokenizer ids, 80 mels,
    reduction factor 2, guided attention 2 heads / sigma 0.4 / scale 10) at a size that can speak."""
    from .standins import tts_config_kwargs

    kw = tts_config_kwargs()
    kw.update(hidden_size=256, encoder_layers=3, decoder_layers=3, encoder_attention_heads=4,
              decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024,
              encoder_layerdrop=0.0, decoder_layerdrop=0.0,  # a 3-layer model cannot afford to skip layers
              speech_decoder_prenet_units=256, speech_decoder_postnet_layers=5,
              speech_decoder_postnet_units=256, speaker_embedding_dim=256)
    return kw


def build_model(seed: int = 0, overrides: dict | None = None):
    """A freshly initialised base-voice ``SpeechT5ForTextToSpeech`` (``overrides``: config changes)."""
    import torch
    from transformers import SpeechT5Config, SpeechT5ForTextToSpeech

    torch.manual_seed(seed)
    return SpeechT5ForTextToSpeech(SpeechT5Config(**{**base_config_kwargs(), **(overrides or {})}))


# ----------------------------------------------------------------------------------------------------
# 2. The corpus
# ----------------------------------------------------------------------------------------------------

def _check_corpus(folder: Path) -> list[Path]:
    folder = Path(folder)
    shards = sorted(folder.glob("shard_*.npz"))
    if not shards or not (folder / "voices.npz").exists():
        raise FileNotFoundError(f"{folder}: no corpus shards (shard_*.npz + voices.npz). Generate them with "
                                f"`python scripts/make_base_corpus.py --out {folder}` (a few minutes on a CPU).")
    return shards


def load_voices(folder: str | Path) -> tuple[list[str], np.ndarray]:
    """The corpus voices' names and their GE2E embeddings ``(n_voices, 256)``."""
    z = np.load(Path(folder) / "voices.npz")
    return [str(n) for n in z["names"]], z["ge2e"].astype(np.float32)


def load_corpus(folder: str | Path, splits: Sequence[str] = ("train",), max_items: int | None = None,
                voices: Sequence[str] | None = None) -> list[dict]:
    """Examples ``{"id", "text", "voice", "input_ids", "labels" (frames, 80) float32, "speaker_embedding"}``
    (only those of ``voices``, when given)."""
    shards = _check_corpus(Path(folder))
    names, emb = load_voices(folder)
    unknown = sorted(set(voices or ()) - set(names))
    if unknown:
        raise ValueError(f"{folder}: no voice(s) {unknown} in this corpus; it has {names}.")
    keep = set(range(len(names))) if not voices else {names.index(v) for v in voices}
    out: list[dict] = []
    for shard in shards:
        z = np.load(shard)
        q, lo, scale = z["mel_q"], float(z["mel_offset"]), float(z["mel_scale"])
        fo, io, ids = z["frame_offsets"], z["id_offsets"], z["ids"]
        for i, (split, voice, text, uid) in enumerate(zip(z["split"], z["voice"], z["text"], z["uid"])):
            if str(split) not in splits or int(voice) not in keep:
                continue
            mel = (q[fo[i]:fo[i + 1]].astype(np.float32) * scale + lo)
            out.append({"id": str(uid), "text": str(text), "voice": names[int(voice)],
                        "input_ids": ids[io[i]:io[i + 1]].astype(np.int64).tolist(), "labels": mel,
                        "speaker_embedding": emb[int(voice)]})
            if max_items is not None and len(out) >= max_items:
                return out
    return out


def pack_shard(path: Path, mel_q: Sequence[np.ndarray], mel_offset: float, mel_scale: float,
               ids: Sequence[Sequence[int]], voice: Sequence[int], split: Sequence[str], text: Sequence[str],
               uid: Sequence[str]) -> int:
    """Write one corpus shard (the format :func:`load_corpus` reads): per-utterance uint8 mels and token ids,
    concatenated with offsets, plus voice index, split, text and id. Returns the file size in bytes."""
    np.savez_compressed(
        path, mel_q=np.concatenate(mel_q).astype(np.uint8), mel_offset=np.float32(mel_offset),
        mel_scale=np.float32(mel_scale),
        frame_offsets=np.concatenate([[0], np.cumsum([len(m) for m in mel_q])]).astype(np.int64),
        ids=np.concatenate([np.asarray(t, dtype=np.uint8) for t in ids]),
        id_offsets=np.concatenate([[0], np.cumsum([len(t) for t in ids])]).astype(np.int64),
        voice=np.asarray(voice, dtype=np.int16), split=np.asarray(split), text=np.asarray(text), uid=np.asarray(uid))
    return Path(path).stat().st_size


def subset_corpus(src: str | Path, dst: str | Path, voices: Sequence[str]) -> dict:
    """Write ``dst``: the corpus ``src`` with only ``voices`` (same utterances, same held-out sentences,
    same quantised mels; voice indices renumbered). Used to pretrain on the voices that Whisper can read
    and to keep what travels to the GPU machine small. Returns the new ``corpus.json``."""
    from .files import atomic_dir, write_json

    src, dst = Path(src), Path(dst)
    shards = _check_corpus(src)
    names, emb = load_voices(src)
    unknown = sorted(set(voices) - set(names))
    if unknown or not voices:
        raise ValueError(f"{src}: no voice(s) {unknown or '(none given)'} in this corpus; it has {names}.")
    old = [names.index(v) for v in voices]
    remap = {o: i for i, o in enumerate(old)}
    info = json.loads((src / "corpus.json").read_text()) if (src / "corpus.json").exists() else {}
    counts = {"train": 0, "test": 0}
    with atomic_dir(dst) as tmp:
        for shard in shards:
            with np.load(shard) as npz:
                z = {k: npz[k] for k in npz.files}  # read each array once (an NpzFile re-reads on every access)
            sel = [i for i, v in enumerate(z["voice"]) if int(v) in remap]
            fo, io, mel_q, all_ids = z["frame_offsets"], z["id_offsets"], z["mel_q"], z["ids"]
            mel = [mel_q[fo[i]:fo[i + 1]] for i in sel]
            ids = [all_ids[io[i]:io[i + 1]] for i in sel]
            pack_shard(tmp / shard.name, mel, float(z["mel_offset"]), float(z["mel_scale"]), ids,
                       [remap[int(z["voice"][i])] for i in sel], z["split"][sel], z["text"][sel], z["uid"][sel])
            for i in sel:
                counts[str(z["split"][i])] = counts.get(str(z["split"][i]), 0) + 1
        np.savez(tmp / "voices.npz", names=np.array(list(voices)), ge2e=emb[old].astype(np.float32))
        if (src / "processor").exists():
            shutil.copytree(src / "processor", tmp / "processor")
        spv = info.get("seconds_per_voice", {})
        info.update(voices=list(voices), engines={v: info.get("engines", {}).get(v) for v in voices},
                    seconds_per_voice={v: spv.get(v) for v in voices},
                    train_hours=round(sum(spv.get(v) or 0 for v in voices) / 3600, 3), utterances=counts,
                    subset_of={"voices": names, "note": f"subset written by helpers.basevoice.subset_corpus from {src.name}"})
        write_json(tmp / "corpus.json", info)
    return info


# ----------------------------------------------------------------------------------------------------
# 3. Pretraining
# ----------------------------------------------------------------------------------------------------

def _init_overrides(folder: str | Path) -> dict:
    """The config overrides an exported folder was trained with (``pretrain.json``), else none."""
    info = Path(folder) / "pretrain.json"
    return dict(json.loads(info.read_text()).get("config_overrides") or {}) if info.exists() else {}


def inverse_sqrt(peak: float, warmup: int):
    """Learning rate at step s: linear warm-up to ``peak`` over ``warmup`` steps, then ``peak*sqrt(warmup/s)``."""
    def f(step: int) -> float:
        s = step + 1
        return peak * min(s / warmup, math.sqrt(warmup / s))
    return f


def augment_speaker_embedding(own: np.ndarray, voices: np.ndarray, rng: np.random.Generator,
                               min_cos: float = 0.45, mix: float = 0.35) -> np.ndarray:
    """A speaker embedding near ``own`` (one of the corpus voices, ``voices`` all of them, ``(n, d)``) that
    still names that voice: the target audio stays that voice's.

    Why: with four voices the decoder only ever sees four directions of the embedding space. A real person's
    GE2E embedding lies mostly *outside* their span (FSDD's six real speakers: 0.56-0.72 of it inside,
    cosine 0.55-0.68 to the nearest flite voice), so zero-shot the decoder meets directions its speaker
    projection was never trained on, and reads worse (issue 16). Two steps teach it what to do there:

    1. a pull of at most ``mix`` towards another random corpus voice (the person is a blend of voices; the
       nearest stays ``own``: ``(1-b) own + b other`` has the larger dot product with ``own`` for b < 0.5);
    2. a random direction orthogonal to every corpus voice, mixed in until the cosine to step 1's vector is
       drawn uniformly in ``[min_cos, 1]`` — the part of a person's embedding no voice explains.
    """
    own = np.asarray(own, dtype=np.float64)
    v = np.asarray(voices, dtype=np.float64)
    core = own
    if mix > 0 and len(v) > 1:
        others = [w for w in v if float(np.dot(w, own)) < 0.9999]
        if others:
            w = others[int(rng.integers(len(others)))]
            core = own + rng.uniform(0.0, mix) * (w - own)
    core = core / np.linalg.norm(core)
    basis, _ = np.linalg.qr(v.T)  # (d, n): the voices' span
    g = rng.standard_normal(len(own))
    u = g - basis @ (basis.T @ g)
    u /= np.linalg.norm(u)
    c = rng.uniform(min_cos, 1.0)
    out = c * core + math.sqrt(max(0.0, 1.0 - c * c)) * u
    return (out / np.linalg.norm(out)).astype(np.float32)


def pretrain(corpus: str | Path, out_dir: str | Path, minutes: float = 8.5, max_steps: int = 100_000,
             batch_size: int = 64, lr: float = 1e-3, warmup: int = 1000, resume: bool = True,
             init: str | Path | None = None, eval_every: int = 500, save_every: int = 1000,
             device: str | None = None, seed: int = 0, max_items: int | None = None,
             log_every: int = 100, overrides: dict | None = None,
             speaker_aug: dict | None = None) -> dict:
    """Pretrain (or continue) the base voice for at most ``minutes``; return the trainer state.

    ``out_dir/last`` is the full checkpoint (weights, optimiser, scheduler, RNG, step): with ``resume``,
    a re-run continues exactly there. ``init``: a model folder (e.g. an earlier :func:`export`) to start
    from when no full checkpoint is at hand (another machine): weights only, the step count carried on,
    a fresh optimiser re-warmed over 200 steps. The loop ends early enough to save before ``minutes``.
    ``speaker_aug``: ``{"p": share of examples, "min_cos": .., "mix": ..}`` — each chosen example's
    speaker embedding is replaced by :func:`augment_speaker_embedding`'s (drawn afresh per batch, seeded by
    the batch's position, so a resumed run draws the same).
    """
    import torch

    from .files import write_json
    from .training import LossMeter, Prefetcher, make_optimizer
    from .tts import (TTSDataCollator, length_grouped_batches, load_checkpoint, make_train_module,
                      save_checkpoint)

    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    train_ex = load_corpus(corpus, ("train",), max_items)
    val_ex = load_corpus(corpus, ("test",), None if max_items is None else max(4, max_items // 8))
    last = out_dir / "last"
    state = {"step": 0, "micro_batches_seen": 0, "history": [], "seconds": 0.0, "runs": [],
             "config_overrides": dict(overrides or {})}
    have_full = resume and (last / "trainer_state.json").exists()
    if have_full:  # the architecture is the checkpoint's, whatever this call says
        state["config_overrides"] = json.loads((last / "trainer_state.json").read_text()).get("config_overrides", {})
    elif init is not None:
        state["config_overrides"] = _init_overrides(init)
    model = build_model(seed, state["config_overrides"])
    rewarm_from = None
    if not have_full and init is not None:
        from safetensors.torch import load_file

        weights = load_file(str(Path(init) / "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
        info = Path(init) / "pretrain.json"
        if info.exists():
            saved = json.loads(info.read_text())
            state.update({k: saved[k] for k in ("step", "micro_batches_seen", "history", "seconds", "runs") if k in saved})
            state["micro_batches_seen"] = 0  # the batch order restarts: the corpus may differ
        rewarm_from = state["step"]
        print(f"Starting from the weights in {init} (step {state['step']}); fresh optimiser, re-warm-up.")
    model.config.use_cache = False
    model.to(dev)
    module = make_train_module(model, "full")
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, lr, dev, betas=(0.9, 0.98), weight_decay=0.01)
    base = inverse_sqrt(lr, warmup)

    # The scheduler counts from 0 when it is created; ``lr_offset`` is the global step it started at
    # (non-zero after --init), kept in the state so a later full resume computes the same rates.
    state.setdefault("lr_offset", rewarm_from or 0)

    def lr_at(s: int) -> float:
        f = base(s + state["lr_offset"])
        if state["lr_offset"] and s < 200:  # re-warm a fresh optimiser over 200 steps
            f *= (s + 1) / 200
        return f

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s) / lr)
    if have_full:
        state = load_checkpoint(last, module, optimizer, scheduler)
        state.setdefault("lr_offset", 0)
        state.setdefault("config_overrides", {})  # checkpoints written before overrides existed
        print(f"Resuming from {last} at step {state['step']}.")
    collate = TTSDataCollator(pad_token_id=1, speaker_embedding=None, reduction_factor=model.config.reduction_factor)
    lengths = [len(e["labels"]) for e in train_ex]
    use_bf16 = choose_precision(dev.type) == "bf16"

    voice_names, voice_emb = load_voices(corpus)
    aug = dict(speaker_aug or {})

    def moved(e: dict, rng: np.random.Generator) -> dict:
        """Example ``e`` with its speaker embedding moved off its voice's point (augment_speaker_embedding)."""
        return dict(e, speaker_embedding=augment_speaker_embedding(
            voice_emb[voice_names.index(e["voice"])], voice_emb, rng, aug.get("min_cos", 0.45), aug.get("mix", 0.35)))

    def augmented(exs: list[dict], epoch: int, k: int) -> list[dict]:
        if not aug:
            return exs
        rng = np.random.default_rng([seed, epoch, k])
        return [moved(e, rng) if rng.random() < aug.get("p", 0.8) else e for e in exs]

    def batches():
        seen = state["micro_batches_seen"]
        per_epoch = len(length_grouped_batches(lengths, batch_size, seed, 0))
        epoch, offset = divmod(seen, per_epoch)
        while True:
            for k, b in enumerate(length_grouped_batches(lengths, batch_size, seed, epoch)[offset:], start=offset):
                yield collate(augmented([train_ex[i] for i in b], epoch, k))
            epoch, offset = epoch + 1, 0

    def val_loss(augment: bool = False) -> float:
        """Loss on the held-out sentences; ``augment``: with every speaker embedding augmented (fixed draws):
        how well the model copes with embeddings off the voices' points."""
        module.eval()
        total, n = 0.0, 0
        with torch.no_grad(), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(1234)
            for i in range(0, len(val_ex), batch_size):
                chunk = val_ex[i:i + batch_size]
                if augment:
                    rng = np.random.default_rng([seed, 99, i])
                    chunk = [moved(e, rng) for e in chunk]
                b = {k: v.to(dev) for k, v in collate(chunk).items()}
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
                    total += float(module(b)) * len(chunk)
                n += len(chunk)
        module.train()
        return total / max(n, 1)

    def save() -> None:
        state["seconds"] = prior_seconds + time.perf_counter() - t_loop
        save_checkpoint(last, module, optimizer, scheduler, state)
        write_json(out_dir / "history.json", state["history"])

    budget = minutes * 60.0
    prior_seconds = state["seconds"]
    run = {"start_step": state["step"], "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "train_utterances": len(train_ex), "batch_size": batch_size, "bf16": use_bf16,
           **({"speaker_aug": aug} if aug else {})}
    # the same fast path as helpers.tts.train: batches padded and pinned ahead on a thread, fused AdamW,
    # the loss kept on the GPU until it is logged (no per-step wait for the GPU)
    if aug:  # where the run starts from, on embeddings off the voices' points
        run["start_val_loss"], run["start_val_loss_aug"] = val_loss(), val_loss(True)
        print(f"start: validation loss {run['start_val_loss']:.4f}, augmented embeddings "
              f"{run['start_val_loss_aug']:.4f}", flush=True)
    it = Prefetcher(batches(), dev)
    meter = LossMeter()
    t_loop = time.perf_counter()
    step_times: list[float] = []
    while state["step"] < max_steps:
        t0 = time.perf_counter()
        batch = next(it)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = module(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["micro_batches_seen"] += 1
        meter.add(loss)
        step_times.append(time.perf_counter() - t0)
        if state["step"] % log_every == 0:
            mean = meter.mean()
            state["history"].append({"step": state["step"], "train_loss": mean, "lr": scheduler.get_last_lr()[0]})
            print(f"step {state['step']}: train loss {mean:.4f}  lr {scheduler.get_last_lr()[0]:.2e}  "
                  f"{np.mean(step_times[-log_every:]):.3f} s/step", flush=True)
        if eval_every and state["step"] % eval_every == 0:
            v = val_loss()
            state["history"].append({"step": state["step"], "val_loss": v})
            if aug:
                state["history"][-1]["val_loss_aug"] = va = val_loss(True)
            print(f"step {state['step']}: validation loss {v:.4f}" + (f" (augmented embeddings {va:.4f})" if aug else ""),
                  flush=True)
        if state["step"] % save_every == 0:
            save()
        elapsed = time.perf_counter() - t_start
        avg = float(np.mean(step_times[-50:]))
        if elapsed + max(20.0, 60 * avg) > budget:  # leave time to evaluate, save and export
            break
    it.close()
    v = val_loss()
    state["history"].append({"step": state["step"], "val_loss": v})
    if aug:
        state["history"][-1]["val_loss_aug"] = run["final_val_loss_aug"] = val_loss(True)
    run.update(end_step=state["step"], seconds=round(time.perf_counter() - t_loop, 1), final_val_loss=v)
    state.setdefault("runs", []).append(run)
    save()
    print(json.dumps(run), flush=True)
    model.config.use_cache = True
    return state


# ----------------------------------------------------------------------------------------------------
# 4. Export
# ----------------------------------------------------------------------------------------------------

def export(out_dir: str | Path, dest: str | Path, corpus: str | Path | None = None, dtype: str = "float16") -> Path:
    """Write ``dest``: the latest weights as an fp16 safetensors model folder, ``pretrain.json`` (trainer
    state without optimiser), the processor and ``voices.npz`` (from ``corpus``, when given)."""
    import torch

    from .files import atomic_dir, write_json

    out_dir = Path(out_dir)
    last = out_dir / "last"
    if not (last / "trainable.pt").exists():
        raise FileNotFoundError(f"{last}: no checkpoint. Train first: python -m helpers.basevoice train --out {out_dir}")
    state = json.loads((last / "trainer_state.json").read_text())
    model = build_model(0, state.get("config_overrides"))
    weights = torch.load(last / "trainable.pt", map_location="cpu", weights_only=True)
    weights = {k[len("model."):]: v for k, v in weights.items() if k.startswith("model.")}
    model.load_state_dict(weights, strict=False)
    model.to(getattr(torch, dtype))
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        write_json(tmp / "pretrain.json", {k: state.get(k) for k in ("step", "micro_batches_seen", "history",
                                                                      "seconds", "runs", "config_overrides")})
        if corpus is not None:
            shutil.copy(Path(corpus) / "voices.npz", tmp / "voices.npz")
            if (Path(corpus) / "processor").exists():
                for f in (Path(corpus) / "processor").iterdir():
                    shutil.copy(f, tmp / f.name)
            if (Path(corpus) / "corpus.json").exists():
                shutil.copy(Path(corpus) / "corpus.json", tmp / "corpus.json")
    return Path(dest)


def load_base(folder: str | Path, device: str = "cpu", dtype: str = "float32"):
    """``(processor, model, voices, embeddings)`` from an exported base-voice folder."""
    import torch
    from transformers import SpeechT5ForTextToSpeech, SpeechT5Processor

    folder = Path(folder)
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"{folder}: no model.safetensors. Ship models/base_voice, or rebuild it: "
                                "see models/base_voice/README.md for the exact command.")
    processor = SpeechT5Processor.from_pretrained(folder)
    model = SpeechT5ForTextToSpeech.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device).eval()
    names, emb = load_voices(folder) if (folder / "voices.npz").exists() else ([], np.zeros((0, 256), np.float32))
    return processor, model, names, emb


# ----------------------------------------------------------------------------------------------------
# 5. Griffin-Lim: log-mels back to audio without a trained vocoder
# ----------------------------------------------------------------------------------------------------

def mel_filters() -> np.ndarray:
    """SpeechT5's mel filter bank ``(513, 80)`` (slaney, 80–7600 Hz), as its feature extractor builds it."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(num_frequency_bins=N_FFT // 2 + 1, num_mel_filters=80, min_frequency=80,
                           max_frequency=7600, sampling_rate=SAMPLE_RATE, norm="slaney", mel_scale="slaney")


def mel_to_magnitude(log_mel: np.ndarray) -> np.ndarray:
    """``(frames, 80)`` log10-mels -> ``(513, frames)`` linear STFT magnitudes (least squares, clipped >= 0)."""
    fb = mel_filters()  # mel = fb.T @ |X|
    mel = np.power(10.0, np.asarray(log_mel, dtype=np.float64)).T  # (80, frames)
    mag = np.linalg.pinv(fb.T) @ mel
    return np.maximum(mag, 0.0).astype(np.float32)


def griffin_lim(magnitude: np.ndarray, n_iter: int = 32, momentum: float = 0.99, seed: int = 0) -> np.ndarray:
    """Waveform whose STFT magnitude approximates ``magnitude`` ``(513, frames)`` (fast Griffin-Lim,
    Perraudin et al. 2013: the phase estimate is refined ``n_iter`` times with momentum)."""
    import torch

    mag = torch.as_tensor(magnitude, dtype=torch.float32)
    window = torch.hann_window(WIN)
    g = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=g))
    length = (mag.shape[1] - 1) * HOP
    prev = torch.zeros_like(angles)
    for _ in range(n_iter):
        wav = torch.istft(mag * angles, N_FFT, HOP, WIN, window=window, length=length)
        rebuilt = torch.stft(wav, N_FFT, HOP, WIN, window=window, return_complex=True)
        accel = rebuilt - (momentum / (1 + momentum)) * prev
        angles = accel / accel.abs().clamp_min(1e-8)
        prev = rebuilt
    wav = torch.istft(mag * angles, N_FFT, HOP, WIN, window=window, length=length)
    return wav.numpy().astype(np.float32)


def mel_to_audio(log_mel: np.ndarray, n_iter: int = 32, power: float = 1.2, peak: float = 0.9) -> np.ndarray:
    """SpeechT5 log-mels -> 16 kHz waveform via Griffin-Lim (``power`` > 1 sharpens harmonics a little)."""
    mag = mel_to_magnitude(log_mel) ** power
    wav = griffin_lim(mag, n_iter=n_iter)
    m = float(np.max(np.abs(wav))) if wav.size else 0.0
    return wav * (peak / m) if m > 0 else wav


class GriffinLimVocoder:
    """Drop-in for ``helpers.tts.vocode``'s vocoder argument: ``vocoder(mel_tensor) -> waveform tensor``."""

    def __init__(self, n_iter: int = 32) -> None:
        import torch

        self.n_iter = n_iter
        self._p = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

    def parameters(self):
        yield self._p

    def __call__(self, mel):
        import torch

        return torch.from_numpy(mel_to_audio(mel.float().cpu().numpy(), n_iter=self.n_iter))


# ----------------------------------------------------------------------------------------------------
# 6. The sample learner's 10 minutes
# ----------------------------------------------------------------------------------------------------

TOPUP_SUBDIR = "learner_topup"


def sample_learner_topup(work: str | Path, minutes: float = 10.0, have_minutes: float = 0.0, n_test: int = 12,
                         seed: int = 2026, progress: bool = True, n_val: int = 0) -> list[dict]:
    """More takes by the *sample* learner, so that 03's quick profile trains on ``minutes`` of audio.

    The bundled learner (``sample_data/raw``) is the Piper ``joe`` voice with 3 usable minutes; the series asks
    a real learner for ~10. This reads further sentences (``helpers.sentences``, seed ``seed``: not the
    prompts, so the held-out test takes stay unseen) in the same Piper voice, at 16 kHz mono, loudness-normalised
    like notebook 01's output, until ``have_minutes`` + the new training takes reach ``minutes``; then ``n_test``
    more sentences as held-out ``test`` takes (more sentences to evaluate on than the sample's four), then ``n_val``
    more as ``validation`` takes (03 chooses "your voice" on those; the sample has only 3). The training and test
    takes do not depend on ``n_val``. Written once,
    atomically, to ``<work>/learner_topup/`` (``manifest.jsonl`` + ``wavs/``); a re-run reads it back. Rows are in
    the manifest format of :func:`helpers.prep.load_manifest`.
    """
    from . import audio as A
    from .files import atomic_dir, write_wav
    from .models import packaged
    from .sentences import make_sentences

    folder = Path(work) / TOPUP_SUBDIR
    manifest = folder / "manifest.jsonl"
    need_s = max(0.0, (minutes - have_minutes) * 60.0)
    if manifest.exists():
        rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        have = sum(r["duration_s"] for r in rows if r["split"] == "train")
        if (have >= need_s - 5.0 and sum(r["split"] == "test" for r in rows) >= n_test
                and sum(r["split"] == "validation" for r in rows) >= n_val):
            for r in rows:
                r["audio_path"] = str(folder / r["file"])
            return rows
    if need_s <= 0 and n_test <= 0 and n_val <= 0:
        return []
    import onnxruntime as ort
    from piper import PiperVoice, SynthesisConfig
    from tqdm.auto import tqdm

    onnx = packaged("piper-joe")
    ort.set_seed(seed)  # onnxruntime seeds the voice's noise ops when the session is created: once, here
    voice = PiperVoice.load(str(onnx), str(onnx) + ".json")
    syn_cfg = SynthesisConfig(normalize_audio=False, length_scale=1.1)  # as sample_data: careful reading pace
    rows, total = [], 0.0
    with atomic_dir(folder) as tmp:
        (tmp / "wavs").mkdir()
        bar = tqdm(total=round(need_s), desc="sample learner: extra takes (s of audio)", unit="s", disable=not progress)
        n_held = n_valid = 0
        for k, text in enumerate(make_sentences(600, seed)):
            split = "train" if total < need_s else "test" if n_held < n_test else "validation"
            if split == "validation" and n_valid >= n_val:
                break
            n_held += split == "test"
            n_valid += split == "validation"
            wav = np.concatenate([c.audio_float_array for c in voice.synthesize(text, syn_cfg)]).astype(np.float32)
            wav = A.resample(wav, voice.config.sample_rate, SAMPLE_RATE)
            wav, _ = A.normalize_loudness(wav, SAMPLE_RATE)
            rid = f"topup_{k:03d}"
            write_wav(tmp / "wavs" / f"{rid}.wav", wav, SAMPLE_RATE)
            dur = len(wav) / SAMPLE_RATE
            rows.append({"id": rid, "text": text, "file": f"wavs/{rid}.wav", "duration_s": round(dur, 3),
                         "split": split, "source": "piper joe (sample learner top-up)"})
            if split == "train":
                total += dur
                bar.update(dur)
        bar.close()
        (tmp / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for r in rows:
        r["audio_path"] = str(folder / r["file"])
    return rows


# ----------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m helpers.basevoice", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="pretrain / continue the base voice for at most --minutes")
    t.add_argument("--corpus", type=Path, default=Path(".corpus"))
    t.add_argument("--out", type=Path, default=Path("work/base_voice"))
    t.add_argument("--minutes", type=float, default=8.5)
    t.add_argument("--max-steps", type=int, default=100_000)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=1000)
    t.add_argument("--resume", action="store_true", help="continue from OUT/last if it exists")
    t.add_argument("--init", type=Path, default=None, help="start from an exported model folder (weights only)")
    t.add_argument("--export", type=Path, default=None, help="after training, export fp16 weights here")
    t.add_argument("--eval-every", type=int, default=500)
    t.add_argument("--log-every", type=int, default=100)
    t.add_argument("--speaker-aug", type=float, default=0.0, metavar="P",
                   help="augment the speaker embedding of this share of examples (augment_speaker_embedding)")
    t.add_argument("--aug-min-cos", type=float, default=0.45)
    t.add_argument("--aug-mix", type=float, default=0.35)
    t.add_argument("--max-items", type=int, default=None, help="use only this many utterances (smoke runs)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="SpeechT5Config change for a new model, e.g. --set reduction_factor=3 (JSON values)")
    e = sub.add_parser("export", help="fp16 safetensors model folder from OUT/last")
    e.add_argument("--out", type=Path, default=Path("work/base_voice"))
    e.add_argument("--dest", type=Path, required=True)
    e.add_argument("--corpus", type=Path, default=Path(".corpus"))
    s = sub.add_parser("subset", help="a copy of a corpus with only some voices")
    s.add_argument("--corpus", type=Path, default=Path(".corpus"))
    s.add_argument("--dest", type=Path, required=True)
    s.add_argument("voices", nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "subset":
        info = subset_corpus(args.corpus, args.dest, args.voices)
        print(json.dumps({k: info.get(k) for k in ("voices", "train_hours", "utterances")}))
        return 0
    if args.cmd == "train":
        pretrain(args.corpus, args.out, minutes=args.minutes, max_steps=args.max_steps, batch_size=args.batch_size,
                 lr=args.lr, warmup=args.warmup, resume=args.resume, init=args.init, eval_every=args.eval_every,
                 max_items=args.max_items, log_every=args.log_every,
                 overrides={k: json.loads(v) for k, v in (o.split("=", 1) for o in args.overrides)},
                 speaker_aug=({"p": args.speaker_aug, "min_cos": args.aug_min_cos, "mix": args.aug_mix}
                              if args.speaker_aug > 0 else None))
        if args.export:
            export(args.out, args.export, args.corpus)
            print(f"Exported to {args.export}")
    else:
        export(args.out, args.dest, args.corpus)
        print(f"Exported to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
