#!/usr/bin/env python3
"""Is 10 minutes enough? Notebook 03's quick fine-tune on a real reader with 2, 5 and 10 minutes of takes.

    python benchmarks/bench_minutes.py --dataset /tmp/voice_work/dataset     # prepared by bench_voice.py / notebook 01

For each amount of training audio (the first takes, in a fixed order by the sha1 of their id, until the minutes are
reached) it does what notebook 03 does in ``quick``: the GE2E speaker embedding of *those* takes, 150 steps of the
``full`` strategy (micro-batch 8, lr 2e-4, best checkpoint), the choice of α by the rule of
``helpers.tts_eval.choose_alpha`` on the validation takes, and the evaluation on the held-out test sentences
(the same for every amount: the test split of the dataset, at least ``--min-test`` of them, as 03 does):
WER (Whisper tiny.en), GE2E similarity to the real test takes, the share closer to the reader than to every
pretraining voice (with its Wilson interval) and DNSMOS, for the base model zero-shot and for "your voice".

Each amount is saved to the JSON beside this file as soon as it is done, so a re-run resumes; ``--plot`` draws
``bench_minutes.png`` (the figure notebook 03 shows, redrawn there from the JSON).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT_JSON = Path(__file__).with_suffix(".json")
OUT_PNG = Path(__file__).with_suffix(".png")


def subset(rows: list[dict], minutes: float) -> list[dict]:
    """The first takes in sha1-of-id order until their duration reaches ``minutes``."""
    out, total = [], 0.0
    for r in sorted(rows, key=lambda r: hashlib.sha1(str(r["id"]).encode()).hexdigest()):
        if total >= minutes * 60:
            break
        out.append(r)
        total += r["duration_s"]
    return out


def measure(dataset: Path, minutes_list: list[float], work: Path, steps: int = 150, n_select: int = 8,
            min_test: int = 16, n_test: int = 20, n_dnsmos: int = 6, seed: int = 0, out: Path = OUT_JSON) -> dict:
    import torch

    from helpers import asr, basevoice, embeddings, models, prep, tts, tts_eval
    from helpers.files import write_json

    torch.manual_seed(seed)
    rows = prep.load_manifest(dataset)
    by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    moved = tts_eval.ensure_min_test(by_split, min_test)
    test_rows = by_split["test"][:n_test]
    sel_rows = by_split["validation"][:n_select]
    res = json.loads(out.read_text()) if out.exists() else {}
    if res.get("dataset") != str(dataset) or res.get("steps") != steps:
        res = {"dataset": str(dataset), "steps": steps, "points": {}}
    res.update({"what": "quick fine-tune (full strategy, best checkpoint) on the first N minutes of a real reader's "
                        "training takes; alpha chosen on validation by tts_eval.choose_alpha; scored on held-out test",
                "test_ids": [r["id"] for r in test_rows], "validation_ids": [r["id"] for r in sel_rows],
                "moved_to_test": moved, "train_minutes_available": round(sum(r["duration_s"] for r in by_split["train"]) / 60, 2)})

    processor, base_model, vocoder = models.load_speecht5(str(models.base_voice()), models.GRIFFIN_LIM, device="cpu")
    _, pretrain_emb = basevoice.load_voices(models.base_voice())
    judge = embeddings.get_encoder("ge2e")
    backend = asr.get_backend("whisper-tiny.en")
    real = {r["id"]: tts.read_audio(r["audio_path"]) for r in test_rows}
    real_ref = [tts.read_audio(r["audio_path"]) for r in by_split["test"]]
    sel_real = {r["id"]: tts.read_audio(r["audio_path"]) for r in sel_rows}
    sel_ref = [tts.read_audio(r["audio_path"]) for r in by_split["validation"]]
    val_ex, _ = tts.prepare_examples(processor, by_split["validation"])
    synth_root = work / "synth"

    def score(model, emb, rows_, name, real_, ref_, dnsmos: bool):
        items = tts_eval.synthesise_set(model, processor, vocoder, emb, rows_, name, synth_root, max_seconds=10.0,
                                        progress=False)
        row = tts_eval.score_system(items, real_, judge, backend, ref_, other_voices=pretrain_emb)
        if dnsmos:
            row.update(tts_eval.dnsmos_column(items, n_dnsmos))
        k = round(row["closer_to_you"] * row["n"])
        row["closer_95ci"] = list(tts_eval.wilson_interval(k, row["n"]))
        row["wer_95ci"] = list(tts_eval.bootstrap_wer([r["text"] for r in rows_], row["hyps"], seed=seed))
        return row

    for m in minutes_list:
        key = f"{m:g}"
        if key in res["points"]:
            print(f"{key} min: done before, kept")
            continue
        t0 = time.perf_counter()
        train_rows = subset(by_split["train"], m)
        enc_vectors = judge.embed([tts.read_audio(r["audio_path"]) for r in train_rows], progress=False)
        spk = embeddings.speaker_embedding(enc_vectors)
        train_ex, _ = tts.prepare_examples(processor, train_rows)
        model = copy.deepcopy(base_model)
        cfg = tts.TrainConfig(strategy="full", learning_rate=2e-4, warmup_steps=10, max_steps=steps, micro_batch_size=8,
                              grad_accum=1, eval_every=25, save_every=25, log_every=25, seed=seed)
        t_train = time.perf_counter()
        run = tts.train(model, processor, train_ex, val_ex, spk, work / f"run_{key}min", cfg, device="cpu", progress=False)
        train_s = time.perf_counter() - t_train
        base_val = score(base_model, spk, sel_rows, f"{key}_base_val", sel_real, sel_ref, False)
        cands = {a: score(tts.interpolate_weights(base_model, model, a), run.speaker_embedding, sel_rows,
                          f"{key}_mix{a}_val", sel_real, sel_ref, False) for a in (0.5, 0.75)}
        alpha, reason = tts_eval.choose_alpha(cands, base_val["wer"])
        base_test = score(base_model, spk, test_rows, f"{key}_base", real, real_ref, True)
        mine = score(tts.interpolate_weights(base_model, model, alpha), run.speaker_embedding, test_rows,
                     f"{key}_mix{alpha}", real, real_ref, True)
        d, lo, hi = tts_eval.paired_wer_difference([r["text"] for r in test_rows], base_test["hyps"], mine["hyps"], seed=seed)
        keep = ("wer", "wer_95ci", "speaker_similarity", "closer_to_you", "closer_95ci", "dnsmos_ovrl", "dnsmos_sig",
                "dnsmos_bak", "mcd_db", "n")
        res["points"][key] = {
            "minutes": round(sum(r["duration_s"] for r in train_rows) / 60, 2), "train_takes": len(train_rows),
            "train_cpu_s": round(train_s, 1), "alpha": alpha, "rule": reason,
            "validation": {"base_wer": base_val["wer"], **{f"alpha_{a}": {k: c[k] for k in ("wer", "closer_to_you")}
                                                           for a, c in cands.items()}},
            "base": {k: base_test[k] for k in keep}, "your_voice": {k: mine[k] for k in keep},
            "wer_minus_base": d, "wer_minus_base_95ci": [lo, hi],
            "seconds": round(time.perf_counter() - t0, 1)}
        write_json(out, res)
        p = res["points"][key]
        print(f"{key} min ({p['train_takes']} takes, train {train_s:.0f} s): α={alpha}; base WER {base_test['wer']:.3f} "
              f"closer {base_test['closer_to_you']:.2f}; your voice WER {mine['wer']:.3f} closer {mine['closer_to_you']:.2f} "
              f"sim {mine['speaker_similarity']:.3f} DNSMOS {mine.get('dnsmos_ovrl', float('nan')):.2f}", flush=True)
    res["machine"] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg()}
    write_json(out, res)
    return res


def plot(res: dict, path: Path | None = OUT_PNG, ax_row=None):
    """WER, similarity, closer-to-you and DNSMOS against minutes of training audio (base dashed, "your voice" solid)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted(res["points"].values(), key=lambda p: p["minutes"])
    x = [p["minutes"] for p in pts]
    panels = [("wer", "WER (lower is better)"), ("speaker_similarity", "GE2E similarity to you"),
              ("closer_to_you", "closer to you than to every pretraining voice"), ("dnsmos_ovrl", "DNSMOS overall (1-5)")]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for ax, (key, title) in zip(axes, panels):
        for who, style in (("base", "o--"), ("your_voice", "s-")):
            ax.plot(x, [p[who].get(key, np.nan) for p in pts], style, label="base, zero-shot" if who == "base" else "your voice (rule's α)")
        if key == "closer_to_you":
            lo = [p["your_voice"]["closer_95ci"][0] for p in pts]
            hi = [p["your_voice"]["closer_95ci"][1] for p in pts]
            ax.fill_between(x, lo, hi, alpha=0.2, color="C1", label="95% interval")
        if key == "wer":
            lo = [p["your_voice"]["wer_95ci"][0] for p in pts]
            hi = [p["your_voice"]["wer_95ci"][1] for p in pts]
            ax.fill_between(x, lo, hi, alpha=0.2, color="C1")
        ax.set_title(title, fontsize=9); ax.set_xlabel("minutes of your recordings"); ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, required=True, help="a prepared dataset folder (notebook 01 / helpers.prep)")
    ap.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 10])
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_minutes_work"))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--out", type=Path, default=OUT_JSON)
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args(argv)
    if args.plot_only:
        res = json.loads(args.out.read_text())
    else:
        res = measure(args.dataset.resolve(), args.minutes, args.work, steps=args.steps, out=args.out)
    plot(res, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
