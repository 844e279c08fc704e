"""Where the words are: PocketSphinx forced alignment of a known transcript, as a trim truth for real speech.

Why this module exists
----------------------
The sample takes carry ground truth because they were synthesised: the clean voice's first and
last audible frame is known before noise is added. A real person's recording has no such truth,
and measuring a trimmer against another trimmer (or against itself) proves nothing. A *forced
alignment* does not guess what was said: it is told the transcript and finds where each word of
it sits in the audio, with an acoustic model (CMU PocketSphinx en-us, an HMM/GMM recogniser that
ships inside its pip package). The first word's start and the last word's end are where the
speech starts and ends; breaths, clicks and hum before and after fall into the aligner's
silence/noise states, not into a word. So the truth comes from *what was read*, not from a level
threshold — and not from any trimmer being tested.

:func:`align_words` returns every word with its start and end; :func:`speech_bounds` the first
and last word's edges (10 ms frames). :func:`plot_alignment` draws the waveform, spectrogram and
word boundaries, for a person to check a few alignments by eye.

What was looked at to trust it (issue 15): level curves, waveforms and the aligned words around the first and
last word of the home reader's misses, one take at a time. Unpadded, 35 of 137 takes had their last word
stretched to the very end of the file, into 0.1-0.3 s of quiet tail (the aligner had no room for its closing
silence); padded (:data:`PAD_S`), the end sits where the level falls steeply, and the bounds move by at most 20 ms
on 93 % of the takes between two pad levels (1e-4 and 3e-4 RMS). Cut 0.12 s after the last word, a take keeps its
end (tested). Fading ends remain uncertain by a few tens of ms: the same speech with louder room tone laid under
it moves the aligner's ends by more than 50 ms on some takes, and changes nobody would hear
(:func:`perturbed_bounds`: 5-15 ms cut from the start, 6 dB quieter, -70 dBFS of white noise under it) move them
by more than 50 ms on 17 % of the home reader's test takes. ``benchmarks/bench_trim_real_misses.png`` shows every
edge where the default trim and this truth disagree, for a person to judge.

The truth is only as good as the aligner: on clear read speech word edges are typically within
one or two 10 ms frames of a human label; a word missing from the pronouncing dictionary is
dropped from the text it aligns (reported in ``oov``), and when the *first or last* word is
missing the take has no truth at all (``speech_bounds`` returns ``None``) rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
FRAME_S = 0.01  # PocketSphinx's frame rate: 100 frames per second
FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"})
#: Quiet put before and after the take for the aligner only (seconds, RMS): a take that ends (or starts) within a
#: few frames of its speech leaves the aligner's silence model no room, and the last word then stretches to the
#: end of the file (measured: 35 of 137 home-reader takes ended exactly at the file's end; padded, 1 — a take cut
#: mid-word). Seeded white noise about -70 dBFS, not digital silence (zeros give the cepstral features nothing to
#: normalise, and the ends moved by up to 100 ms more). Times are reported on the take's own clock, clipped to it.
PAD_S = 0.5
PAD_RMS = 3e-4

#: The last word's end may differ from Whisper's own last-word timestamp by at most this much (seconds) for the
#: alignment to count as a truth (:func:`checked_speech_bounds`).
END_AGREEMENT_S = 0.5

__all__ = ["Alignment", "align_words", "speech_bounds", "perturbed_bounds", "PERTURBATIONS", "ends_agree",
           "checked_speech_bounds", "words_for_alignment", "plot_alignment", "END_AGREEMENT_S"]


@dataclass
class Alignment:
    """Word segments of one utterance: ``words`` = [(word, start_s, end_s)], plus what could not be aligned."""

    words: list[tuple[str, float, float]]
    fillers: list[tuple[str, float, float]] = field(default_factory=list)
    oov: list[str] = field(default_factory=list)
    text: str = ""
    first_last_aligned: bool = True  # False: the first or last word of the transcript was not in the dictionary

    @property
    def start_s(self) -> float | None:
        return self.words[0][1] if self.words and self.first_last_aligned else None

    @property
    def end_s(self) -> float | None:
        return self.words[-1][2] if self.words and self.first_last_aligned else None


@lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    from .models import packaged

    root = Path(packaged("pocketsphinx-en-us"))
    if (root / "en-us").is_dir() and (root / "en-us" / "en-us.lm.bin").exists():
        root = root / "en-us"
    return Decoder(hmm=str(root / "en-us"), dict=str(root / "cmudict-en-us.dict"), lm=None,
                   samprate=SAMPLE_RATE, loglevel="FATAL")


def words_for_alignment(text: str) -> tuple[list[str], list[str], bool]:
    """The transcript as dictionary words: ``(words, oov, first_and_last_known)``.

    The text goes through the series' one normaliser (:func:`helpers.metrics.normalize_for_wer`:
    numbers and abbreviations spelled as read, lowercase, no punctuation). A hyphenated or
    possessive form missing from the dictionary is tried without its apostrophe; words still
    missing are dropped (listed in ``oov``).
    """
    from .metrics import normalize_for_wer

    dec = _decoder()
    tokens = normalize_for_wer(text).split()
    words, oov, known = [], [], []
    for tok in tokens:
        for cand in (tok, tok.replace("'", "")):
            if dec.lookup_word(cand) is not None:
                words.append(cand)
                known.append(True)
                break
        else:
            oov.append(tok)
            known.append(False)
    ok = bool(known) and known[0] and known[-1]
    return words, oov, ok


def align_words(audio: np.ndarray, text: str, sr: int = SAMPLE_RATE) -> Alignment:
    """Force-align ``text`` to ``audio`` (mono; resampled to 16 kHz if needed) with PocketSphinx.

    Returns the words with their times in seconds, the filler segments (silence, noise) and the
    words the dictionary does not know.
    """
    from .audio import resample

    x = resample(np.asarray(audio, dtype=np.float32), sr, SAMPLE_RATE) if sr != SAMPLE_RATE else audio
    words, oov, ok = words_for_alignment(text)
    if not words:
        return Alignment([], [], oov, text, False)
    dec = _decoder()
    dur = len(x) / SAMPLE_RATE
    n_pad = int(PAD_S * SAMPLE_RATE)
    pad = np.random.default_rng(0).standard_normal((2, n_pad)) * PAD_RMS
    xp = np.concatenate([pad[0], np.asarray(x, dtype=np.float64), pad[1]])
    pcm = (np.clip(xp, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    body = " ".join(words)
    # Explicit silence at both ends (the pad gives it room): without it the aligner's grammar makes the first word
    # start at frame 0. Should the aligner still find no path, try without.
    for grammar in (f"<sil> {body} <sil>", f"<sil> {body}", f"{body} <sil>", body):
        dec.set_align_text(grammar)
        dec.start_utt()
        dec.process_raw(pcm, no_search=False, full_utt=True)
        dec.end_utt()
        found = list(dec.seg() or [])
        if found:
            break
    segs, fill = [], []
    for seg in found:
        start = min(max(seg.start_frame * FRAME_S - PAD_S, 0.0), dur)
        item = (seg.word, start, min(max((seg.end_frame + 1) * FRAME_S - PAD_S, start), dur))
        (fill if seg.word in FILLERS else segs).append(item)
    return Alignment(segs, fill, oov, text, ok and len(segs) == len(words))


def speech_bounds(audio: np.ndarray, text: str, sr: int = SAMPLE_RATE) -> tuple[float, float] | None:
    """``(start_s, end_s)`` of the transcript's first and last word in ``audio``; ``None`` when the
    alignment cannot say (first/last word not in the dictionary, or the aligner found no words)."""
    al = align_words(audio, text, sr)
    if al.start_s is None or al.end_s is None or al.end_s <= al.start_s:
        return None
    return al.start_s, al.end_s


#: Changes to a take that a listener would not notice, for :func:`perturbed_bounds`: (name, samples cut from the
#: start at 16 kHz, gain, RMS of white noise laid under the take). A truth worth measuring a trimmer against should
#: not move under them.
PERTURBATIONS = (("5 ms later", 80, 1.0, 0.0), ("10 ms later", 160, 1.0, 0.0), ("15 ms later", 240, 1.0, 0.0),
                 ("6 dB quieter", 0, 0.5, 0.0), ("white noise at -70 dBFS under it", 0, 1.0, PAD_RMS))


def perturbed_bounds(audio: np.ndarray, text: str, seed: int = 0) -> dict[str, tuple[float, float] | None]:
    """:func:`speech_bounds` of ``audio`` (16 kHz) after each of :data:`PERTURBATIONS`, on the take's own clock.

    How far the aligned edges move under changes nobody would hear — the first 5, 10 or 15 ms cut off
    (PocketSphinx's 10 ms frames fall elsewhere), the take 6 dB quieter, white noise at -70 dBFS (the level of the
    aligner's own pad) laid under it — says how far the truth itself can be trusted, with no trimmer involved.
    """
    x = np.asarray(audio, dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = {}
    for name, cut, gain, noise in PERTURBATIONS:
        y = x[cut:] * gain
        if noise:
            y = y + (rng.standard_normal(y.size) * noise).astype(np.float32)
        b = speech_bounds(y, text)
        out[name] = None if b is None else (b[0] + cut / SAMPLE_RATE, b[1] + cut / SAMPLE_RATE)
    return out


def ends_agree(audio: np.ndarray, bounds: tuple[float, float], listener, sr: int = SAMPLE_RATE,
               tolerance_s: float = END_AGREEMENT_S) -> bool:
    """Whether a second, independent recogniser agrees with ``bounds`` (from :func:`speech_bounds`) on where
    the speech ends.

    A forced aligner must place every word of the transcript somewhere. When it loses its way — a word it lacks
    dropped from the middle ("Subiaco"), a slowly drawn-out last word — it can squeeze the last words into the
    middle of the take and end the "speech" a second early (seen on the home reader: LJ001-0066 ends 0.9 s and
    LJ003-0002 1.2 s before the voice does; Whisper, the level and the ear all put the last word later). So the
    aligner's end is checked against Whisper tiny.en's own last-word timestamp (``listener``: a
    :class:`helpers.takecheck.Listener`, :meth:`~helpers.takecheck.Listener.words`): more than ``tolerance_s``
    (0.5 s, about twice Whisper's usual timestamp error; the median difference on the home reader is 60 ms)
    apart, they disagree. Whisper's *first*-word timestamps are not used: they habitually start in the lead-in
    silence (0.3-1 s early on this reader)."""
    from .audio import resample

    x = resample(np.asarray(audio, dtype=np.float32), sr, SAMPLE_RATE) if sr != SAMPLE_RATE else audio
    words = listener.words(x)
    return bool(words) and abs(bounds[1] - float(words[-1][1])) <= tolerance_s


def checked_speech_bounds(audio: np.ndarray, text: str, listener, sr: int = SAMPLE_RATE,
                          tolerance_s: float = END_AGREEMENT_S) -> tuple[float, float] | None:
    """:func:`speech_bounds`, kept only where Whisper agrees on where the speech ends (:func:`ends_agree`);
    else ``None``: the take has no truth."""
    b = speech_bounds(audio, text, sr)
    if b is None or not ends_agree(audio, b, listener, sr, tolerance_s):
        return None
    return b


def plot_alignment(audio: np.ndarray, sr: int, alignment: Alignment, title: str = "", bounds=None, ax=None,
                   window_s: float | None = None):
    """Waveform (top) and spectrogram (bottom) with the aligned words; ``bounds``: extra
    ``{label: (start_s, end_s)}`` lines (e.g. what a trimmer found) to compare by eye."""
    import matplotlib.pyplot as plt

    fig, (a0, a1) = plt.subplots(2, 1, figsize=(12, 4.5), sharex=True) if ax is None else (ax[0].figure, ax)
    t = np.arange(len(audio)) / sr
    a0.plot(t, audio, lw=0.3, color="0.3")
    a1.specgram(audio + 1e-7, NFFT=512, Fs=sr, noverlap=384, cmap="magma", vmin=-140)
    a1.set_ylim(0, min(8000, sr / 2))
    for w, s, e in alignment.words:
        a0.axvspan(s, e, color="tab:green", alpha=0.08)
        a0.text((s + e) / 2, a0.get_ylim()[1] * 0.85 if a0.get_ylim()[1] else 0, w, fontsize=6, ha="center")
    if alignment.start_s is not None:
        for a in (a0, a1):
            a.axvline(alignment.start_s, color="lime", lw=1.2, label="aligned first/last word")
            a.axvline(alignment.end_s, color="lime", lw=1.2)
    colors = iter(["tab:red", "tab:blue", "tab:orange", "tab:purple"])
    for label, (s, e) in (bounds or {}).items():
        c = next(colors)
        for a in (a0, a1):
            a.axvline(s, color=c, lw=1, ls="--", label=label if a is a0 else None)
            a.axvline(e, color=c, lw=1, ls="--")
    a0.legend(fontsize=7, loc="upper right")
    a0.set_title(title)
    a1.set_xlabel("time (s)")
    if window_s:
        a1.set_xlim(*window_s)
    fig.tight_layout()
    return fig
