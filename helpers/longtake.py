"""One long recording -> one take per prompt.

Why this module exists
----------------------
Many people record the whole prompt list in one Audacity session instead of one file per prompt. This module
cuts such a recording into takes named after their prompts, so prep can read them like any other folder::

    python -m helpers.longtake --recording session.wav --prompts prompts.csv --out my_takes/

How
---
1. **Silence** splits the recording into speech *chunks*: frame levels in the speech band against the room's
   noise floor (the series' energy method, :func:`helpers.audio.energy_threshold`); a gap of at least
   ``min_gap_s`` of room tone separates two chunks, and a chunk must come within ``SPEECH_RANGE_DB`` of the
   session's loud speech (louder room tone, a breath, a click do not). A sentence with a comma pause is
   several chunks.
2. **Pauses inside a chunk**: a quarter second ``VALLEY_DROP_DB`` below the chunk's loud frames
   (:func:`split_at_valleys`), or a pause of at least ``WORD_GAP_S`` between two of Whisper's words
   (:func:`split_at_word_gaps`), splits it: room tone that changes between readings (louder in one stretch than
   the floor around it) otherwise joins two readings into one chunk, and the alignment must then give one
   reading's words to another. **Whisper word timestamps** (tiny.en, offline) say which words each chunk holds;
   a chunk Whisper skipped is transcribed on its own.
3. **Alignment**: a dynamic programme groups consecutive chunks into readings and gives each group a prompt
   (in order; a prompt may be skipped, read again, or a group may be extra speech that matches no prompt),
   minimising word edit distance (after the series' one WER normaliser) plus small costs for skips, repeats
   and extra words.
4. **Boundaries**: the piece written is cut at the middle of the pauses around the reading (at most 1 s beyond
   its chunks), and its speech edges are the series' own trimmer's (:func:`speech_edges`:
   :func:`helpers.audio.trim_bounds` on that piece), so prep's trim and pad apply to it as to any take.

Measured (``benchmarks/bench_longtake.py``): the home reader's held-out takes joined with real room tone, truth
from forced alignment (checked against Whisper's last word): 40 prompts 97.4 % of speech edges within 100 ms,
12 prompts 95.5 %, every read prompt found and attributed right (the splitter before: 67.9 % and 90.9 %).

When a prompt is read more than once, the **last** reading is kept (people re-read after a slip) and the
others are reported. The raw recording is only read; the output folder is written whole and atomically
(:func:`helpers.files.atomic_dir`), and a re-run replaces it only if it is one this module wrote.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import audio as A
from .files import atomic_dir

__all__ = ["Reading", "LongTakeResult", "speech_chunks", "split_at_valleys", "split_at_word_gaps", "speech_edges", "align_chunks", "split_long_recording", "benchmark", "main"]

SR = A.TARGET_SR
REPORT_FILE = "longtake_report.json"
SKIP_COST = 3.0        # a prompt nobody read
REPEAT_COST = 1.0      # a prompt read again
EXTRA_COST = 1.0       # per word of speech that belongs to no prompt (plus one per extra group)
EDIT_COST = 2.0        # per word edit between a reading and its prompt: a group that differs from a prompt in
                       # more than about half its words is cheaper as extra speech + a skipped prompt
MAX_GROUP_CHUNKS = 12
ATTACH_GAP_S = 0.3     # a wordless chunk this close to a reading's edge belongs to it
WORD_GAP_S = 0.3       # a pause this long between two of Whisper's words splits a chunk (see split_at_word_gaps)
MAX_SKIP = 3
SPEECH_RANGE_DB = 30.0  # speech reaches within this of the session's loud frames (speech_chunks)
VALLEY_DROP_DB = 25.0  # a quarter second this far below a chunk's loud frames is a pause (split_at_valleys)
BEAM = 40.0            # alignment states costing this much more than the best at the same point are dropped


class LongTakeError(Exception):
    """Bad input (file not found, prompts missing, output folder not ours); says what to do."""


@dataclass
class Reading:
    """One group of chunks and what it was matched to."""

    prompt_index: int | None          # None: extra speech
    start_s: float                    # speech edges in the recording
    end_s: float
    cut_start_s: float                # where the piece is cut (middle of the pauses around it)
    cut_end_s: float
    heard: str
    wer: float | None
    kept: bool = True
    name: str = ""


@dataclass
class LongTakeResult:
    readings: list[Reading]
    prompts: list[str]
    names: list[str]
    found: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    extra: list[tuple[float, float]] = field(default_factory=list)
    out_dir: Path | None = None

    @property
    def kept(self) -> list[Reading]:
        return [r for r in self.readings if r.kept and r.prompt_index is not None]

    def summary(self) -> str:
        n = len(self.prompts)
        s = f"{len(self.found)} of {n} prompts found"
        if self.missing:
            s += f"; missing: {', '.join(self.names[i] for i in self.missing)}"
        if self.repeated:
            s += f"; read more than once (last reading kept): {', '.join(self.names[i] for i in self.repeated)}"
        if self.extra:
            s += f"; {len(self.extra)} stretch(es) of extra speech (" + ", ".join(
                f"{a:.1f}-{b:.1f} s" for a, b in self.extra) + ")"
        return s


# --------------------------------------------------------------------------------------- 1. chunks

def local_floor_db(level: np.ndarray, hop_ms: float, window_s: float = 8.0, percentile: float = 5.0) -> np.ndarray:
    """The room's noise floor around each frame: the ``percentile``-th frame level within ``window_s``.

    A long session drifts (the fridge starts, the reader moves), so one floor for the whole file would call
    a noisier stretch of room tone speech; a floor a few seconds wide follows it and still sees enough pauses.
    """
    per = max(1, int(round(window_s * 1000 / hop_ms)))
    step = max(1, per // 8)
    centres = np.arange(0, level.size, step)
    vals = np.array([np.percentile(level[max(0, c - per // 2): c + per // 2 + 1], percentile) for c in centres])
    return np.interp(np.arange(level.size), centres, vals)


def band_levels(audio: np.ndarray, sr: int = SR, hop_ms: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(frame centres in s, speech-band level in dB) of 30 ms frames every ``hop_ms``: what the splitter's three
    stages read (:func:`speech_chunks`, :func:`split_at_valleys`, :func:`split_at_word_gaps`); computed once
    per session by :func:`split_long_recording` and handed to each as ``frames``."""
    return A.frame_energy_db(A.speech_band(audio, sr), sr, frame_ms=30.0, hop_ms=hop_ms)


def speech_chunks(audio: np.ndarray, sr: int = SR, margin_db: float = 6.0, edge_margin_db: float = 3.0,
                  min_gap_s: float = 0.2, min_chunk_s: float = 0.08, hop_ms: float = 10.0,
                  below_speech_db: float = SPEECH_RANGE_DB,
                  frames: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches of speech, separated by at least ``min_gap_s`` of room tone.

    Two thresholds above the local noise floor (:func:`local_floor_db`), as in hysteresis thresholding: a
    stretch is speech if it rises ``margin_db`` (6 dB) above the floor somewhere — room tone wanders by a few
    dB, so a blip of it must not count — *and* within ``below_speech_db`` (30 dB) of the session's loud speech
    (its 95th-percentile frame level): in a quiet room a louder stretch of room tone, a breath or a click rises
    well over 6 dB but stays far below the voice (and Whisper, fed room tone, hears "now, now" in it). Its edges
    are where it falls back below ``edge_margin_db`` (3 dB, the series' trimmer margin: the faint ends of words).
    """
    times, level = frames if frames is not None else band_levels(audio, sr, hop_ms)
    floor = local_floor_db(level, hop_ms)
    loud = float(np.percentile(level, 95)) - below_speech_db
    high = level > np.maximum(np.maximum(floor + margin_db, loud), float(level.max()) - 60.0)
    low = level > np.maximum(floor + edge_margin_db, float(level.max()) - 60.0)
    # hysteresis: a stretch above the low threshold is speech if it reaches the high one somewhere
    runs = [(a, b) for a, b in A._runs(low) if high[a:b].any()]
    half = 0.015
    spans = [(max(0.0, float(times[a]) - half), min(len(audio) / sr, float(times[b - 1]) + half)) for a, b in runs]
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s - merged[-1][1] < min_gap_s:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged if e - s >= min_chunk_s]


# --------------------------------------------------------------------------------------- 2. words

def split_at_word_gaps(audio: np.ndarray, chunks: list[tuple[float, float]], words: list[tuple[float, float, str]],
                       sr: int = SR, min_gap_s: float = WORD_GAP_S, hop_ms: float = 10.0,
                       frames: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[float, float]]:
    """Split a chunk where Whisper heard a pause of at least ``min_gap_s`` between two words in it.

    Room tone louder than the floor around it (another room, a fan that starts) joins two readings into one
    chunk; the words' timestamps still show the pause. The chunk is cut at the quietest stretch of the gap:
    the frames within 6 dB of the gap's quietest one (the longest such run), the new edges at its ends.
    """
    if not words:
        return chunks
    times, level = frames if frames is not None else band_levels(audio, sr, hop_ms)
    out: list[tuple[float, float]] = []
    for s, e in chunks:
        inside = [w for w in words if min(e, w[1]) - max(s, w[0]) > 0 or s <= (w[0] + w[1]) / 2 <= e]
        start = s
        for w1, w2 in zip(inside, inside[1:]):
            g0, g1 = max(w1[1], start), min(w2[0], e)
            if g1 - g0 < min_gap_s:
                continue
            idx = np.flatnonzero((times >= g0) & (times <= g1))
            if idx.size < 3:
                continue
            quiet = level[idx] <= level[idx].min() + 6.0
            runs = A._runs(quiet)
            a, b = max(runs, key=lambda r: r[1] - r[0])
            p0, p1 = float(times[idx[a]]), float(times[idx[b - 1]])
            if p0 - start >= 0.05:
                out.append((start, p0))
            start = p1
        out.append((start, e))
    return [(a, b) for a, b in out if b - a >= 0.05]


def split_at_valleys(audio: np.ndarray, chunks: list[tuple[float, float]], sr: int = SR,
                     drop_db: float = VALLEY_DROP_DB, min_len_s: float = 0.25, hop_ms: float = 10.0,
                     frames: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[float, float]]:
    """Split a chunk at every stretch of at least ``min_len_s`` that stays ``drop_db`` (25 dB) below the
    chunk's own loud frames (its 90th-percentile level).

    When the pause between two readings is filled with room tone louder than the floor a few seconds around
    it (a fan, another room), :func:`speech_chunks` sees no pause and Whisper's timestamps often smear a word
    across it. Inside one sentence the voice never stays that far down for a quarter of a second except at a
    pause (stop closures last well under 100 ms), so cutting there only ever cuts at a pause: a comma's pause
    inside a reading is harmless, the alignment groups the pieces again.
    """
    times, level = frames if frames is not None else band_levels(audio, sr, hop_ms)
    min_frames = int(round(min_len_s * 1000 / hop_ms))
    out: list[tuple[float, float]] = []
    for s, e in chunks:
        idx = np.flatnonzero((times >= s) & (times <= e))
        if idx.size < 2 * min_frames:
            out.append((s, e))
            continue
        quiet = level[idx] < np.percentile(level[idx], 90) - drop_db
        start = s
        for a, b in A._runs(quiet):
            if b - a >= min_frames and a > 0 and b < idx.size:
                out.append((start, float(times[idx[a]])))
                start = float(times[idx[b - 1]])
        out.append((start, e))
    return [(a, b) for a, b in out if b - a >= 0.05]


def speech_edges(audio: np.ndarray, cut_s: float, cut_e: float, fallback: tuple[float, float],
                 sr: int = SR) -> tuple[float, float]:
    """Where speech starts and ends in the piece ``[cut_s, cut_e]`` (seconds in the recording): the series'
    own trimmer (:func:`helpers.audio.trim_bounds`, the default method: the one notebook 01 uses, measured on
    real takes in ``benchmarks/bench_trim_real.py``) run on the piece, not a second set of thresholds.
    ``fallback`` (the chunks' edges) when the trimmer finds no speech in it."""
    piece = audio[int(cut_s * sr): int(cut_e * sr)]
    if piece.size < int(0.1 * sr):
        return fallback
    b = A.trim_bounds(piece, sr)
    if not b.found:
        return fallback
    return cut_s + b.start_s, cut_s + b.end_s


def _words_by_chunk(audio: np.ndarray, chunks: list[tuple[float, float]], listener,
                    words: list[tuple[float, float, str]] | None = None) -> list[list[str]]:
    """Normalised words heard in each chunk (Whisper word timestamps; chunks it skipped heard alone)."""
    from .metrics import normalize_for_wer

    if words is None:
        words = listener.words(audio)
    starts = np.array([c[0] for c in chunks])
    ends = np.array([c[1] for c in chunks])
    out: list[list[str]] = [[] for _ in chunks]
    for ws, we, w in words:
        overlap = np.minimum(ends, we) - np.maximum(starts, ws)
        if overlap.max() > 0:
            i = int(overlap.argmax())
        else:  # a word Whisper placed in a pause: the nearest chunk
            i = int(np.argmin(np.minimum(np.abs(starts - we), np.abs(ends - ws))))
        out[i] += normalize_for_wer(w).split()
    for i, (s, e) in enumerate(chunks):
        if not out[i] and e - s >= 0.4:
            enc, _ = listener.encode(audio[int(s * SR): int(e * SR)])
            out[i] = normalize_for_wer(listener.transcribe(enc)).split()
    return out


# --------------------------------------------------------------------------------------- 3. alignment

def _edit(a: Sequence[str], b: Sequence[str]) -> int:
    """Word edit distance."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def align_chunks(chunk_words: list[list[str]], prompt_words: list[list[str]]) -> list[tuple[int, int, int | None]]:
    """Group consecutive chunks and give each group a prompt index (or None: extra speech).

    Returns ``[(first_chunk, end_chunk, prompt_index_or_None), ...]`` covering every chunk that has words,
    prompts in non-decreasing order (equal = read again; jumps = prompts skipped). Chunks without words
    join no group. Cost = EDIT_COST per word edit + SKIP_COST per skipped prompt + REPEAT_COST per repeat + EXTRA_COST
    per extra word and group.
    """
    idx = [i for i, w in enumerate(chunk_words) if w]
    n, p = len(idx), len(prompt_words)
    inf = float("inf")
    # best[k][j + 1]: cost of explaining the first k word-chunks with the last prompt used being j (-1: none)
    best = [[inf] * (p + 1) for _ in range(n + 1)]
    back: list[list[Any]] = [[None] * (p + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for k in range(n):
        floor_k = min(best[k])
        for jj in range(p + 1):
            c0 = best[k][jj]
            if c0 == inf or c0 > floor_k + BEAM:   # beam: a state this far behind the best never wins
                continue
            last = jj - 1
            words: list[str] = []
            for m in range(k, min(n, k + MAX_GROUP_CHUNKS)):
                words = words + chunk_words[idx[m]]
                # extra speech
                c = c0 + EXTRA_COST * (len(words) + 1)
                if c < best[m + 1][jj]:
                    best[m + 1][jj], back[m + 1][jj] = c, (k, jj, None)
                lo = max(last, 0)
                for j in range(lo, min(p, last + MAX_SKIP + 2)):
                    skipped = max(0, j - last - 1)
                    c = c0 + EDIT_COST * _edit(words, prompt_words[j]) + SKIP_COST * skipped + (REPEAT_COST if j == last else 0)
                    if c < best[m + 1][j + 1]:
                        best[m + 1][j + 1], back[m + 1][j + 1] = c, (k, jj, j)
    # prompts never reached at the end are skipped too
    total = [best[n][jj] + SKIP_COST * (p - jj) for jj in range(p + 1)]
    jj = int(np.argmin(total))
    groups, k = [], n
    while k > 0:
        pk, pjj, j = back[k][jj]
        groups.append((idx[pk], idx[k - 1] + 1, j))
        k, jj = pk, pjj
    return groups[::-1]


# --------------------------------------------------------------------------------------- 4. the split

def _safe_name(name: str, i: int) -> str:
    stem = Path(name).stem if name else ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._")
    return stem or f"prompt_{i + 1:03d}"


def split_long_recording(recording: str | Path, prompts: Sequence[str], out_dir: str | Path | None = None,
                         names: Sequence[str] | None = None, listener=None, min_gap_s: float = 0.2,
                         progress: bool = True) -> LongTakeResult:
    """Split one recording of ``prompts`` (read in this order, with pauses) into one take per prompt.

    ``names``: the file name for each prompt (e.g. the prompts table's filename column; default
    ``prompt_001`` ...). With ``out_dir``, writes ``<name>.wav`` per kept reading (original rate and
    channels, cut at the middle of the pauses), ``prompts.csv`` (filename,transcript of the pieces written)
    and ``longtake_report.json``; the folder is replaced whole, atomically, and only if this module wrote it.
    """
    recording = Path(recording)
    if not recording.is_file():
        raise LongTakeError(f"{recording}: recording not found. Pass --recording with your session's WAV/FLAC.")
    prompts = [str(t) for t in prompts]
    if not prompts or not any(t.strip() for t in prompts):
        raise LongTakeError("no prompts given: pass the prompts table the recording reads, in reading order.")
    names = [_safe_name(n, i) for i, n in enumerate(names)] if names else [f"prompt_{i + 1:03d}" for i in range(len(prompts))]
    if len(names) != len(prompts):
        raise LongTakeError(f"{len(names)} names for {len(prompts)} prompts: give one name per prompt.")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise LongTakeError(f"prompt names {dup} repeat: each piece needs its own file name.")
    if out_dir is not None:
        _check_out_dir(recording, Path(out_dir))
    raw, raw_sr = A.load(recording)
    mono = A.resample(A.remove_dc(A.to_mono(raw)), raw_sr, SR)
    if listener is None:
        from .takecheck import Listener

        listener = Listener()
    from .metrics import normalize_for_wer

    frames = band_levels(mono, SR)
    chunks = speech_chunks(mono, SR, min_gap_s=min_gap_s, frames=frames)
    if not chunks:
        raise LongTakeError(f"{recording}: no speech found (the whole file is at the level of its quietest part).")
    words = listener.words(mono)
    chunks = split_at_word_gaps(mono, split_at_valleys(mono, chunks, frames=frames), words, frames=frames)
    chunk_words = _words_by_chunk(mono, chunks, listener, words)
    prompt_words = [normalize_for_wer(t).split() for t in prompts]
    groups = align_chunks(chunk_words, prompt_words)
    total_s = len(mono) / SR
    readings: list[Reading] = []
    for gi, (a, b, j) in enumerate(groups):
        prev_end = groups[gi - 1][1] - 1 if gi > 0 else None
        next_start = groups[gi + 1][0] if gi + 1 < len(groups) else None
        cut_s = (chunks[prev_end][1] + chunks[a][0]) / 2 if prev_end is not None else max(0.0, chunks[a][0] - 0.5)
        cut_e = (chunks[b - 1][1] + chunks[next_start][0]) / 2 if next_start is not None else min(total_s, chunks[b - 1][1] + 0.5)
        cut_s, cut_e = max(cut_s, chunks[a][0] - 1.0), min(cut_e, chunks[b - 1][1] + 1.0)
        start, end = chunks[a][0], chunks[b - 1][1]
        # a wordless chunk just before or after (a soft first syllable, a breath): the trimmer would keep it too
        lo_lim = chunks[prev_end][1] if prev_end is not None else 0.0
        hi_lim = chunks[next_start][0] if next_start is not None else total_s
        for c in range(a - 1, -1, -1):
            if chunk_words[c] or chunks[c][0] <= lo_lim or start - chunks[c][1] > ATTACH_GAP_S:
                break
            start = chunks[c][0]
        for c in range(b, len(chunks)):
            if chunk_words[c] or chunks[c][1] >= hi_lim or chunks[c][0] - end > ATTACH_GAP_S:
                break
            end = chunks[c][1]
        start, end = speech_edges(mono, cut_s, cut_e, (start, end))
        heard = " ".join(w for c in range(a, b) for w in chunk_words[c])
        wer = None
        if j is not None and prompt_words[j]:
            wer = round(_edit(heard.split(), prompt_words[j]) / len(prompt_words[j]), 3)
        readings.append(Reading(j, round(start, 3), round(end, 3), round(cut_s, 3), round(cut_e, 3), heard, wer,
                                name=names[j] if j is not None else ""))
    res = LongTakeResult(readings, prompts, names)
    seen: dict[int, list[Reading]] = {}
    for r in readings:
        if r.prompt_index is None:
            r.kept = False
            res.extra.append((r.start_s, r.end_s))
        else:
            seen.setdefault(r.prompt_index, []).append(r)
    for j, rs in seen.items():
        for r in rs[:-1]:
            r.kept = False
    res.found = sorted(seen)
    res.missing = [j for j in range(len(prompts)) if j not in seen]
    res.repeated = sorted(j for j, rs in seen.items() if len(rs) > 1)
    if out_dir is not None:
        _write(res, raw, raw_sr, recording, Path(out_dir))
    return res


def _check_out_dir(recording: Path, out_dir: Path) -> None:
    rec, out = recording.resolve(), out_dir.resolve()
    if out == rec.parent or out in rec.parents:
        raise LongTakeError(f"{out_dir}: the output folder holds the recording {recording} itself (raw files are "
                            "never touched). Choose a new, empty folder for the pieces, e.g. my_takes/.")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_FILE).is_file())):
        raise LongTakeError(f"{out_dir}: exists and was not written by helpers.longtake; it would be replaced "
                            "whole. Choose a new folder (or empty this one yourself).")


def _write(res: LongTakeResult, raw: np.ndarray, raw_sr: int, recording: Path, out_dir: Path) -> None:
    import soundfile as sf

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["filename", "transcript"])
    with atomic_dir(out_dir) as tmp:
        for r in res.kept:
            name = f"{r.name}.wav"
            piece = raw[int(r.cut_start_s * raw_sr): int(r.cut_end_s * raw_sr)]
            sf.write(tmp / name, piece, raw_sr, subtype="PCM_16" if raw.dtype != np.float64 else "FLOAT", format="WAV")
            w.writerow([name, res.prompts[r.prompt_index]])
        (tmp / "prompts.csv").write_text(buf.getvalue(), encoding="utf-8")
        report = {"recording": str(recording), "summary": res.summary(),
                  "found": [res.names[j] for j in res.found], "missing": [res.names[j] for j in res.missing],
                  "repeated": [res.names[j] for j in res.repeated], "extra_speech_s": res.extra,
                  "readings": [asdict(r) for r in res.readings]}
        (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        for p in tmp.iterdir():
            p.chmod(0o644)
        tmp.chmod(0o755)
    res.out_dir = out_dir


# --------------------------------------------------------------------------------------- measuring it

def build_long_recording(takes: Sequence[tuple[str, Path, str]], skip: int, twice: int, seed: int = 0,
                         pause_s: tuple[float, float] = (0.3, 2.0), keep_s: float = 0.1,
                         bounds: dict[str, tuple[float, float]] | None = None
                         ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """A test recording from separate real takes, with speech edges known *without* any trimmer.

    Each take's speech is found by forced alignment of its transcript (:func:`helpers.align.speech_bounds`,
    PocketSphinx: first word's start, last word's end — the truth of ``benchmarks/bench_trim_real.py``; a take
    the aligner cannot place falls back to the energy trimmer, marked ``"truth": "energy"``). The speech, with ``keep_s`` of the take's own audio on each side (natural
    onsets), is joined to the next by a pause of ``pause_s`` filled with real room tone
    (:func:`helpers.realspeech.room_tone`: only the quiet stretches of the takes, no breaths or clicks; half a
    pause in the tone of the take before, half in the next one's — each take's own surroundings; a take with
    too little quiet of its own borrows all takes' tone). Prompt ``skip`` is left out, prompt ``twice`` read
    twice.

    ``bounds``: the takes' aligned speech bounds by id, where the caller has them already (the benchmark checks
    each alignment against Whisper first); a take not in it is aligned here.

    Returns (16 kHz audio, truth): one dict per reading placed, with prompt index and speech start/end.
    """
    from . import align
    from .realspeech import room_tone

    rng = np.random.default_rng(seed)
    ys, bounds, kinds = [], [], []
    for tid, path, text in takes:
        raw, sr = A.load(path)
        y = A.resample(A.remove_dc(A.to_mono(raw)), sr, SR)
        b = bounds[tid] if bounds and tid in bounds else align.speech_bounds(y, text)
        kind = "aligned"
        if b is None:
            e = A.energy_bounds(y, SR)
            b, kind = (e.start_s, e.end_s), "energy"
        ys.append(y)
        bounds.append(b)
        kinds.append(kind)
    everyone = [(y, b) for y, b in zip(ys, bounds)]

    def room(i: int, seconds: float) -> np.ndarray:
        if seconds <= 0:
            return np.zeros(0, np.float32)
        try:
            return room_tone([everyone[i]], seconds, seed=int(rng.integers(1 << 30)))
        except ValueError:  # too little quiet in this take: the tone of them all
            return room_tone(everyone, seconds, seed=int(rng.integers(1 << 30)))

    pieces, offsets = [], []
    for y, (s0, e0) in zip(ys, bounds):
        a = max(0, int((s0 - keep_s) * SR))
        b = min(len(y), int(np.ceil((e0 + keep_s) * SR)))
        pieces.append(y[a:b].astype(np.float32))
        offsets.append((s0 - a / SR, e0 - a / SR))
    order = [i for i in range(len(takes)) if i != skip]
    order.insert(order.index(twice) + 1, twice)
    first = room(order[0], 1.0)
    parts, truth, t = [first], [], first.size / SR
    for k, i in enumerate(order):
        truth.append({"prompt_index": i, "start_s": t + offsets[i][0], "end_s": t + offsets[i][1], "truth": kinds[i]})
        parts.append(pieces[i])
        t += pieces[i].size / SR
        nxt = order[k + 1] if k + 1 < len(order) else i
        # the drawn pause is speech edge to speech edge: the take's own audio kept each side is part of it
        kept = (pieces[i].size / SR - offsets[i][1]) + offsets[nxt][0]
        gap = max(0.0, float(rng.uniform(*pause_s)) - kept)
        for tone in (room(i, gap / 2), room(nxt, gap - gap / 2)):
            parts.append(tone)
            t += tone.size / SR
    return np.concatenate(parts).astype(np.float32), truth


def score_split(res: LongTakeResult, truth: list[dict[str, Any]], tol_s: float = 0.1) -> dict[str, Any]:
    """Boundary accuracy and attribution of a split against the truth of :func:`build_long_recording`."""
    last = {}
    for tr in truth:
        last[tr["prompt_index"]] = tr             # the last reading of each prompt is the one kept
    errors, right, wrong = [], 0, []
    for r in res.kept:
        tr = last.get(r.prompt_index)
        overl = [x for x in truth if min(x["end_s"], r.end_s) - max(x["start_s"], r.start_s) > 0]
        best = max(overl, key=lambda x: min(x["end_s"], r.end_s) - max(x["start_s"], r.start_s)) if overl else None
        if tr is not None and best is tr:
            right += 1
            errors += [abs(r.start_s - tr["start_s"]), abs(r.end_s - tr["end_s"])]
        else:
            wrong.append(r.name)
    placed = sorted(last)
    errs = np.array(errors) if errors else np.array([np.inf])
    return {"prompts": len(res.prompts), "readings_placed": len(truth), "kept_pieces": len(res.kept),
            "attributed_right": right, "attributed_wrong": wrong,
            "boundaries_within_100ms_share": round(float(np.mean(errs <= tol_s)) * 2 * right / max(1, 2 * len(placed)), 4),
            "boundary_err_median_ms": round(float(np.median(errs)) * 1000, 1),
            "boundary_err_p95_ms": round(float(np.percentile(errs, 95)) * 1000, 1),
            "missing": res.missing, "repeated": res.repeated, "extra": res.extra}


def benchmark(takes: Sequence[tuple[str, Path, str]], listener=None, skip: int | None = None,
              twice: int | None = None, seed: int = 0, tmp_dir: str | Path | None = None,
              bounds: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """Build a long recording from ``takes`` (id, path, prompt), split it, and score the split (``bounds``: the
    takes' aligned speech bounds by id, if known: see :func:`build_long_recording`)."""
    import tempfile
    import time

    from .files import write_wav

    n = len(takes)
    skip = n // 3 if skip is None else skip
    twice = (2 * n) // 3 if twice is None else twice
    audio, truth = build_long_recording(takes, skip, twice, seed, bounds=bounds)
    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
        path = write_wav(Path(d) / "session.wav", audio, SR)
        t0 = time.perf_counter()
        res = split_long_recording(path, [t[2] for t in takes], Path(d) / "pieces", names=[t[0] for t in takes],
                                   listener=listener, progress=False)
        seconds = time.perf_counter() - t0
        written = sorted(p.name for p in (Path(d) / "pieces").glob("*.wav"))
    out = score_split(res, truth)
    out.update({"recording_s": round(audio.size / SR, 1), "split_seconds": round(seconds, 1), "skipped": skip,
                "read_twice": twice, "files_written": len(written), "ids": [t[0] for t in takes]})
    return out


# --------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.longtake",
                                 description="One long recording of the prompt list -> one take per prompt.")
    ap.add_argument("--recording", required=True, help="the long WAV/FLAC (only read)")
    ap.add_argument("--prompts", required=True, help="the prompts table, in the order you read it")
    ap.add_argument("--out", required=True, help="a new folder for the pieces (then: helpers.prep --raw OUT "
                    "--prompts OUT/prompts.csv)")
    args = ap.parse_args(argv)
    from .prep import PrepError, read_prompts

    try:
        table = read_prompts(args.prompts)
        res = split_long_recording(args.recording, list(table.values()), args.out, names=list(table.keys()))
    except (LongTakeError, PrepError, A.AudioFileError) as err:
        print(f"error: {err}")
        return 2
    print(res.summary())
    print(f"  {len(res.kept)} pieces -> {args.out}; next: python -m helpers.prep --raw {args.out} "
          f"--prompts {Path(args.out) / 'prompts.csv'} --out work/dataset")
    return 0 if res.kept else 1


if __name__ == "__main__":
    raise SystemExit(main())
