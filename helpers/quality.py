"""Predicted listening quality: DNSMOS, a model's guess at the score listeners would give a clip.

Why this module exists
----------------------
Word error rate says whether a voice can be understood and speaker similarity whether it sounds like you;
neither says whether it *sounds clean*. Asking listeners is the real measure (a MOS test), and nobody runs one
on a laptop. DNSMOS (Reddy et al., ICASSP 2021/2022) is a small network trained to predict what listeners
answered in ITU-T P.835 / P.808 tests of the Deep Noise Suppression (DNS) challenge, and the PyPI package
``speechmos`` ships Microsoft's ONNX models *inside the wheel*: it works offline, on the CPU, in well under a
second per clip. :func:`dnsmos` scores one clip, :func:`dnsmos_many` a list (the models load once).

What DNSMOS measures
--------------------
Four predicted mean opinion scores on a 1-5 scale (5 = excellent), per clip (the mean over 9 s windows;
a clip shorter than 9 s is repeated to fill one window; :func:`dnsmos` says which windows):

* ``sig``  (P.835 SIG): how clean the *speech itself* sounds — distortion, muffling, artefacts of processing;
* ``bak``  (P.835 BAK): how unobtrusive the *background* is — noise, hum, hiss, residual noise;
* ``ovrl`` (P.835 OVRL): the overall impression, mostly driven by the two above;
* ``p808`` (P.808): a single overall score from a second model trained on P.808 absolute category ratings.

What it does **not** measure
----------------------------
* **Intelligibility** — mumbled or wrong words in a clean channel can score high: use WER for that.
* **Speaker similarity** — it never asks whose voice it is: use the speaker-embedding similarity.
* **Naturalness of prosody** — flat or odd intonation and rhythm are barely seen by a model listening for
  noise and distortion over 9 s windows.
* And it is **biased on synthetic speech**: it was trained on real recordings processed by noise
  suppressors, never on TTS output, so a vocoder's artefacts may be scored too kindly or too harshly.
  Compare systems with it, beside real takes of the same person as the ceiling, and read it as one signal
  among WER and similarity — never as "listeners would give this a 3.4".

Light imports: numpy at the top; speechmos (and with it onnxruntime and librosa), helpers.audio (soxr) and tqdm inside.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SAMPLE_RATE = 16_000       # DNSMOS's models take 16 kHz audio
MIN_SECONDS = 1.0          # shorter clips are refused: DNSMOS would score one sound repeated nine times over
KEYS = ("ovrl", "sig", "bak", "p808")
WINDOW_S = 9.01            # DNSMOS's input length
MAX_WINDOWS = 3            # windows scored per clip by default (speechmos scores every 1 s hop: see dnsmos())

__all__ = ["dnsmos", "dnsmos_many", "QualityError", "KEYS", "SAMPLE_RATE", "MIN_SECONDS", "WHAT_IT_MEASURES", "MAX_WINDOWS"]

WHAT_IT_MEASURES = (
    "DNSMOS predicts the mean opinion score (1-5) listeners would give a clip for speech distortion (SIG), "
    "background noise (BAK) and overall quality (OVRL, P.808), trained on the noise-suppression (DNS) challenge's "
    "ratings of real recordings. It does not measure intelligibility (use WER), speaker similarity or the "
    "naturalness of prosody, and it is biased on synthetic speech: read it beside real takes as the ceiling.")


class QualityError(ValueError):
    """Audio DNSMOS cannot score (empty, too short, not finite); the message says what to give instead."""


_MODEL = None


def _model():
    """speechmos's DNSMOS (P.835 SIG/BAK/OVRL + P.808 ONNX models from inside the package), loaded once."""
    global _MODEL
    if _MODEL is None:
        import os

        try:
            from speechmos import dnsmos as sm
        except ImportError as err:
            raise ImportError(f"DNSMOS needs the 'speechmos' package and what it imports (onnxruntime, librosa): "
                              f"{err}. Install it: pip install speechmos (it is in requirements.txt).") from None
        folder = os.path.join(os.path.dirname(os.path.abspath(sm.__file__)), "dnsmos_models")
        _MODEL = sm.DNSMOS(os.path.join(folder, "sig_bak_ovr.onnx"), os.path.join(folder, "model_v8.onnx"))
    return _MODEL


def _prepare(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz within [-1, 1]; refuses what cannot be scored."""
    x = np.asarray(audio)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    x = x.astype(np.float32, copy=False)
    if x.ndim == 2:  # (samples, channels) -> mono
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise QualityError(f"DNSMOS scores mono audio (samples, or samples x channels); got shape {np.shape(audio)}.")
    if int(sr) <= 0:
        raise QualityError(f"sample rate must be positive, got {sr}")
    seconds = x.size / float(sr)
    if x.size == 0:
        raise QualityError("DNSMOS got empty audio (0 samples): nothing to score. Did the synthesis or the file "
                           "load fail?")
    if seconds < MIN_SECONDS:
        raise QualityError(f"DNSMOS needs at least {MIN_SECONDS:.0f} s of audio; this clip is {seconds:.2f} s. "
                           "Score a longer clip (a whole sentence), or join short ones.")
    if not np.isfinite(x).all():
        raise QualityError("the audio holds NaN or infinite samples: DNSMOS cannot score it (a diverged model?).")
    from .audio import resample

    return np.clip(resample(x, int(sr), SAMPLE_RATE), -1.0, 1.0)


def _windows(x: np.ndarray, max_windows: int | None) -> list[np.ndarray]:
    """The 9.01 s windows speechmos scores (a shorter clip repeated until it fills one, then 1 s hops, sliced as
    speechmos slices them), or at most ``max_windows`` of them, evenly spaced, the first and the last included."""
    need = int(WINDOW_S * SAMPLE_RATE)
    while x.size < need:  # as speechmos (and Microsoft's dnsmos_local.py) do: repeat the clip
        x = np.append(x, x)
    n = int(np.floor(x.size / SAMPLE_RATE) - WINDOW_S) + 1
    segs = [x[int(i * SAMPLE_RATE): int((i + WINDOW_S) * SAMPLE_RATE)] for i in range(n)]
    segs = [seg for seg in segs if seg.size >= need]  # speechmos skips a window float rounding made 1 sample short
    if max_windows is not None and len(segs) > max_windows:
        pick = sorted({int(round(i)) for i in np.linspace(0, len(segs) - 1, max(1, int(max_windows)))})
        segs = [segs[i] for i in pick]
    return segs


def _score(model, x: np.ndarray, max_windows: int | None) -> dict[str, float]:
    """speechmos's ``DNSMOS.__call__`` (non-personalised), over the windows :func:`_windows` picks."""
    ovrl, sig, bak, p808 = [], [], [], []
    for seg in _windows(x, max_windows):
        mel = np.asarray(model.audio_melspec(audio=seg[:-160]), dtype=np.float32)[np.newaxis]
        p808.append(float(model.p808_onnx_sess.run(None, {"input_1": mel})[0][0][0]))
        raw = model.onnx_sess.run(None, {"input_1": seg.astype(np.float32)[np.newaxis]})[0][0]
        s, b, o = model.get_polyfit_val(raw[0], raw[1], raw[2], False)
        sig.append(float(s)); bak.append(float(b)); ovrl.append(float(o))
    return {"ovrl": float(np.mean(ovrl)), "sig": float(np.mean(sig)), "bak": float(np.mean(bak)),
            "p808": float(np.mean(p808))}


def dnsmos(audio: np.ndarray, sr: int, *, max_windows: int | None = MAX_WINDOWS) -> dict[str, float]:
    """DNSMOS of one clip: ``{"ovrl", "sig", "bak", "p808"}``, floats on the 1-5 scale (see the module docstring
    for what they do and do not measure).

    ``audio``: mono samples (float in [-1, 1], or int16), or samples x channels (averaged); any sample rate
    (resampled to 16 kHz here). Raises :class:`QualityError` for empty audio or clips under 1 s.

    ``max_windows``: speechmos repeats a clip shorter than 9 s until it fills a 9.01 s window and then scores
    *every* 1 s hop: an 8.4 s sentence becomes 16.8 s and 7 windows (about 1-2 s of CPU each on 2 busy cores).
    By default at most 3 windows are scored, evenly spaced (the first and the last included); on real takes
    (16 of the home reader's takes, as recorded and with noise at 10 dB SNR) that moved scores by 0.07 at most (BAK; OVRL 0.04).
    ``max_windows=None`` scores every window, exactly as ``speechmos.dnsmos.run`` does.
    """
    x = _prepare(audio, sr)
    return _score(_model(), x, max_windows)


def dnsmos_many(items: Sequence[tuple[np.ndarray, int]], progress: bool = True, desc: str = "DNSMOS", *,
                max_windows: int | None = MAX_WINDOWS) -> list[dict[str, float]]:
    """:func:`dnsmos` of each ``(audio, sample_rate)`` in ``items``, in order, with the models loaded once and a
    progress bar. Every clip is checked before any is scored, so a bad one fails at once, naming its index."""
    prepared = []
    for i, (audio, sr) in enumerate(items):
        try:
            prepared.append(_prepare(audio, sr))
        except QualityError as err:
            raise QualityError(f"item {i}: {err}") from None
    if not prepared:
        return []
    from tqdm.auto import tqdm

    model = _model()
    return [_score(model, x, max_windows) for x in tqdm(prepared, desc=desc, unit="clip", disable=not progress, leave=False)]
