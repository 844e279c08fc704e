#!/usr/bin/env python3
"""Trim accuracy on REAL speech: every trim method against a forced-alignment truth, dev and test kept apart.

    .venv/bin/python benchmarks/bench_trim_real.py                 # all 141 home-reader takes (~5 min on 2 cores)
    .venv/bin/python benchmarks/bench_trim_real.py --limit 20      # a quicker look (at least 8 takes per split)
    .venv/bin/python benchmarks/bench_trim_real.py --plots /tmp/p  # also draw a few takes to check the truth by eye

It also draws bench_trim_real_misses.png beside itself: every edge of a test take as recorded where the default
trim misses the truth, with the truth, the aligner's edges after unheard changes, and the trim's edge.

The truth is PocketSphinx's forced alignment of each take's known transcript (helpers.align): the first
word's start and the last word's end. It never comes from a trimmer. The takes (helpers.realspeech):

* the home reader's takes as recorded (44.1 kHz, a quiet room with a low hum, breaths and clicks);
* the same speech embedded in 0.2-2 s of real room tone at both ends (from the quiet stretches of his own
  takes), the tone laid under the whole take at 0, +15 and +30 dB, every second take with a breath-like
  sound before the speech.

The home reader's ids are split dev/test by a hash of the id (helpers.realspeech.split): the trim
settings were chosen on dev; the figures the series quotes are the test split's. Writes
bench_trim_real.json beside this script (ids of both splits, per-method figures per split, kind and noise gain).

Two more figures say how far the truth can be trusted:

* the *audible* truth: for an embedded take, the aligned bounds narrowed to where the speech rises above the
  room tone laid under it (the rule the bundled sample's truth uses; helpers.realspeech.audible_bounds). A
  fading "s" under +30 dB of room tone is still part of the aligned word, but no trimmer can hear it;
* the truth's own stability: the same take re-aligned after changes nobody would hear (5, 10 or 15 ms later, 6 dB
  quieter, -70 dBFS of white noise under it: helpers.align.perturbed_bounds), and each embedded take aligned in its
  noise; every method's share is also given on the takes whose truth stays put under all five changes;
* the audible ceiling: what a trimmer that found exactly the audible speech would score against the aligned truth.
  Under +30 dB of room tone the first and last tens of milliseconds of many takes are below the tone, so even
  that trimmer misses them: the ceiling says how much of a method's shortfall no level- or VAD-based trimmer can win.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from helpers import align, realspeech as RS  # noqa: E402
from helpers import audio as A  # noqa: E402
from helpers.files import write_json  # noqa: E402

TOLERANCE_MS = 50.0
METHODS = A.TRIM_METHODS + A.EXTRA_TRIM_METHODS   # the trimmers offered, and the variants measured beside them


def real_takes(rows: list[dict], seed: int = 1, listener=None) -> tuple[list[RS.RealTake], list[dict]]:
    """As-recorded + embedded takes for ``rows`` (one split), with the alignment truth; and the rows without one
    (a first or last word the aligner lacks, or an aligned end Whisper disagrees with: align.ends_agree)."""
    sources, no_truth = [], []
    for r in rows:
        x = A.load_mono(r["path"])
        b = align.speech_bounds(x, r["text"])
        if b is None:
            no_truth.append({"id": r["id"], "oov": align.words_for_alignment(r["text"])[1]})
            continue
        if listener is not None and not align.ends_agree(x, b, listener):
            no_truth.append({"id": r["id"], "why": f"aligned end and Whisper's last word > {align.END_AGREEMENT_S} s apart"})
            continue
        sources.append((r["id"], x, b))
    takes = [RS.RealTake(i, x, b[0], b[1], "as recorded", i) for i, x, b in sources]
    return takes + RS.embedded_takes(sources, seed=seed), no_truth


def measure(takes: list[RS.RealTake], methods=METHODS, tol_ms: float = TOLERANCE_MS,
            trusted: set[str] | None = None) -> tuple[dict, list[dict]]:
    """Per method: share within ``tol_ms`` at both ends (all takes, per kind, per kind and noise gain), median / p95
    |error|, signed medians; the share within ``tol_ms`` of the *audible* part of the truth
    (RealTake.audible: embedded takes only differ); and, given ``trusted`` (the sources whose truth is reproducible:
    :func:`reproducible`), the share on the takes made from those sources."""
    rows = []
    for t in takes:
        a0, a1 = t.audible
        for m in methods:
            b = A.trim_bounds(t.audio, A.TARGET_SR, m)
            rows.append({"id": t.id, "kind": t.kind, "gain": t.noise_gain_db, "method": m,
                         "start_err_ms": 1000 * (b.start_s - t.start_s), "end_err_ms": 1000 * (b.end_s - t.end_s),
                         "audible_err_ms": 1000 * max(abs(b.start_s - a0), abs(b.end_s - a1))})
    out, hits = {}, {}
    sources = [t.source for t in takes]   # every method's rows are in the takes' order
    held = None if trusted is None else np.isin(sources, sorted(trusted))   # takes whose truth holds
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        e = np.array([[r["start_err_ms"], r["end_err_ms"]] for r in mine])
        kinds = np.array([r["kind"] for r in mine])
        cells = np.array([r["kind"] if r["kind"] == "as recorded" else f"{r['kind']} {r['gain']:+.0f} dB" for r in mine])
        ok = hits[m] = np.abs(e).max(axis=1) <= tol_ms
        heard = np.array([r["audible_err_ms"] for r in mine]) <= tol_ms
        out[m] = {"takes": int(len(e)), f"within_{tol_ms:g}ms_both_ends": round(float(ok.mean()), 3),
                  f"within_{tol_ms:g}ms_ci95": RS.share_interval(ok, sources),
                  "within_30ms_both_ends": round(float((np.abs(e).max(axis=1) <= 30).mean()), 3),
                  f"within_{tol_ms:g}ms_of_audible_truth": round(float(heard.mean()), 3),
                  "by_kind": {k: round(float(ok[kinds == k].mean()), 3) for k in sorted(set(kinds))},
                  "by_kind_and_gain": {c: round(float(ok[cells == c].mean()), 3) for c in sorted(set(cells))},
                  "median_abs_ms": round(float(np.median(np.abs(e))), 1),
                  "p95_abs_ms": round(float(np.percentile(np.abs(e), 95)), 1),
                  "start_median_ms": round(float(np.median(e[:, 0])), 1),
                  "end_median_ms": round(float(np.median(e[:, 1])), 1),
                  "starts_early_over_300ms": int(np.sum(e[:, 0] < -300))}
        if held is not None:
            out[m][f"within_{tol_ms:g}ms_where_the_truth_is_reproducible"] = {
                "takes": int(held.sum()), "share": round(float(ok[held].mean()), 3) if held.any() else None,
                "by_kind": {k: round(float(ok[held & (kinds == k)].mean()), 3) for k in sorted(set(kinds[held]))}}
    for m in methods:   # the same takes for every method: a paired comparison with the default
        if m != A.DEFAULT_TRIM_METHOD and A.DEFAULT_TRIM_METHOD in hits:
            d = RS.paired_share_difference(hits[A.DEFAULT_TRIM_METHOD], hits[m], sources)
            out[m][f"minus_{A.DEFAULT_TRIM_METHOD}_ci95"] = list(d)
    return out, rows


def truth_stability(takes: list[RS.RealTake], text: dict[str, str],
                    tol_ms: float = TOLERANCE_MS) -> tuple[dict, dict[str, dict]]:
    """How far the truth itself moves, for the same speech: the share of takes whose re-aligned bounds stay within
    ``tol_ms`` at both ends of the truth they carry; and, per take as recorded, its re-aligned bounds.

    * ``as recorded, <change>``: the take after each of :data:`helpers.align.PERTURBATIONS` (5, 10 or 15 ms cut
      from its start, 6 dB quieter, white noise at -70 dBFS under it), and ``all five``: the takes whose truth
      stays put under every one of them. A trimmer can hardly be asked to agree with a truth more often than the
      truth agrees with itself;
    * ``embedded, aligned in the noise``: each embedded take aligned as it is (room tone, breath and all), against
      the truth moved from its clean source, per noise gain. This is how well the aligner could do as a trimmer;
      it is not the truth's error on the clean take.
    """
    out: dict = {}
    rec = [t for t in takes if t.kind == "as recorded"]
    moved = {t.source: align.perturbed_bounds(t.audio, text[t.source]) for t in rec}
    for name, *_ in align.PERTURBATIONS:
        d = [t.miss_ms(moved[t.source][name]) for t in rec]
        out[f"as recorded, {name}"] = {"takes": len(rec), "within": round(float(np.mean(np.array(d) <= tol_ms)), 3)}
    worst = [max(t.miss_ms(b) for b in moved[t.source].values()) for t in rec]
    out["as recorded, all five"] = {"takes": len(rec), "within": round(float(np.mean(np.array(worst) <= tol_ms)), 3)}
    for g in RS.NOISE_GAINS_DB:
        emb = [t for t in takes if t.kind != "as recorded" and t.noise_gain_db == g]
        d = [t.miss_ms(align.speech_bounds(t.audio, text[t.source])) for t in emb]
        out[f"embedded {g:+.0f} dB, aligned in the noise"] = {"takes": len(emb),
                                                              "within": round(float(np.mean(np.array(d) <= tol_ms)), 3)}
    return out, moved


def reproducible(takes: list[RS.RealTake], moved: dict[str, dict], tol_ms: float = TOLERANCE_MS) -> set[str]:
    """The sources whose truth (on the take as recorded) stays within ``tol_ms`` under every perturbation."""
    return {t.source for t in takes
            if t.kind == "as recorded" and max(t.miss_ms(b) for b in moved[t.source].values()) <= tol_ms}


def draw(takes: list[RS.RealTake], folder: Path, n: int = 4) -> None:
    """Waveform + spectrogram around the start and end of a few takes, with the truth and each method's bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    for t in takes[:: max(1, len(takes) // n)][:n]:
        found = {m: tuple(getattr(A.trim_bounds(t.audio, A.TARGET_SR, m), k) for k in ("start_s", "end_s"))
                 for m in A.TRIM_METHODS}
        al = align.Alignment([("truth", t.start_s, t.end_s)])
        for side, c in (("start", t.start_s), ("end", t.end_s)):
            fig = align.plot_alignment(t.audio, A.TARGET_SR, al, f"{t.id}: {side}", bounds=found,
                                       window_s=(max(0, c - 0.8), c + 0.8))
            fig.savefig(folder / f"{t.id.replace('~', '_')}_{side}.png", dpi=80)
            plt.close(fig)


def draw_misses(takes: list[RS.RealTake], per_take: list[dict], moved: dict[str, dict], dest: Path,
                tol_ms: float = TOLERANCE_MS) -> int:
    """One picture of every edge where the default trim misses the truth on a take *as recorded*: the spectrogram
    around the aligned edge (cyan), the edges the aligner gives after each unheard change (white, dotted: where
    they scatter, the truth is unsure) and the default's edge (green, dashed). Written atomically to ``dest``;
    returns the number of edges drawn. Look at it to judge who is right, the aligner or the trimmer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image
    from scipy.signal import spectrogram

    by_id = {t.id: t for t in takes}
    edges = []
    for r in per_take:
        if r["method"] == A.DEFAULT_TRIM_METHOD and r["kind"] == "as recorded":
            for k, side in enumerate(("start", "end")):
                err = r[f"{side}_err_ms"]
                if abs(err) > tol_ms:
                    edges.append((by_id[r["id"]], k, side, err))
    if not edges:
        return 0
    cols = 2
    rows_n = (len(edges) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(13, 2.1 * rows_n), squeeze=False)
    for ax, (t, k, side, err) in zip(axes.flat, edges):
        c = (t.start_s, t.end_s)[k]
        lo, hi = min(-0.6, err / 1000 - 0.1), max(0.6, err / 1000 + 0.1)
        a, b = max(0, int((c + lo) * A.TARGET_SR)), min(len(t.audio), int((c + hi) * A.TARGET_SR))
        f, tt, S = spectrogram(t.audio[a:b], A.TARGET_SR, nperseg=320, noverlap=240)
        S = 10 * np.log10(S + 1e-14)
        ax.pcolormesh(tt + a / A.TARGET_SR - c, f, S, vmin=S.max() - 75, shading="auto", cmap="magma",
                      rasterized=True)
        for p in moved[t.source].values():
            if p is not None:
                ax.axvline(p[k] - c, color="w", lw=0.8, ls=":")
        ax.axvline(0, color="cyan", lw=1.5)
        ax.axvline(err / 1000, color="lime", lw=1.5, ls="--")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 8000)
        at_file_edge = (c <= 0.01) if k == 0 else (c >= len(t.audio) / A.TARGET_SR - 0.01)
        ax.set_title(f"{t.source} {side}: default {err:+.0f} ms" + (" (truth at the file's edge)" if at_file_edge
                                                                    else ""), fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(edges):]:
        ax.axis("off")
    fig.suptitle(f"Takes as recorded (test split) where the default trim ({A.DEFAULT_TRIM_METHOD}) is more than "
                 f"{tol_ms:g} ms from the aligned truth\ncyan: the truth; white dotted: the aligner after changes "
                 "nobody would hear; green dashed: the trim; time (s) from the aligned edge", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (2.1 * rows_n)))
    tmp = dest.with_name(dest.stem + ".tmp.png")
    fig.savefig(tmp, dpi=60)
    plt.close(fig)
    with Image.open(tmp) as im:   # 256 colours: a fifth of the bytes, the same picture to the eye
        im.convert("RGB").quantize(256).save(tmp, optimize=True)
    os.replace(tmp, dest)
    return len(edges)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None,
                    help="home-reader takes per split (default: all; at least 8: the room tone laid under the embedded "
                         "takes is cut from these takes' own quiet stretches, and a few takes may have none)")
    ap.add_argument("--plots", type=Path, default=None, help="folder for a few cross-check figures")
    args = ap.parse_args(argv)
    if RS.root() is None:
        print(RS.SKIP_REASON)
        return 2
    t0 = time.perf_counter()
    from helpers.takecheck import Listener

    listener = Listener(cpu_threads=2)
    result: dict = {"truth": "PocketSphinx forced alignment of the known transcript (helpers.align): first word start, "
                             "last word end; the take padded with 0.5 s of quiet for the aligner; a take whose aligned "
                             "end is more than 0.5 s from Whisper tiny.en's last-word timestamp has no truth "
                             "(align.checked_speech_bounds)",
                    "tolerance_ms": TOLERANCE_MS, "split_rule": "helpers.realspeech.split: sha1(id) < 1/3 -> dev",
                    "settings_chosen_on": "dev (and the bundled sample); figures quoted: test",
                    "audible_truth": "embedded takes: the aligned bounds narrowed to the 10 ms frames where the "
                                     "speech (before the room tone is added) rises above the room tone's median "
                                     "in-band energy (helpers.realspeech.audible_bounds; the bundled sample's own "
                                     "rule); takes as recorded: the aligned bounds",
                    "noise_gains_db": list(RS.NOISE_GAINS_DB), "splits": {}, "methods": {}, "truth_stability": {},
                    "audible_ceiling_means": "the share a trimmer that found exactly the audible speech would score "
                                             "against the aligned truth (takes as recorded: all counted reachable)",
                    "audible_ceiling": {}}
    for which in ("dev", "test"):
        rows = RS.homereader_rows(which)[: args.limit]
        takes, no_truth = real_takes(rows, listener=listener)
        result["truth_stability"][which], moved = truth_stability(takes, {r["id"]: r["text"] for r in rows})
        trusted = reproducible(takes, moved)
        figures, per_take = measure(takes, trusted=trusted)
        result["splits"][which] = {"ids": [r["id"] for r in rows], "no_truth": no_truth, "takes": len(takes),
                                   "truth_not_reproducible": sorted({t.source for t in takes} - trusted)}
        result["methods"][which] = figures
        result["audible_ceiling"][which] = RS.audible_ceiling(takes, TOLERANCE_MS)
        print(f"{which}: {len(rows)} home-reader takes ({len(no_truth)} without a truth) -> {len(takes)} test takes")
        for m, f in figures.items():
            print(f"  {m:7s} within {TOLERANCE_MS:g} ms at both ends: {f[f'within_{TOLERANCE_MS:g}ms_both_ends']:.1%} "
                  f"(95 % CI {f[f'within_{TOLERANCE_MS:g}ms_ci95'][0]:.1%}-{f[f'within_{TOLERANCE_MS:g}ms_ci95'][1]:.1%}, "
                  f"resampling whole source takes) (of the audible truth {f[f'within_{TOLERANCE_MS:g}ms_of_audible_truth']:.1%}) "
                  f"{f['by_kind_and_gain']}  median |err| {f['median_abs_ms']} ms, p95 {f['p95_abs_ms']} ms, "
                  f"starts > 0.3 s early: {f['starts_early_over_300ms']}")
        print(f"  the truth's own stability, within {TOLERANCE_MS:g} ms:",
              {k: v["within"] for k, v in result["truth_stability"][which].items()})
        c = result["audible_ceiling"][which]
        print(f"  a trimmer that found exactly the audible speech would score {c['all']:.1%} against the aligned "
              f"truth ({c['by_kind_and_gain']})")
        print(f"  where the truth is reproducible ({len(trusted)} of {len({t.source for t in takes})} sources):",
              {m: f[f"within_{TOLERANCE_MS:g}ms_where_the_truth_is_reproducible"]["share"] for m, f in figures.items()})
        if which == "test":
            draw_misses(takes, per_take, moved, Path(__file__).with_name("bench_trim_real_misses.png"))
            if args.plots:
                draw(takes, args.plots)
    # the other bar: the bundled sample's takes, against their clean-voice truth, within 30 ms
    import json

    from helpers import prep

    root = Path(__file__).resolve().parents[1] / "sample_data"
    truth = json.loads((root / "raw_truth.json").read_text())
    result["sample_within_30ms"] = prep.trim_error_summary(prep.trim_errors(root / "raw", truth, methods=METHODS,
                                                                            progress=False))
    print("sample, within 30 ms at both ends:",
          {m: f"{s['within_tol_share']:.1%}" for m, s in result["sample_within_30ms"].items()})
    result.update(seconds=round(time.perf_counter() - t0, 1), cpus=os.cpu_count(), python=platform.python_version(),
                  measured_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    dest = Path(__file__).with_suffix(".json")
    write_json(dest, result)
    print(f"wrote {dest} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
