#!/usr/bin/env python3
"""A larger flite-only base-voice corpus, generated where the training runs (the GPU machine).

Why
---
``make_base_corpus.py`` builds the corpus on a learner's CPU (2 cores: ~4 minutes for 1.7 h) and needs
soundfile, soxr and resemblyzer. Pretraining on 1 hour of Whisper-readable voices over-fits: validation
loss stops falling after ~16k steps while the training loss keeps dropping. More *sentences* are the fix,
and shipping a 10-hour corpus to the GPU machine is not possible (64 MiB travel limit) — but the flite
program is 13 MB and synthesises ~100x real time per core. So the corpus is grown there, in two steps:

1. ``prepare`` (here, CPU, seconds): generate and normalise ``--sentences`` training sentences with
   ``make_base_corpus``'s own templates and seed, **excluding every held-out sentence** of the existing
   corpus, and write them with the voice list, the voices' GE2E embeddings (from the existing corpus)
   and the processor into one small folder.
2. ``synth`` (the GPU machine, 16 cores): flite speaks each sentence in one voice (round robin), the
   audio is cleaned exactly as in ``make_base_corpus.clean``, log-mels and ids come from the same
   SpeechT5 processor, and shards in the same format are written. The held-out sentences of these voices
   are synthesised too (split ``test``: validation loss there; WER is measured here on the original corpus,
   whose held-out sentences are the same). Needs only numpy, transformers, sentencepiece and the flite
   binary (``dpkg -x flite*.deb libflite1*.deb`` into a folder, ``--flite-root`` it).

    .venv/bin/python scripts/grow_base_corpus.py prepare --corpus .corpus --out .grow --sentences 9000
    python3 scripts/grow_base_corpus.py synth --spec .grow --out .corpus_big --flite-root /tmp/flite --workers 16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

FLITE_VOICES = ("flite_slt", "flite_rms", "flite_awb", "flite_kal16")


def wordnet_sentences(wordnet: Path, exclude: set[str] = frozenset(), min_chars: int = 35,
                      max_chars: int = 170) -> list[str]:
    """Natural English from WordNet 3.0's glosses (Debian ``wordnet-base``): every quoted usage example
    ("I can breathe better when the air is clean") and every definition ("a member of the genus Canis that
    has been domesticated by man"), as sentences, in the files' order, without duplicates or ``exclude``.

    Why: the templates (stages 1-3) taught the base voice words, not the run of real sentences (function
    words, clauses, long and rare words in context); a real person's sentences (LJSpeech's) read worst.
    WordNet's licence allows any use with Princeton's notice (helpers/wordlists.json carries it)."""
    import re

    out, seen = [], set(exclude)
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (wordnet / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith(" ") or " | " not in line:
                continue
            gloss = line.split(" | ", 1)[1].strip()
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = gloss.split(";")[0].strip().strip('"')
            for text in [definition] * (not definition.startswith(("(", "-"))) + examples:
                text = re.sub(r"\s+", " ", text).strip(" ;:,")
                if not (min_chars <= len(text) <= max_chars) or not re.fullmatch(r"[A-Za-z0-9 ,.;:'!?\-]+", text):
                    continue
                text = text[0].upper() + text[1:]
                if text[-1] not in ".!?":
                    text += "."
                if text not in seen:
                    seen.add(text)
                    out.append(text)
    return out


def prepare(corpus: Path, out: Path, n: int, seed: int = 8, voices: tuple[str, ...] = FLITE_VOICES,
            wide: bool = False, wordnet: Path | None = None, wide_share: float = 0.25) -> None:
    from transformers import SpeechT5Processor

    import make_base_corpus as mbc
    from helpers.basevoice import load_corpus, load_voices
    from helpers.files import atomic_dir, write_json
    from helpers.text import normalize_for_tts, tokenizer_vocab

    names, emb = load_voices(corpus)
    held = load_corpus(corpus, ("test",))
    held_texts = {e["text"] for e in held}
    processor = SpeechT5Processor.from_pretrained(corpus / "processor")
    vocab = tokenizer_vocab(processor)
    if wordnet:  # WordNet's glosses (natural sentences) shuffled with stage 3's template sentences (the pool, not
        # the result, is split by wide_share: n = 6,400 at 0.25 gave 67 % glosses; spec.json records the share)
        import random

        from helpers.sentences import make_wide_sentences
        gloss = wordnet_sentences(wordnet, exclude=held_texts)
        random.Random(seed + 3000).shuffle(gloss)
        n_wide = int(round(n * wide_share))
        pool = gloss[: n - n_wide + 1500] + make_wide_sentences(n_wide + 1500, seed + 4000)
        random.Random(seed + 3001).shuffle(pool)
        glosses = set(gloss)
    elif wide:  # WordNet's words in the templates' slots (helpers.sentences.make_wide_sentences)
        from helpers.sentences import make_wide_sentences
        pool = make_wide_sentences(n + 3000, seed + 2000)
    else:
        pool = mbc.make_sentences(n + 3000, seed + 1000)  # another stream than the corpus's own seed
    texts: list[str] = []
    n_gloss = 0
    for s in pool:
        used, _ = normalize_for_tts(s, vocab)
        if used not in held_texts and s not in held_texts:
            texts.append(used)
            n_gloss += wordnet is not None and s in glosses
        if len(texts) >= n:
            break
    gloss_share = n_gloss / max(1, len(texts)) if wordnet else None
    if wordnet:
        print(f"{len(gloss)} WordNet gloss sentences available; {n_gloss} of the {len(texts)} chosen are glosses "
              f"({gloss_share:.0%}), the rest template sentences")
    test = [{"text": e["text"], "voice": e["voice"]} for e in held if e["voice"] in voices]
    with atomic_dir(out) as tmp:
        write_json(tmp / "spec.json", {"voices": list(voices), "train": texts, "test": test, "seed": seed,
                                       "wide": wide, "wordnet_glosses": bool(wordnet), "wide_share": wide_share,
                                       "gloss_share": gloss_share,
                                       "engines": {v: mbc.VOICES[v] for v in voices}})
        np.savez(tmp / "voices.npz", names=np.array(list(voices)),
                 ge2e=np.stack([emb[names.index(v)] for v in voices]).astype(np.float32))
        shutil.copytree(corpus / "processor", tmp / "processor")
    print(f"{out}: {len(texts)} training sentences, {len(test)} held-out, voices {list(voices)}")


_PROC = None


def _work(job: tuple[int, str, str, str, str]) -> dict | None:
    """Synthesise one sentence in one flite voice -> {uid, voice, split, text, ids, mel}."""
    import make_base_corpus as mbc

    global _PROC
    k, voice, text, split, proc_dir = job
    if _PROC is None:
        from transformers import SpeechT5Processor

        _PROC = SpeechT5Processor.from_pretrained(proc_dir)
    with tempfile.TemporaryDirectory() as tmpd:
        wav = Path(tmpd) / "u.wav"
        res = subprocess.run(["flite", "-voice", mbc.VOICES[voice][1], "-t", text, "-o", str(wav)],
                             capture_output=True, text=True)
        if res.returncode != 0 or not wav.exists():
            raise RuntimeError(f"flite failed for {voice}: {res.stderr[:300]}")
        with wave.open(str(wav)) as w:
            sr, ch = w.getframerate(), w.getnchannels()
            audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    if ch > 1:
        audio = audio.reshape(-1, ch).mean(axis=1)
    if sr != mbc.SAMPLE_RATE:
        raise RuntimeError(f"flite voice {voice} wrote {sr} Hz, expected 16 kHz")
    audio = mbc.clean(audio, np.random.default_rng(k))
    enc = _PROC(text=text, audio_target=audio, sampling_rate=mbc.SAMPLE_RATE)
    ids = list(enc["input_ids"])
    if len(ids) >= 200 or len(audio) > 15 * mbc.SAMPLE_RATE:
        return None
    return {"uid": f"{voice}_g{k:05d}", "voice": voice, "split": split, "text": text, "ids": ids,
            "mel": np.asarray(enc["labels"][0], dtype=np.float32), "seconds": len(audio) / mbc.SAMPLE_RATE}


def synth(spec_dir: Path, out: Path, workers: int, shard_utts: int = 1500) -> None:
    import random
    from multiprocessing import Pool

    import make_base_corpus as mbc
    from helpers.files import atomic_dir, write_json

    t0 = time.perf_counter()
    spec = json.loads((spec_dir / "spec.json").read_text())
    voices = spec["voices"]
    proc_dir = str(spec_dir / "processor")
    jobs = [(k, voices[k % len(voices)], t, "train", proc_dir) for k, t in enumerate(spec["train"])]
    jobs += [(len(jobs) + k, e["voice"], e["text"], "test", proc_dir) for k, e in enumerate(spec["test"])]
    with Pool(workers) as pool:
        items = [r for r in pool.imap_unordered(_work, jobs, chunksize=8) if r is not None]
    items.sort(key=lambda r: r["uid"])
    random.Random(spec["seed"]).shuffle(items)
    for it in items:
        it["voice_idx"] = voices.index(it["voice"])
    seconds = {v: round(sum(it["seconds"] for it in items if it["voice"] == v and it["split"] == "train"), 1)
               for v in voices}
    with atomic_dir(out) as tmp:
        sizes = [mbc.write_shard(tmp / f"shard_{i // shard_utts:03d}.npz", items[i:i + shard_utts])
                 for i in range(0, len(items), shard_utts)]
        shutil.copy(spec_dir / "voices.npz", tmp / "voices.npz")
        shutil.copytree(spec_dir / "processor", tmp / "processor")
        write_json(tmp / "corpus.json", {
            "voices": voices, "held_out_voices": list(mbc.HELD_OUT_VOICES),
            "engines": {v: " ".join([mbc.VOICES[v][0], mbc.VOICES[v][1], *mbc.VOICES[v][2]]) for v in voices},
            "train_hours": round(sum(seconds.values()) / 3600, 3), "seconds_per_voice": seconds,
            "utterances": {s: sum(it["split"] == s for it in items) for s in ("train", "test")},
            "shards": len(sizes), "megabytes": round(sum(sizes) / 1e6, 2),
            "text_source": (f"{spec['gloss_share']:.0%} WordNet 3.0 glosses (definitions and usage examples; "
                            f"grow_base_corpus.wordnet_sentences, seed {spec['seed'] + 3000}), the rest template "
                            f"sentences (make_wide_sentences, seed {spec['seed'] + 4000})" if spec.get("wordnet_glosses") else
                            f"helpers.sentences.make_wide_sentences (seed {spec['seed'] + 2000}): the project's templates "
                            "with WordNet 3.0 words (helpers/wordlists.json)" if spec.get("wide") else
                            f"generated by scripts/make_base_corpus.py's templates (seed {spec['seed'] + 1000})")
                           + "; held-out sentences of the original corpus excluded",
            "features": "SpeechT5 feature extractor (stand-in processor): 80 log10-mel bins, 16 ms hop, uint8 per shard",
            "speaker_embedding": "GE2E (resemblyzer) 256-d, from the original corpus (voices.npz)",
            "grown_by": "scripts/grow_base_corpus.py synth", "seconds_to_build": round(time.perf_counter() - t0, 1),
        })
    print(json.dumps(json.loads((out / "corpus.json").read_text()), indent=None)[:600])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--corpus", type=Path, default=ROOT / ".corpus")
    p.add_argument("--out", type=Path, default=ROOT / ".grow")
    p.add_argument("--sentences", type=int, default=9000)
    p.add_argument("--wide", action="store_true",
                   help="WordNet's ~11,000 words in the templates (make_wide_sentences), not the ~500 hand-picked ones")
    p.add_argument("--wordnet", type=Path, default=None,
                   help="WordNet's dict folder (/usr/share/wordnet from wordnet-base): natural sentences from its "
                        "glosses, with --wide-share template sentences")
    p.add_argument("--wide-share", type=float, default=0.25,
                   help="with --wordnet: n*(1-share)+1500 glosses and n*share+1500 template sentences are shuffled "
                        "and the first n kept (n = 6400, share 0.25: about 67%% glosses)")
    p.add_argument("--seed", type=int, default=8, help="another seed, other sentences (8: the corpora so far)")
    s = sub.add_parser("synth")
    s.add_argument("--spec", type=Path, default=ROOT / ".grow")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--flite-root", type=Path, default=None,
                   help="folder the flite .debs were unpacked into (dpkg -x); default: flite on PATH")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.corpus, args.out, args.sentences, seed=args.seed, wide=args.wide, wordnet=args.wordnet,
                wide_share=args.wide_share)
    else:
        if args.flite_root:
            r = args.flite_root.resolve()
            os.environ["PATH"] = f"{r}/usr/bin:" + os.environ.get("PATH", "")
            os.environ["LD_LIBRARY_PATH"] = f"{r}/usr/lib/x86_64-linux-gnu:" + os.environ.get("LD_LIBRARY_PATH", "")
        synth(args.spec, args.out, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
