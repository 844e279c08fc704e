"""Figures and the interactive trim explorer for notebook 01.

Why this module exists
----------------------
Choosing a trim threshold is easier to *see* than to reason about: move a slider, watch the
speech boundaries move on the waveform, listen to the result. :func:`trim_explorer` does that
with ``ipywidgets``.

It must also work where nobody can move a slider: under nbval/papermill, in a static render on
GitHub, or without ipywidgets installed. So the figure and the player are ordinary outputs shown
with a ``display_id``; the slider (when ipywidgets is there) *updates* those outputs in place.
Without a live frontend the default state is simply what you see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import audio as A


def plot_take(audio: np.ndarray, sr: int, title: str = "", bounds: "A.Bounds | None" = None,
              truth: tuple[float, float] | None = None, pad_ms: float | None = None,
              spectrogram: bool = True, level: bool = False, margin_db: float | None = None):
    """Waveform (and spectrogram, or the level curve used by the energy trim) of one take.

    ``bounds``: detected speech (green lines); ``truth``: true start/end (dashed black);
    ``pad_ms``: the kept region including the pad (shaded).
    """
    import matplotlib.pyplot as plt

    audio = A.to_mono(audio)
    rows = 1 + int(spectrogram) + int(level)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.9 * rows + 0.4), sharex=True, squeeze=False)
    axes = axes[:, 0]
    t = np.arange(audio.size) / sr
    ax = axes[0]
    ax.plot(t, audio, lw=0.4, color="tab:blue")
    ax.set_ylabel("amplitude")
    ax.set_ylim(-1.05, 1.05) if np.max(np.abs(audio)) > 0.5 else None
    i = 1
    if level:
        times, lv = A.frame_energy_db(A.speech_band(audio, sr), sr, 30.0, 5.0)
        axes[i].plot(times, lv, lw=0.8, color="tab:purple", label="level (150-7500 Hz)")
        if margin_db is not None:
            thr = A.energy_threshold(lv, margin_db)
            axes[i].axhline(thr, color="tab:red", lw=1, label=f"threshold = noise floor + {margin_db:g} dB")
        axes[i].set_ylabel("dBFS")
        axes[i].legend(loc="upper right", fontsize=7)
        i += 1
    if spectrogram:
        axes[i].specgram(audio + 1e-9, NFFT=512, Fs=sr, noverlap=384, cmap="magma", vmin=-140)
        axes[i].set_ylabel("Hz")
    for a in axes:
        if bounds is not None and bounds.found:
            for x in (bounds.start_s, bounds.end_s):
                a.axvline(x, color="tab:green", lw=1.2)
            if pad_ms is not None:
                a.axvspan(max(0, bounds.start_s - pad_ms / 1000), min(t[-1], bounds.end_s + pad_ms / 1000),
                          color="tab:green", alpha=0.08)
        if truth is not None:
            for x in truth:
                a.axvline(x, color="black", lw=1, ls="--")
    axes[-1].set_xlabel("time (s)")
    legend = []
    if bounds is not None:
        legend.append(f"detected ({bounds.method}) — green")
    if truth is not None:
        legend.append("ground truth — dashed")
    axes[0].set_title(title + ("   ·   " + ", ".join(legend) if legend else ""), fontsize=9)
    fig.tight_layout()
    return fig


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401

        return True
    except ImportError:
        return False


def trim_explorer(audio: np.ndarray, sr: int, margin_db: float = 3.0, pad_ms: float = 100.0,
                  truth: tuple[float, float] | None = None, title: str = "") -> dict[str, Any]:
    """Show one take with its energy-trim boundaries, a player of the trimmed result and a slider.

    The slider sets ``margin_db`` (how far above the room's noise floor a sound must be to count
    as speech). Figure and player are ordinary outputs, so the default state is visible without a
    live frontend (nbval, papermill, GitHub); moving the slider replaces them in place.
    Returns a dict with the current ``bounds`` (kept up to date) and the ``slider`` (or None).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Audio, display

    audio = A.to_mono(audio)
    state: dict[str, Any] = {"margin_db": margin_db}

    def render(m: float):
        b = A.energy_bounds(audio, sr, margin_db=m)
        state.update(margin_db=m, bounds=b)
        err = ""
        if truth is not None and b.found:
            err = f"   error: start {1000 * (b.start_s - truth[0]):+.0f} ms, end {1000 * (b.end_s - truth[1]):+.0f} ms"
        fig = plot_take(audio, sr, f"{title} margin {m:g} dB{err}", bounds=b, truth=truth, pad_ms=pad_ms,
                        spectrogram=False, level=True, margin_db=m)
        plt.close(fig)
        trimmed = A.apply_trim(audio, sr, b, pad_ms) if b.found else audio
        return fig, Audio(trimmed, rate=sr, normalize=True)

    fig, player = render(margin_db)
    fig_handle = display(fig, display_id=True)
    audio_handle = display(player, display_id=True)
    state["slider"] = None
    if not _has_ipywidgets():
        print("(ipywidgets is not installed: showing the default threshold only.)")
        return state
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=margin_db, min=0.5, max=30.0, step=0.5, description="margin dB",
                                 continuous_update=False, readout_format=".1f",
                                 layout=widgets.Layout(width="60%"))

    def on_change(change):
        f, p = render(float(change["new"]))
        fig_handle.update(f)
        audio_handle.update(p)

    slider.observe(on_change, names="value")
    display(widgets.HBox([slider, widgets.HTML("<i>&nbsp;move it, then listen: too high clips words, "
                                               "too low keeps room noise</i>")]))
    state["slider"] = slider
    state["update"] = lambda m: on_change({"new": m})
    return state


def summary_figure(rows: list[dict[str, Any]], target_lufs: float = A.TARGET_LUFS):
    """Three panels over the usable takes: durations, loudness before/after, speaking rate."""
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("verdict") == "ok"]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.2))
    ax[0].hist([float(r["duration_s"]) for r in ok], bins=12, color="tab:blue")
    ax[0].set_xlabel("duration after trim (s)")
    ax[0].set_ylabel("takes")
    before = [float(r["loudness_before_lufs"]) for r in ok]
    after = [float(r["loudness_after_lufs"]) for r in ok]
    ax[1].scatter(range(len(ok)), before, s=12, label="before", color="tab:orange")
    ax[1].scatter(range(len(ok)), after, s=12, label="after", color="tab:green")
    ax[1].axhline(target_lufs, color="black", lw=0.8, ls="--")
    ax[1].set_xlabel("take")
    ax[1].set_ylabel("integrated loudness (LUFS)")
    ax[1].legend(fontsize=8)
    ax[2].hist([float(r["chars_per_s"]) for r in ok], bins=12, color="tab:purple")
    ax[2].set_xlabel("speaking rate (characters / s)")
    fig.suptitle(f"{len(ok)} usable takes", fontsize=10)
    fig.tight_layout()
    return fig


def trim_error_figure(errors: list[dict[str, Any]], tolerance_ms: float = 30.0):
    """Distribution of signed start/end errors per method, with the ±tolerance band."""
    import matplotlib.pyplot as plt

    methods = sorted({e["method"] for e in errors})
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
    for ax, key, name in zip(axes, ("start_err_ms", "end_err_ms"), ("start", "end")):
        vals = [np.array([e[key] for e in errors if e["method"] == m]) for m in methods]
        lo = min(v.min() for v in vals)
        hi = max(v.max() for v in vals)
        bins = np.linspace(min(lo, -tolerance_ms * 2), max(hi, tolerance_ms * 2), 30)
        for m, v in zip(methods, vals):
            ax.hist(v, bins=bins, alpha=0.55, label=f"{m} (|err| ≤ {tolerance_ms:g} ms: {np.mean(np.abs(v) <= tolerance_ms):.0%})")
        ax.axvspan(-tolerance_ms, tolerance_ms, color="grey", alpha=0.12)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"{name} error (ms, + = later than truth)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("takes")
    fig.tight_layout()
    return fig
