#!/usr/bin/env python3
"""How well does the offline base voice (issue 8) speak? CPU evaluation on held-out sentences.

For ``--per-voice`` held-out sentences of every pretraining voice (split ``test`` of the corpus: these
sentences were never spoken in training, by any voice):

* **vocoder ceiling** — the voice's *real* log-mels through Griffin-Lim, transcribed by Whisper tiny.en
  (faster-whisper, offline): the best WER this vocoder allows;
* **teacher-forced** — the model's mels when it is fed the real previous frames (how well it models
  speech, without its own errors piling up);
* **free-running** — ``generate_mel`` as a learner would use it: the intelligibility figure (goal <= 30%);
* **alignment** — how diagonal the last decoder layer's cross-attention is (1 = text read in order);
* **zero-shot joe** — the held-out Piper ``joe`` voice (never in the corpus): its GE2E embedding from
  ``sample_data/voices`` drives the model; share of sentences whose GE2E embedding is closer (cosine) to
  joe's real takes than to every pretraining voice. (Caveat: GE2E is also the conditioning encoder; the
  issue prefers an independent encoder, but the only other offline one, the x-vector, is a stand-in.)

    .venv/bin/python benchmarks/bench_basevoice.py                       # ~2-4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_basevoice.py --per-voice 1 --joe 4 # a quick look

Writes ``bench_basevoice.json`` beside this script (the last measurement), and records the key figures
under ``base_voice`` with ``helpers.results.record`` (so ``make run`` puts them in ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT_JSON = Path(__file__).with_suffix(".json")


def diagonality(att: np.ndarray) -> float:
    """Correlation of the attended text position (argmax) with decoder time: 1 = a clean diagonal."""
    pos = att.argmax(axis=1).astype(np.float64)
    if pos.std() == 0:
        return 0.0
    return float(np.corrcoef(pos, np.arange(len(pos)))[0, 1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shipped = ROOT / "models" / "base_voice"
    ap.add_argument("--model", type=Path, default=shipped if (shipped / "model.safetensors").exists()
                    else ROOT / "work" / "base_voice" / "export",
                    help="exported base-voice folder (default: models/base_voice if it holds weights, "
                         "else work/base_voice/export)")
    ap.add_argument("--corpus", type=Path, default=ROOT / ".corpus")
    ap.add_argument("--per-voice", type=int, default=3)
    ap.add_argument("--joe", type=int, default=12, help="held-out sentences read zero-shot in the joe voice")
    ap.add_argument("--prompts", type=int, default=20,
                    help="sample_data/prompts.csv sentences read zero-shot in the joe voice (new words, numbers)")
    ap.add_argument("--n-iter", type=int, default=32, help="Griffin-Lim iterations")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from helpers import basevoice as bv
    from helpers import metrics
    from helpers.asr import get_backend
    from helpers.embeddings import get_encoder, load_reference_voices, read_audio, speaker_embedding
    from helpers.tts import TTSDataCollator, generate_mel

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    t0 = time.perf_counter()
    processor, model, names, emb = bv.load_base(args.model)
    test = bv.load_corpus(args.corpus, ("test",))
    by_voice: dict[str, list[dict]] = {}
    for e in test:
        by_voice.setdefault(e["voice"], []).append(e)
    pick = [e for v in names for e in by_voice.get(v, [])[: args.per_voice]]
    refs = [e["text"] for e in pick]
    collate = TTSDataCollator(1, None, model.config.reduction_factor)

    real_wavs, tf_wavs, free_wavs, diag, stopped = [], [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in pick:
            real_wavs.append(bv.mel_to_audio(e["labels"], n_iter=args.n_iter))
            b = collate([e])
            with torch.no_grad():
                out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"],
                            speaker_embeddings=b["speaker_embeddings"], output_cross_attentions=True,
                            return_dict=True)
            tf_wavs.append(bv.mel_to_audio(out.spectrogram[0].float().numpy(), n_iter=args.n_iter))
            diag.append(diagonality(out.cross_attentions[-1][0].mean(0).float().numpy()))
            mel, info = generate_mel(model, e["input_ids"], e["speaker_embedding"], warn=False)
            stopped.append(info["stopped"])
            free_wavs.append(bv.mel_to_audio(mel, n_iter=args.n_iter))
    t_synth = time.perf_counter() - t0

    asr = get_backend("whisper-tiny.en")
    hyp_real, hyp_tf, hyp_free = asr.transcribe(real_wavs), asr.transcribe(tf_wavs), asr.transcribe(free_wavs)
    per_voice = {}
    for v in names:
        idx = [i for i, e in enumerate(pick) if e["voice"] == v]
        if idx:
            per_voice[v] = {"wer_free": round(metrics.wer([refs[i] for i in idx], [hyp_free[i] for i in idx]), 3),
                            "wer_ceiling": round(metrics.wer([refs[i] for i in idx], [hyp_real[i] for i in idx]), 3)}

    # zero-shot joe: the held-out voice's embedding from its real takes
    encoder = get_encoder("ge2e")
    joe_rows = [r for r in load_reference_voices() if r["voice"] == "piper_joe"]
    if not joe_rows:
        raise FileNotFoundError("sample_data/voices has no piper_joe takes: run `make sample-data`.")
    joe_real = encoder.embed([read_audio(r["audio_path"]) for r in joe_rows], progress=False)
    joe = speaker_embedding(joe_real)
    joe_sent = [e for e in test][: args.joe]
    joe_wavs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in joe_sent:
            mel, _ = generate_mel(model, e["input_ids"], joe, warn=False)
            joe_wavs.append(bv.mel_to_audio(mel, n_iter=args.n_iter))
    syn = encoder.embed(joe_wavs, progress=False)
    sim_joe = syn @ joe
    sim_others = syn @ emb.T  # (n, voices)
    share = float(np.mean(sim_joe > sim_others.max(axis=1)))
    hyp_joe = asr.transcribe(joe_wavs)

    # the series' own prompts (names, numbers, words no template uses), zero-shot in the joe voice
    from helpers.prep import read_prompts
    from helpers.text import normalize_for_tts, tokenizer_vocab
    vocab = tokenizer_vocab(processor)
    prompts = [normalize_for_tts(t, vocab)[0] for t in read_prompts(ROOT / "sample_data" / "prompts.csv").values() if t]
    prompts = prompts[: args.prompts]
    prompt_wavs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text in prompts:
            mel, _ = generate_mel(model, processor(text=text)["input_ids"], joe, warn=False)
            prompt_wavs.append(bv.mel_to_audio(mel, n_iter=args.n_iter))
    hyp_prompts = asr.transcribe(prompt_wavs)

    result = {
        "model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model),
        "pretrain_steps": json.loads((args.model / "pretrain.json").read_text()).get("step")
        if (args.model / "pretrain.json").exists() else None,
        "held_out_sentences": len(pick), "voices": len(per_voice),
        "wer_vocoder_ceiling_real_mels": round(metrics.wer(refs, hyp_real), 3),
        "wer_teacher_forced": round(metrics.wer(refs, hyp_tf), 3),
        "wer_free_running": round(metrics.wer(refs, hyp_free), 3),
        "wer_goal": 0.30,
        "stopped_share": round(float(np.mean(stopped)), 3),
        "attention_diagonality_mean": round(float(np.mean(diag)), 3),
        "per_voice": per_voice,
        "zero_shot_joe": {"sentences": len(joe_sent), "share_closer_to_joe": round(share, 3),
                          "mean_cos_to_joe": round(float(sim_joe.mean()), 3),
                          "mean_cos_to_nearest_pretraining_voice": round(float(sim_others.max(axis=1).mean()), 3),
                          "wer": round(metrics.wer([e["text"] for e in joe_sent], hyp_joe), 3)},
        "zero_shot_joe_prompts": {"sentences": len(prompts), "source": "sample_data/prompts.csv",
                                  "wer": round(metrics.wer(prompts, hyp_prompts), 3) if prompts else None},
        "examples": [{"voice": e["voice"], "ref": r, "free": h} for e, r, h in list(zip(pick, refs, hyp_free))[:6]],
        "griffin_lim_iters": args.n_iter, "seconds": round(time.perf_counter() - t0, 1),
        "seconds_synthesis": round(t_synth, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
    }
    from helpers.files import write_json

    write_json(OUT_JSON, result)
    from helpers.results import record  # the figures, gathered into results.json by `make run`

    record("base_voice", {k: result[k] for k in ("pretrain_steps", "wer_vocoder_ceiling_real_mels",
                                                  "wer_teacher_forced", "wer_free_running", "zero_shot_joe",
                                                  "zero_shot_joe_prompts")})
    print(json.dumps({k: v for k, v in result.items() if k not in ("examples", "per_voice")}, indent=1))
    print(f"per voice: {json.dumps(per_voice)}")
    print(f"Wrote {OUT_JSON}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
