"""Real human recordings for measuring the series: where they are, a fixed dev/test split, and test takes.

Why this module exists
----------------------
Every figure the series first quoted was measured on its bundled synthetic voices, and the trim was
tuned on the very takes that measured it. This module gives tests and benchmarks real speech to
measure on, the same way everywhere:

* :func:`root` — the real-speech folder (``$SPEECHLAB_REALSPEECH``, else ``<repo>/../shared/realspeech``);
  ``None`` when absent (then tests skip, and say why). It is read only; nothing of it is copied
  into the project (it is not ours to commit).
* ``homereader/`` — one real person reading 141 LJSpeech sentences at home (44.1 kHz, a quiet room
  with a low hum, breaths and clicks before some takes). :func:`homereader_rows`.
* ``fsdd/`` — Free Spoken Digit Dataset: 6 real speakers x 500 spoken digits, 8 kHz. :func:`fsdd_rows`.
* :func:`split` — a **fixed dev/test split of the home reader's ids** by a hash of the id (about a third
  dev). Any setting of a trimmer is chosen on ``dev``; every figure the series reports is measured on
  ``test``. The rule, not a list, is the record: it gives the same split on every machine.
* :func:`embedded_takes` — clean real speech put into 0.2–2 s of *real* room tone at both ends (taken
  from quiet stretches of the home reader's own takes, never white noise), at several noise levels,
  some with a breath-like sound before the speech; each with its true speech bounds.

Anyone can reproduce the figures with public corpora in the same layouts: LJSpeech-style folders of a
home reader (e.g. the dc_tts repository's own recordings, or any LJSpeech-format reading) and the Free
Spoken Digit Dataset (github.com/Jakobovski/free-spoken-digit-dataset).
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
DEV_SHARE = 1 / 3
# noise gains for the embedded takes, relative to the room tone as recorded (about -77 dB in the speech band):
# as recorded, 15 dB and 30 dB louder (a quiet flat, a fan, a noisy room).
NOISE_GAINS_DB = (0.0, 15.0, 30.0)

__all__ = ["root", "homereader_rows", "fsdd_rows", "split", "RealTake", "room_tone", "embedded_takes", "breath_like",
           "audible_bounds", "audible_ceiling", "share_interval",
           "paired_share_difference", "SKIP_REASON"]

SKIP_REASON = ("real speech not found: set SPEECHLAB_REALSPEECH or put the corpus at <repo>/../shared/realspeech "
               "(homereader/ in LJSpeech layout + fsdd/; see helpers/realspeech.py)")


def root() -> Path | None:
    """The real-speech folder, or ``None`` when it is not on this machine."""
    env = os.environ.get("SPEECHLAB_REALSPEECH")
    p = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "realspeech"
    return p if (p / "homereader").is_dir() else None


def _need_root() -> Path:
    r = root()
    if r is None:
        raise FileNotFoundError(SKIP_REASON)
    return r


def split(take_id: str, dev_share: float = DEV_SHARE) -> str:
    """``"dev"`` or ``"test"`` for a take id: dev when the first 12 hex digits of sha1(id) / 16**12 < dev_share."""
    h = int(hashlib.sha1(Path(take_id).stem.encode()).hexdigest()[:12], 16) / 16 ** 12
    return "dev" if h < dev_share else "test"


def homereader_rows(which: str | None = None) -> list[dict]:
    """The home reader's takes: ``{"id", "path", "text", "split"}``; ``which`` = "dev"/"test" keeps one split."""
    r = _need_root() / "homereader"
    rows = []
    with (r / "prompts.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tid = Path(row["filename"]).stem
            rows.append({"id": tid, "path": str(r / "wavs" / row["filename"]), "text": row["transcript"],
                         "split": split(tid)})
    return [x for x in rows if which is None or x["split"] == which]


def fsdd_rows() -> list[dict]:
    """FSDD's recordings: ``{"id", "path", "text", "speaker"}`` (text: the digit as a word)."""
    r = _need_root() / "fsdd"
    with (r / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        return [{"id": Path(x["filename"]).stem, "path": str(r / "recordings" / x["filename"]),
                 "text": x["transcript"], "speaker": x["speaker"]} for x in csv.DictReader(fh)]


# --------------------------------------------------------------------------------------- test takes

@dataclass
class RealTake:
    """One test take at 16 kHz with its true speech bounds (seconds) and how it was made."""

    id: str
    audio: np.ndarray
    start_s: float
    end_s: float
    kind: str            # "as recorded" | "embedded" | "embedded+breath"
    source: str          # the home reader's take it comes from
    noise_gain_db: float = 0.0
    # the aligned bounds narrowed to where the speech rises above the room tone laid under it (embedded takes:
    # :func:`audible_bounds`); None: the same as start_s / end_s (a take as recorded has nothing laid under it)
    audible_start_s: float | None = None
    audible_end_s: float | None = None

    @property
    def audible(self) -> tuple[float, float]:
        return (self.start_s if self.audible_start_s is None else self.audible_start_s,
                self.end_s if self.audible_end_s is None else self.audible_end_s)

    @property
    def split(self) -> str:
        return split(self.source)

    def miss_ms(self, bounds: tuple[float, float] | None) -> float:
        """How far ``bounds`` (start_s, end_s) are from this take's truth: the larger of the start and end
        differences, in ms; inf for None (no bounds found)."""
        if bounds is None:
            return float("inf")
        return 1000 * max(abs(bounds[0] - self.start_s), abs(bounds[1] - self.end_s))


def room_tone(clips_and_bounds, seconds: float, seed: int = 0, chunk_s: float = 0.05) -> np.ndarray:
    """``seconds`` of real room tone, stitched from the quiet parts of real takes.

    ``clips_and_bounds``: ``[(audio_16k, (speech_start_s, speech_end_s)), ...]``. From each take the
    stretches more than 0.3 s away from its speech are cut into ``chunk_s`` pieces; only pieces at most
    3 dB above the quietest tenth of those stretches, with no 5 ms more than 6 dB above it, are kept (no
    speech, clicks, breaths or bumps), then joined
    in a seeded random order with 5 ms cross-fades.
    """
    n = int(chunk_s * SAMPLE_RATE)
    sub = int(0.005 * SAMPLE_RATE)
    pieces = []
    for audio, (s, e) in clips_and_bounds:
        quiet = [audio[: max(0, int((s - 0.3) * SAMPLE_RATE))], audio[int((e + 0.3) * SAMPLE_RATE):]]
        chunks = np.concatenate([q[: (len(q) // n) * n].reshape(-1, n) for q in quiet if len(q) // n >= 4]
                                or [np.zeros((0, n), np.float32)]).astype(np.float64)
        if len(chunks) < 4:  # less than 0.2 s away from the speech: too close to be sure it is only the room
            continue
        chunks -= chunks.mean(axis=1, keepdims=True)
        lv = 10 * np.log10(np.mean(chunks ** 2, axis=1) + 1e-14)
        # the floor from the quiet stretches themselves (a take with little silence would otherwise put its
        # floor in the pauses of the speech); a chunk with any 5 ms louder than 6 dB over that floor holds a
        # click, a bump or a word the transcript does not have, and a 30 dB louder copy of it would be no room tone
        floor = float(np.percentile(lv, 10))
        peak = 10 * np.log10(np.max(np.mean(chunks.reshape(len(chunks), -1, sub) ** 2, axis=2), axis=1) + 1e-14)
        keep = chunks[(lv <= floor + 3.0) & (peak <= floor + 6.0)]
        pieces += [c.astype(np.float32) for c in keep]
    if not pieces:
        raise ValueError("no quiet stretches found in the given takes to make room tone from")
    rng = np.random.default_rng(seed)
    need = int(seconds * SAMPLE_RATE) + n
    fade = int(0.005 * SAMPLE_RATE)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    out = np.zeros(0, dtype=np.float32)
    while out.size < need:
        p = pieces[int(rng.integers(len(pieces)))].astype(np.float32)
        if out.size:
            out[-fade:] = out[-fade:] * ramp[::-1] + p[:fade] * ramp
            out = np.concatenate([out, p[fade:]])
        else:
            out = p.copy()
    return out[: int(seconds * SAMPLE_RATE)]


def breath_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A breath-like sound: noise shaped like an inhalation (energy 500–3500 Hz, a soft rise and fall), unit RMS."""
    from scipy.signal import butter, sosfilt

    n = int(seconds * SAMPLE_RATE)
    x = rng.standard_normal(n + 2048)
    x = sosfilt(butter(2, [500, 3500], btype="band", fs=SAMPLE_RATE, output="sos"), x)[2048:]
    env = np.sin(np.linspace(0, np.pi, n)) ** 1.5
    y = x * env
    return (y / np.sqrt(np.mean(y ** 2) + 1e-12)).astype(np.float32)


AUDIBLE_FRAME_S = 0.01


def audible_bounds(speech: np.ndarray, noise: np.ndarray, start_s: float, end_s: float,
                   depth_db: float = 45.0) -> tuple[float, float]:
    """The aligned bounds ``(start_s, end_s)`` narrowed to the part of ``speech`` that rises above ``noise``.

    ``speech`` and ``noise`` are the two parts of one embedded take, on its clock, before they are summed (16 kHz).
    The rule is the bundled sample's own (``scripts/make_sample_data.speech_bounds``): 10 ms frames in the speech
    band, a frame is audible when the speech's energy is within ``depth_db`` of its loudest frame and above the
    noise's median in-band energy. The first and last audible frame *inside* the aligned bounds give the new
    bounds: a fading "s" that sinks under a loud room is part of the word for the aligner, but no listener and no
    trimmer can find it under that room. It is measured on the separate parts, never on the take a trimmer sees.
    """
    from .audio import frame_energy_db, speech_band

    ms = 1000 * AUDIBLE_FRAME_S   # non-overlapping 10 ms frames of the speech band (audio.speech_band), in dB
    _, es = frame_energy_db(speech_band(speech, SAMPLE_RATE), SAMPLE_RATE, ms, ms)
    _, en = frame_energy_db(speech_band(noise, SAMPLE_RATE), SAMPLE_RATE, ms, ms)
    floor = max(float(np.median(en)), float(es.max()) - depth_db)
    idx = np.arange(len(es))
    inside = (idx * AUDIBLE_FRAME_S + AUDIBLE_FRAME_S > start_s) & (idx * AUDIBLE_FRAME_S < end_s)
    loud = np.flatnonzero(inside & (es > floor))
    if not loud.size:
        return start_s, end_s
    return max(start_s, loud[0] * AUDIBLE_FRAME_S), min(end_s, (loud[-1] + 1) * AUDIBLE_FRAME_S)


def audible_ceiling(takes: list[RealTake], tol_ms: float = 50.0) -> dict:
    """What a trimmer that found *exactly the audible speech* would score against the aligned truth: the share of
    ``takes`` whose audible bounds (:attr:`RealTake.audible`) lie within ``tol_ms`` of the aligned bounds at both
    ends; in all (``"all"``), for the embedded takes (``"embedded"``) and per kind and noise gain.

    No trimmer is run: it is a property of the truth and of the room tone laid under the speech. Under a loud room
    the first and last tens of milliseconds of a take sink under the tone; the aligner, which saw the clean speech,
    still counts them, and no trimmer that listens to the take can find them. Takes as recorded count as reachable
    (their audible truth is the aligned one).
    """
    ok, cells = [], []
    for t in takes:
        ok.append(t.miss_ms(t.audible) <= tol_ms + 1e-6)
        cells.append(t.kind if t.kind == "as recorded" else f"{t.kind} {t.noise_gain_db:+.0f} dB")
    ok_a, cells_a = np.array(ok, dtype=bool), np.array(cells)
    emb = cells_a != "as recorded"
    return {"all": round(float(ok_a.mean()), 3) if ok else None,
            "embedded": round(float(ok_a[emb].mean()), 3) if emb.any() else None,
            "by_kind_and_gain": {str(c): round(float(ok_a[cells_a == c].mean()), 3) for c in sorted(set(cells))}}


def _per_source(groups, *oks) -> list[np.ndarray]:
    """Hits per source (one array per ``oks``), then the takes per source."""
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    return [np.bincount(inv, weights=np.asarray(ok, dtype=float)) for ok in oks] + [np.bincount(inv).astype(float)]


def share_interval(ok, groups, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a share (``ok``: one bool per take), resampling whole ``groups`` (the
    source take: a take as recorded and the embedded takes made from it go in and out together, as they share
    their speech). With 90 sources, one more or one fewer hit moves a share by about a point; which 90 sentences
    were read moves it by several: the interval says how many. (:func:`helpers.metrics.bootstrap_ratio` of hits
    over takes per source.)"""
    from .metrics import bootstrap_ratio

    lo, hi = bootstrap_ratio(*_per_source(groups, ok), n_boot=n_boot, seed=seed, level=level)
    return round(lo, 3), round(hi, 3)


def paired_share_difference(ok_a, ok_b, groups, n_boot: int = 2000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float, float]:
    """share(b) - share(a) on the same takes, and its paired bootstrap interval (the same resampled source takes for
    both): ``(difference, low, high)``. Is one trimmer really ahead of another, or did it win a few sentences?"""
    from .metrics import paired_bootstrap_ratio

    d, lo, hi = paired_bootstrap_ratio(*_per_source(groups, ok_a, ok_b), n_boot=n_boot, seed=seed, level=level)
    return round(d, 3), round(lo, 3), round(hi, 3)


def embedded_takes(sources: list[tuple[str, np.ndarray, tuple[float, float]]], tone_from=None, seed: int = 0,
                   keep_s: float = 0.1, gains_db=NOISE_GAINS_DB, breath_every: int = 2) -> list[RealTake]:
    """Clean real speech in real room tone: one new take per source, with known speech bounds.

    ``sources``: ``[(id, audio_16k, (true_start_s, true_end_s)), ...]`` (truth from
    :func:`helpers.align.speech_bounds`). Each source's speech, with ``keep_s`` of its own audio on
    each side (so onsets stay natural), is put between a lead and a tail of 0.2–2 s, and room tone
    (:func:`room_tone`, from ``tone_from``, default the sources themselves) is laid under the whole
    take at a gain cycling through ``gains_db``. Every ``breath_every``-th take also gets a
    breath-like sound (0.25–0.45 s, 30–40 dB below the speech's loudest 30 ms) ending 0.15–0.4 s
    before the speech. The truth moves with the speech; it is never measured on the new take.
    Each take also carries the *audible* part of that truth (:func:`audible_bounds`, from the speech and
    the room tone before they are summed).
    """
    rng = np.random.default_rng(seed)
    tone_src = [(a, b) for _, a, b in (tone_from or sources)]
    out = []
    for k, (tid, audio, (s, e)) in enumerate(sources):
        a, b = max(0, int((s - keep_s) * SAMPLE_RATE)), min(len(audio), int(np.ceil((e + keep_s) * SAMPLE_RATE)))
        speech = audio[a:b].astype(np.float32)
        lead, tail = rng.uniform(0.2, 2.0, size=2)
        nl, nt = int(lead * SAMPLE_RATE), int(tail * SAMPLE_RATE)
        x = np.concatenate([np.zeros(nl, np.float32), speech, np.zeros(nt, np.float32)])
        gain = float(gains_db[k % len(gains_db)])
        tone = room_tone(tone_src, len(x) / SAMPLE_RATE + 0.01, seed=seed * 1000 + k)[: len(x)] * 10 ** (gain / 20)
        start, end = lead + (s - a / SAMPLE_RATE), lead + (e - a / SAMPLE_RATE)
        heard = audible_bounds(x, tone, start, end)
        x = x + tone
        kind = "embedded"
        if breath_every and k % breath_every == breath_every - 1:
            dur, gap = rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.4)
            peak = np.max(np.convolve(speech.astype(np.float64) ** 2, np.ones(480) / 480, mode="valid"))
            level = np.sqrt(peak) * 10 ** (-rng.uniform(30, 40) / 20)
            br = breath_like(dur, rng) * level
            i = int((start - gap - dur) * SAMPLE_RATE)
            if i >= 0:
                x[i:i + br.size] += br
                kind = "embedded+breath"
        out.append(RealTake(f"{tid}~{kind}~{gain:+.0f}dB", x.astype(np.float32), float(start), float(end), kind, tid,
                            gain, float(heard[0]), float(heard[1])))
    return out
