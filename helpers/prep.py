"""The recording-prep pipeline: a folder of raw takes + a prompts table -> a validated 16 kHz dataset.

Why this module exists
----------------------
Notebook 01 explains each step on one take; this module runs the same steps on every take,
so a learner with hundreds of recordings can do it without the notebook::

    python -m helpers.prep --raw my_takes/ --prompts my_prompts.csv --out work/dataset
    python -m helpers.prep --raw myvoice/wavs --prompts myvoice/metadata.csv --out work/dataset   # LJSpeech layout

For each take: load (any rate/width/channels) -> mono -> DC removal -> 16 kHz -> trim
(``A.hybrid_bounds`` by default: Silero VAD + a spread-aware level; or energy, or Silero VAD alone; plus a pad)
-> loudness to target with a peak ceiling -> PCM16 WAV.
Every take gets a row in ``report.csv`` with its measurements, a verdict and the reason;
takes that fail a check are excluded, never crash the run. The output folder holds::

    wavs/<id>.wav      16 kHz mono PCM16, trimmed, loudness-normalised
    manifest.jsonl     one JSON object per usable take (id, path, text, text_norm, duration_s, speaker, split)
    report.csv         every take, usable or not, with its measurements and verdict
    settings.json      the settings used and their hash
    source.json        which raw folder and prompts table the dataset was built from
    hf/                the same as a datasets.DatasetDict (train/validation/test) saved to disk
    .state/            what prep wrote, per take: a re-run skips unchanged takes

Raw is sacred: prep refuses any ``--out`` that would put one of its outputs inside the raw folder (whatever the
overlap: out inside raw, raw == out/wavs, the same folder through a symlink), never writes over a file it did not
write itself, and deletes only files its own state records. Prompt tables are read by :mod:`helpers.prompts`.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import os
import re
import shutil
import struct
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import audio as A
from . import prompts as P
from . import rawsafe as R
from .files import atomic_dir, tidy_atomic_leftovers, write_json, write_text, write_wav
from .text import normalize_for_tts

AUDIO_EXTENSIONS = P.AUDIO_EXTENSIONS
FILE_COLUMNS = P.FILE_COLUMNS
TEXT_COLUMNS = P.TEXT_COLUMNS
STATE_VERSION = 2
EXIT_BAD_INPUT, EXIT_NOTHING_USABLE = 2, 3
OUTPUT_FILES = ("manifest.jsonl", "report.csv", "settings.json", "source.json")

__all__ = ["PrepSettings", "read_prompts", "process_take", "prepare", "ensure_dataset", "load_manifest",
           "assign_splits", "PrepError", "main", "pick_example", "is_sample_dataset", "read_source"]


class PrepError(Exception):
    """Bad input to the pipeline (missing folder, unreadable prompts table, unsafe --out); says what to fix."""


@dataclass(frozen=True)
class PrepSettings:
    """Everything that changes the output. Its :meth:`digest` decides whether a re-run redoes a take."""

    target_sr: int = A.TARGET_SR
    target_lufs: float = A.TARGET_LUFS
    peak_dbfs: float = A.PEAK_CEILING_DBFS
    trim_method: str = A.DEFAULT_TRIM_METHOD  # "hybrid" (Silero VAD + level; measured best on real speech), "energy", "vad"
    energy_margin_db: float = 3.0        # above the noise floor (see helpers.audio.energy_bounds)
    vad_threshold: float = 0.5
    pad_ms: float = 100.0                # silence kept before the first and after the last word
    min_speech_s: float = 0.5            # shorter: "too short"
    max_speech_s: float = 15.0           # longer: "too long" (SpeechT5 recipes drop long examples)
    max_clip_share: float = 0.001        # more than 0.1 % of samples at full scale: "clipped"
    silent_peak_dbfs: float = -45.0      # quieter than this everywhere: "silent"
    min_chars_per_s: float = 4.0         # slower/faster speaking rate than this: transcript does not fit
    max_chars_per_s: float = 30.0
    noisy_snr_db: float = 15.0           # mean speech power over room-tone power below this: a warning (kept)
    cancel_db: float = 10.0              # stereo mix this much quieter than its loudest channel: channels cancel
    speaker: str = "learner"
    eval_fraction: float = 0.1           # share of takes in validation, and again in test (at least 1 each)

    def __post_init__(self) -> None:
        if self.trim_method not in A.TRIM_METHODS:
            raise ValueError(f"trim_method must be one of {A.TRIM_METHODS}, not {self.trim_method!r}")

    def digest(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------- prompts

def read_prompts(csv_path: str | Path) -> dict[str, str]:
    """``{file name as written: transcript}`` from a prompts table, read by :func:`helpers.prompts.read_prompts`
    (every layout and encoding it accepts). Raises :class:`PrepError` with the fix."""
    try:
        return P.read_prompts(csv_path).texts()
    except P.PromptsError as err:
        raise PrepError(str(err)) from None


def pick_example(raw_dir: str | Path, prompts_csv: str | Path | None = None) -> Path | None:
    """The take notebook 01 shows each step on: the first audio file (by name) that can be read and lasts at
    least a second, preferring one the prompts table names. None when no file in ``raw_dir`` can be read."""
    audio, _, _ = P.list_audio(raw_dir)
    named = set()
    if prompts_csv is not None:
        try:
            named = set(P.read_prompts(prompts_csv).by_key())
        except P.PromptsError:
            pass
    fallback = None
    for p in sorted(audio, key=lambda p: (P.take_key(p.name) not in named, p.name)):
        try:
            info = A.file_info(p)
            if info["duration_s"] >= 1.0:
                A.load(p)
                return p
            fallback = fallback or p
        except A.AudioFileError:
            continue
    return fallback


# --------------------------------------------------------------------------------------- loading checks

def _wav_declared_frames(path: Path) -> int | None:
    """Frames that a WAV file's header says its data chunk holds (None: not a plain RIFF WAV, or unknown size).

    libsndfile silently clamps a cut-off file to the bytes that are there, so a truncated take would
    otherwise look like a short, complete one.
    """
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                return None
            end = "<" if head[:4] == b"RIFF" else ">"
            block_align = None
            while True:
                ch = f.read(8)
                if len(ch) < 8:
                    return None
                cid, size = ch[:4], struct.unpack(end + "I", ch[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(size + (size & 1))
                    if len(fmt) >= 14:
                        block_align = struct.unpack(end + "H", fmt[12:14])[0]
                elif cid == b"data":
                    if size in (0, 0xFFFFFFFF) or not block_align:
                        return None  # streaming writers leave the size open: nothing to compare
                    return size // block_align
                else:
                    f.seek(size + (size & 1), 1)
    except OSError:
        return None


def _decodable_frames(path: Path) -> tuple[int, int]:
    """(frames the header promises, frames that decode before an error) for a file soundfile can open."""
    import soundfile as sf

    got = 0
    with sf.SoundFile(str(path)) as f:
        total = f.frames
        try:
            while True:
                block = f.read(4096, dtype="float32", always_2d=True)
                if not len(block):
                    break
                got += len(block)
        except Exception:
            pass
    return total, got


def _truncated_message(path: Path, got: int, total: int, sr: int) -> str:
    return (f"{path}: cut off: {got / sr:.2f} s of audio where its header promises {total / sr:.2f} s "
            f"({100 * got / total:.0f}%) - an interrupted copy, download or export. Export or copy it again.")


def _downmix(raw: np.ndarray, cancel_db: float) -> tuple[np.ndarray, str]:
    """Mono by averaging the channels, unless they cancel (one polarity-inverted): then the loudest channel."""
    mono = A.to_mono(raw)
    if raw.shape[1] < 2:
        return mono, ""
    ch_db = [A.rms_dbfs(raw[:, c]) for c in range(raw.shape[1])]
    loud = int(np.argmax(ch_db))
    mix_db = A.rms_dbfs(mono)
    if ch_db[loud] > -90 and mix_db < ch_db[loud] - cancel_db:
        return (np.ascontiguousarray(raw[:, loud]),
                f"channels cancel when mixed (mix {mix_db:.0f} dBFS vs channel {loud + 1} {ch_db[loud]:.0f} dBFS: "
                f"one is polarity-inverted); used channel {loud + 1} alone")
    return mono, ""


_REMOVED = re.compile(r"^removed (.+) \(not in the vocabulary\)$")


def _unreadable(text: str, text_norm: str, changes: list[str]) -> str:
    """Why SpeechT5 cannot read this transcript ("" if it can): letters it has no characters for."""
    removed = []
    for c in changes:
        m = _REMOVED.match(c)
        if m:
            try:
                removed.append(ast.literal_eval(m.group(1)))
            except (ValueError, SyntaxError):
                pass
    letters = [c for c in removed if unicodedata.category(c)[:1] in ("L", "N")]
    if letters or not re.search(r"[A-Za-z]", text_norm):
        shown = letters or [c for c in text if not c.isspace()][:8]
        return ("no characters SpeechT5 can read for " + " ".join(repr(c) for c in shown[:12])
                + ": write the transcript in Latin letters, as it is spoken")
    return ""


# --------------------------------------------------------------------------------------- one take

def _row_base(take_id: str, path: Path, text: str) -> dict[str, Any]:
    return {"id": take_id, "file": path.name, "text": text, "transcript_present": bool(text.strip()),
            "verdict": "ok", "reason": "", "warnings": ""}


def process_take(path: str | Path, text: str, settings: PrepSettings = PrepSettings(),
                 take_id: str | None = None, vocab: set[str] | None = None) -> tuple[dict[str, Any], np.ndarray | None]:
    """Run the whole pipeline on one take. Returns ``(report_row, audio_16k or None if excluded)``.

    Never raises for a bad take: the verdict ("ok" / "excluded") and reason say what happened. The checks, in
    order: the file (``missing_file``, ``empty``, ``corrupt``, ``truncated``), ``too_short`` (shorter than the
    shortest speech allowed, before any level check), ``silent``, ``clipped``, the transcript
    (``missing_transcript``, ``unreadable_transcript``), the speech (``too_short``, ``too_long``) and whether the
    two fit (``transcript_mismatch``). A float file over full scale is scaled down (nothing is lost in float);
    stereo whose channels cancel uses its louder channel; both are noted in ``warnings``.
    """
    path = Path(path)
    take_id = take_id or path.stem
    row = _row_base(take_id, path, text)
    warnings: list[str] = []

    def exclude(reason: str, error: str = "") -> tuple[dict[str, Any], None]:
        row.update(verdict="excluded", reason=reason, warnings="; ".join(warnings))
        if error:
            row["error"] = error
        return row, None

    try:
        info = A.file_info(path)
        raw, sr = A.load(path)
    except A.AudioFileError as err:
        msg = str(err)
        if "not found" in msg:
            return exclude("missing_file", msg)
        if "empty" in msg or "no samples" in msg:
            return exclude("empty", msg)
        try:  # FLAC/OGG cut off: the decoder stops with an error part-way
            total, got = _decodable_frames(path)
            if 0 < got < total:
                return exclude("truncated", _truncated_message(path, got, total, A.file_info(path)["sample_rate"]))
        except Exception:
            pass
        return exclude("corrupt", msg)
    declared = _wav_declared_frames(path) if path.suffix.lower() == ".wav" else None
    if declared is not None and raw.shape[0] < declared:
        return exclude("truncated", _truncated_message(path, raw.shape[0], declared, sr))
    row.update(sample_rate=sr, channels=raw.shape[1], raw_duration_s=round(raw.shape[0] / sr, 3),
               peak_dbfs=round(A.peak_dbfs(raw), 2))
    if raw.shape[0] / sr < settings.min_speech_s:
        row["clip_share"] = round(A.clip_share(raw), 5)
        return exclude("too_short", f"{path}: {raw.shape[0] / sr:.2f} s long; a take needs at least "
                                    f"{settings.min_speech_s} s of speech. Record it again.")
    peak = float(np.max(np.abs(raw)))
    if info["subtype"] in ("FLOAT", "DOUBLE") and peak > 1.0:
        scale = 10 ** (settings.peak_dbfs / 20) / peak
        raw = (raw * scale).astype(np.float32)
        warnings.append(f"float samples peaked at {A.db(peak):+.1f} dBFS: scaled down by {-A.db(scale):.1f} dB "
                        "(float keeps values over full scale, so nothing was clipped)")
    row["clip_share"] = round(A.clip_share(raw), 5)
    if sr < settings.target_sr:
        warnings.append(f"recorded at {sr} Hz: upsampled, nothing above {sr // 2} Hz (record at 44.1 or 48 kHz)")
    mono, note = _downmix(raw, settings.cancel_db)
    if note:
        warnings.append(note)
    dc = float(mono.mean())
    row["dc_offset"] = round(dc, 4)
    if abs(dc) > 0.01:
        warnings.append(f"DC offset {dc:+.3f} removed")
    clean = A.resample(A.remove_dc(mono), sr, settings.target_sr)
    osr = settings.target_sr
    row["rms_dbfs"] = round(A.rms_dbfs(clean), 2)
    if A.peak_dbfs(clean) < settings.silent_peak_dbfs:
        return exclude("silent", f"{path}: loudest sample {A.peak_dbfs(clean):.0f} dBFS (below "
                                 f"{settings.silent_peak_dbfs:.0f}): nothing recorded. Check the input and the mute switch.")
    if row["clip_share"] > settings.max_clip_share:
        return exclude("clipped", f"{path}: {100 * row['clip_share']:.2f}% of samples at full scale: the recording "
                                  "distorted, which cannot be undone. Record it again with the input gain lower.")

    bounds = A.trim_bounds(clean, osr, settings.trim_method, margin_db=settings.energy_margin_db,
                           vad_threshold=settings.vad_threshold)
    if not bounds.found:
        return exclude("silent", f"{path}: no speech found above the room noise. Record it again, closer to the "
                                 "microphone.")
    speech_s = bounds.end_s - bounds.start_s
    row["snr_db"] = round(A.estimate_snr_db(clean, osr, bounds), 1)
    row.update(speech_start_s=round(bounds.start_s, 4), speech_end_s=round(bounds.end_s, 4),
               lead_silence_s=round(bounds.start_s, 3), trail_silence_s=round(clean.size / osr - bounds.end_s, 3),
               speech_s=round(speech_s, 3))
    text_norm, changes = normalize_for_tts(text, vocab) if text.strip() else ("", [])
    row.update(text_norm=text_norm, text_changes=" | ".join(changes))
    row["chars_per_s"] = round(len(text_norm) / speech_s, 1) if speech_s > 0 else 0.0
    if row["snr_db"] < settings.noisy_snr_db:
        warnings.append(f"noisy (SNR ~{row['snr_db']:.0f} dB)")
    if not text.strip():
        return exclude("missing_transcript", f"{path.name} has no transcript in the prompts table: add what you said.")
    why = _unreadable(text, text_norm, changes)
    if why:
        return exclude("unreadable_transcript", why)
    if speech_s < settings.min_speech_s:
        return exclude("too_short", f"{path}: {speech_s:.2f} s of speech, less than {settings.min_speech_s} s.")
    if speech_s > settings.max_speech_s:
        return exclude("too_long", f"{path}: {speech_s:.1f} s of speech, more than {settings.max_speech_s:.0f} s: "
                                   "split the sentence into two prompts.")
    if not settings.min_chars_per_s <= row["chars_per_s"] <= settings.max_chars_per_s:
        return exclude("transcript_mismatch", f"{path}: {len(text_norm)} characters in {speech_s:.1f} s of speech "
                                              f"({row['chars_per_s']} per second; people read "
                                              f"{settings.min_chars_per_s:.0f}-{settings.max_chars_per_s:.0f}): is this "
                                              "the transcript of this take?")

    trimmed = A.apply_trim(clean, osr, bounds, settings.pad_ms)
    out, info = A.normalize_loudness(trimmed, osr, settings.target_lufs, settings.peak_dbfs)
    if info["limited"]:
        warnings.append("peaks limited")
    row.update(duration_s=round(out.size / osr, 3), loudness_before_lufs=round(info["before_lufs"], 2),
               loudness_after_lufs=round(info["after_lufs"], 2), gain_db=info["gain_db"],
               peak_after_dbfs=round(A.peak_dbfs(out), 2), warnings="; ".join(warnings))
    return row, out


def _listing_row(take: P.Take, table: P.PromptTable) -> dict[str, Any] | None:
    """The report row of a take that is not processed at all (unlisted, unsupported format), or None."""
    if P.is_consent(take.id):  # the consent statement (helpers.consent): never training data; the row says where
        row = _row_base(take.id, take.path, take.text)
        row.update(verdict="excluded", reason="consent_take", error=P.consent_note(take.path, take.exists))
        return row
    if take.exists and take.prompt is not None and take.supported:
        return None
    row = _row_base(take.id, take.path, take.text)
    row["verdict"] = "excluded"
    if not take.supported:
        row.update(reason="unsupported_format",
                   error=f"{take.path}: {take.path.suffix} files are not read here (no FFmpeg). Convert it to WAV "
                         "or FLAC (Audacity: File > Export Audio).")
    elif take.prompt is None:
        row.update(reason="not_in_prompts",
                   error=f"{take.path.name} is not named in {table.path.name}: add a row for it "
                         f"('{take.path.name},<what you said>') or move it out of the folder.")
        try:
            info = A.file_info(take.path)
            row.update(sample_rate=info["sample_rate"], channels=info["channels"],
                       raw_duration_s=round(info["duration_s"], 3))
        except A.AudioFileError:
            pass
    else:  # listed but missing
        return None
    return row


# --------------------------------------------------------------------------------------- splits

def _hash01(take_id: str) -> float:
    return int(hashlib.sha1(take_id.encode()).hexdigest()[:12], 16) / 16 ** 12


def assign_splits(ids: Iterable[str], eval_fraction: float = 0.1) -> dict[str, str]:
    """A fixed train/validation/test split decided by a hash of each take's id.

    Takes are ordered by the hash of their id; the first ``max(1, round(n * eval_fraction))``
    go to test, the next as many to validation, the rest to train. The same ids always give
    the same split, on every machine, and small datasets (~40 takes) still get evaluation takes.
    """
    ids = sorted(set(ids), key=lambda i: (_hash01(i), i))
    n = len(ids)
    if n < 3:
        return {i: "train" for i in ids}
    k = max(1, round(n * eval_fraction))
    return {i: ("test" if r < k else "validation" if r < 2 * k else "train") for r, i in enumerate(ids)}


# --------------------------------------------------------------------------------------- the run

@dataclass
class PrepResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    manifest: list[dict[str, Any]]
    seconds: float
    processed: int
    reused: int
    raw_seconds: float = 0.0             # raw audio of all takes
    processed_seconds: float = 0.0       # raw audio of the takes processed in this run (not skipped)
    settings: PrepSettings = field(default_factory=PrepSettings)
    notes: list[str] = field(default_factory=list)   # how the table and folder were read (encoding, joins, ...)

    @property
    def x_realtime(self) -> float | None:
        """Seconds of raw audio processed per second of wall time; None when everything was skipped."""
        return self.processed_seconds / self.seconds if self.processed and self.seconds > 0 else None

    @property
    def usable_minutes(self) -> float:
        return sum(m["duration_s"] for m in self.manifest) / 60

    def summary(self) -> str:
        ok = sum(r["verdict"] == "ok" for r in self.rows)
        return (f"{ok} of {len(self.rows)} takes usable, {len(self.rows) - ok} excluded; "
                f"{self.usable_minutes:.2f} usable minutes -> {self.out_dir}")

    def nothing_usable(self) -> str:
        """Why no take is usable, with what to do ("" when some are)."""
        if self.manifest:
            return ""
        reasons = Counter(r["reason"] for r in self.rows)
        text = ", ".join(f"{n} {k}" for k, n in reasons.most_common())
        hint = ""
        if reasons.get("not_in_prompts", 0) + reasons.get("missing_file", 0) == len(self.rows):
            listed = [r["file"] for r in self.rows if r["reason"] == "missing_file"][:2]
            found = [r["file"] for r in self.rows if r["reason"] == "not_in_prompts"][:2]
            hint = (f" The prompts table and the folder share no take: the table names e.g. {listed}, the folder "
                    f"holds e.g. {found}. Is it the table of this folder?")
        return (f"none of the {len(self.rows)} takes is usable ({text}); {self.out_dir / 'report.csv'} "
                f"says why for each.{hint}")


def _source_key(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except FileNotFoundError:
        return {"size": None, "mtime_ns": None}


def prepare(raw_dir: str | Path, prompts_csv: str | Path | None, out_dir: str | Path,
            settings: PrepSettings = PrepSettings(), progress: bool = True, vocab: set[str] | None = None,
            write_hf: bool = True) -> PrepResult:
    """Run the pipeline on every take in ``raw_dir`` and write the dataset to ``out_dir``.

    ``prompts_csv=None`` looks for ``prompts.csv``/``metadata.csv`` in ``raw_dir`` or its parent. Safe to re-run:
    takes whose source file, transcript and settings are unchanged are not processed again; takes that left the
    folder or became excluded lose the WAV prep wrote for them. Returns a result even when no take is usable
    (``result.nothing_usable()`` says why); bad input raises :class:`PrepError` before anything is written.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        what = "is a file, not a folder" if raw_dir.is_file() else "not found"
        raise PrepError(f"{raw_dir}: raw takes folder {what}. Pass --raw with the folder of your WAV/FLAC/OGG takes.")
    if prompts_csv is None:
        prompts_csv = P.find_prompts_table(raw_dir)
        if prompts_csv is None:
            raise PrepError(f"{raw_dir}: no prompts table given and none found ({', '.join(P.TABLE_NAMES)} in the "
                            "folder or its parent). Pass --prompts with a filename,transcript CSV.")
    prompts_path = Path(prompts_csv)
    try:
        R.check_layout(raw_dir, out_dir, prompts_path, OUTPUT_FILES)
        table = P.read_prompts(prompts_path)
        takes = P.pair_takes(raw_dir, table)
    except (P.PromptsError, R.OutputFolderError) as err:
        raise PrepError(str(err)) from None
    if not takes:
        raise PrepError(f"{raw_dir}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) and no prompts. Check the folder.")
    notes = list(table.notes)
    _, _, hidden = P.list_audio(raw_dir)
    if hidden:
        notes.append(f"{len(hidden)} hidden file(s) skipped (e.g. {hidden[0].name}: macOS metadata, not a take)")
    state = R.State(out_dir)
    try:
        R.check_ownership(out_dir, state, [t.id for t in takes], OUTPUT_FILES)
    except R.OutputFolderError as err:
        raise PrepError(str(err)) from None
    wav_dir = out_dir / "wavs"
    umask = R.umask()
    try:
        wav_dir.mkdir(parents=True, exist_ok=True)
        state.takes_dir.mkdir(parents=True, exist_ok=True)
        return _run(raw_dir, prompts_path, out_dir, table, takes, state, settings, progress, vocab, write_hf,
                    notes, umask)
    except PermissionError as err:
        raise PrepError(f"{err.filename or out_dir}: permission denied. The dataset folder must be writable: "
                        "choose another --out (e.g. work/dataset) or fix its permissions.") from None
    except OSError as err:
        if isinstance(err, NotADirectoryError):
            raise PrepError(f"{err.filename or out_dir}: cannot write: part of this path is a file, not a folder. "
                            "Choose another --out.") from None
        raise PrepError(f"{err.filename or out_dir}: cannot write ({err.strerror or err}). Free some space or "
                        "choose another --out.") from None


def _tidy_killed_run(out_dir: Path, state: R.State, take_ids: list[str]) -> list[Path]:
    """Remove the temporary files a killed run left beside the outputs prep writes (``wavs/.<id>.wav.*``, the
    state files, the manifest, report, settings, source and ``hf/``): only names :mod:`helpers.files` makes
    for prep's own outputs, never anything else in the folder."""
    ids = set(take_ids) | {i for i in state.known_ids() if not i.startswith(".")}
    dests = [out_dir / "wavs" / f"{i}.wav" for i in sorted(ids)] + [state.takes_dir / f"{i}.json" for i in sorted(ids)]
    dests += [out_dir / name for name in OUTPUT_FILES] + [out_dir / "hf"]
    removed: list[Path] = []
    for dest in dests:
        removed += tidy_atomic_leftovers(dest)
    return removed


def _run(raw_dir: Path, prompts_path: Path, out_dir: Path, table: P.PromptTable, takes: list[P.Take],
         state: R.State, settings: PrepSettings, progress: bool, vocab: set[str] | None, write_hf: bool,
         notes: list[str], umask: int) -> PrepResult:
    from tqdm.auto import tqdm

    wav_dir = out_dir / "wavs"
    digest = settings.digest()
    vocab_key = hashlib.sha1("".join(sorted(vocab)).encode()).hexdigest()[:8] if vocab else "basic"
    t0 = time.perf_counter()
    _tidy_killed_run(out_dir, state, [t.id for t in takes])
    rows, processed, reused, raw_seconds, processed_seconds = [], 0, 0, 0.0, 0.0
    for take in tqdm(takes, desc="prep", unit="take", disable=not progress):
        take_id, path, text = take.id, take.path, take.text
        wav = wav_dir / f"{take_id}.wav"
        listed = _listing_row(take, table)
        key = {"v": STATE_VERSION, "source": _source_key(path), "text": text, "settings": digest,
               "vocab": vocab_key, "listed": listed is None}
        old = state.load(take_id)
        if old and old.get("key") == key:
            wrote = old.get("wrote")
            if old["row"]["verdict"] != "ok" or (wrote and wav.exists() and wav.stat().st_size == wrote["size"]):
                rows.append(old["row"])
                reused += 1
                raw_seconds += old["row"].get("raw_duration_s", 0.0) or 0.0
                continue
        if listed is not None:
            row, out = listed, None
        else:
            row, out = process_take(path, text, settings, take_id, vocab)
        wrote = None
        if out is not None:
            write_wav(wav, out, settings.target_sr)
            R.make_readable(wav, umask)
            st = wav.stat()
            wrote = {"path": f"wavs/{wav.name}", "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            row["path"] = wrote["path"]
        elif wav.exists() and state.owns_wav(take_id, wav):
            wav.unlink()  # excluded now: no stale WAV of ours may stay behind
        write_json(state.takes_dir / f"{take_id}.json", {"key": key, "row": row, "wrote": wrote})
        rows.append(row)
        processed += 1
        raw_seconds += row.get("raw_duration_s", 0.0) or 0.0
        processed_seconds += row.get("raw_duration_s", 0.0) or 0.0
    R.forget_stale(out_dir, state, {r["id"] for r in rows})

    ok_rows = [r for r in rows if r["verdict"] == "ok"]
    splits = assign_splits([r["id"] for r in ok_rows], settings.eval_fraction)
    manifest = [{"id": r["id"], "path": r["path"], "text": r["text"], "text_norm": r["text_norm"],
                 "duration_s": r["duration_s"], "speaker": settings.speaker, "split": splits[r["id"]]}
                for r in sorted(ok_rows, key=lambda r: r["id"])]
    for r in rows:
        r["split"] = splits.get(r["id"], "")
    write_text(out_dir / "manifest.jsonl", "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest))
    _write_report(out_dir / "report.csv", rows)
    write_json(out_dir / "settings.json", {"digest": digest, **asdict(settings)})
    from .config import SAMPLE_DATA

    write_json(out_dir / "source.json", {
        "raw_dir": str(raw_dir.resolve()), "prompts": str(prompts_path.resolve()),
        "sample": raw_dir.resolve() == (SAMPLE_DATA / "raw").resolve(), "takes": len(rows), "usable": len(manifest),
        "table": table.describe(), "notes": notes})
    write_json(state.root / "outputs.json", {"files": list(OUTPUT_FILES) + (["hf"] if write_hf else [])})
    for name in OUTPUT_FILES:
        R.make_readable(out_dir / name, umask)
    hf = out_dir / "hf"
    if write_hf and manifest:
        _write_hf(out_dir, manifest, settings.target_sr)
        R.make_readable(hf, umask)
    elif write_hf and (hf / "speechlab_manifest.sha").exists():
        shutil.rmtree(hf)  # nothing usable: no stale dataset of ours may stand in for this one
    return PrepResult(out_dir, rows, manifest, time.perf_counter() - t0, processed, reused, raw_seconds,
                      processed_seconds, settings, notes)


REPORT_COLUMNS = ["id", "file", "verdict", "reason", "warnings", "split", "sample_rate", "channels", "raw_duration_s",
                  "duration_s", "speech_s", "lead_silence_s", "trail_silence_s", "speech_start_s", "speech_end_s",
                  "peak_dbfs", "clip_share", "rms_dbfs", "dc_offset", "snr_db", "loudness_before_lufs",
                  "loudness_after_lufs", "gain_db", "peak_after_dbfs", "transcript_present", "chars_per_s", "text",
                  "text_norm", "text_changes", "path", "error"]


def _write_report(dest: Path, rows: list[dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k, "") for k in REPORT_COLUMNS})
    write_text(dest, buf.getvalue())


def _write_hf(out_dir: Path, manifest: list[dict[str, Any]], sr: int) -> None:
    """Save the manifest as a ``datasets.DatasetDict``; skipped when ``hf/`` already matches it.

    The ``audio`` column is ``{"array": float32 samples, "sampling_rate": 16000}`` — the shape
    ``datasets.Audio`` decodes to — stored as plain values, so reading it needs no audio
    decoder (``datasets`` 4+ would need torchcodec/FFmpeg for an ``Audio`` column).
    """
    stamp = hashlib.sha1(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    hf = out_dir / "hf"
    if (hf / "speechlab_manifest.sha").exists() and (hf / "speechlab_manifest.sha").read_text().strip() == stamp:
        return
    import datasets
    import soundfile as sf

    features = datasets.Features({
        "id": datasets.Value("string"), "path": datasets.Value("string"), "text": datasets.Value("string"),
        "text_norm": datasets.Value("string"), "duration_s": datasets.Value("float32"),
        "speaker": datasets.Value("string"),
        "audio": {"array": datasets.Sequence(datasets.Value("float32")), "sampling_rate": datasets.Value("int32")},
    })
    parts = {}
    for split in ("train", "validation", "test"):
        items = [m for m in manifest if m["split"] == split]
        cols: dict[str, list] = {k: [m[k] for m in items] for k in ("id", "path", "text", "text_norm", "duration_s", "speaker")}
        cols["audio"] = [{"array": sf.read(str(out_dir / m["path"]), dtype="float32")[0], "sampling_rate": sr}
                         for m in items]
        parts[split] = datasets.Dataset.from_dict(cols, features=features)
    dd = datasets.DatasetDict(parts)
    with atomic_dir(hf) as tmp:
        dd.save_to_disk(str(tmp), num_shards={k: 1 for k in dd})  # an empty split (1-2 takes) needs one shard to load
        (tmp / "speechlab_manifest.sha").write_text(stamp + "\n")


# --------------------------------------------------------------------------------------- hand-off

def read_source(dataset_dir: str | Path) -> dict[str, Any] | None:
    """What ``source.json`` says a dataset was built from (raw folder, prompts, sample or not), or None."""
    f = Path(dataset_dir) / "source.json"
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _asked_for(raw_dir: str | Path | None) -> Path | None:
    """The raw folder the learner asked for (argument, else ``SPEECHLAB_RAW_DIR``); None: the sample."""
    wanted = raw_dir if raw_dir not in (None, "") else os.environ.get("SPEECHLAB_RAW_DIR") or None
    return Path(wanted).expanduser().resolve() if wanted else None


def ensure_dataset(work: str | Path | None = None, progress: bool = True, raw_dir: str | Path | None = None) -> Path:
    """The dataset folder ``<work>/dataset``; built from the bundled ``sample_data/`` only if the learner asked
    for the sample.

    Later notebooks call this, so each can start without having run notebook 01. The sample is used only when no
    raw folder of the learner's own was asked for (``raw_dir``, else ``$SPEECHLAB_RAW_DIR``, is unset) and
    ``<work>/dataset`` holds nothing of the learner's. Otherwise a missing, incomplete, empty or other-source
    dataset stops with :class:`PrepError` saying why — the sample voice never stands in for the learner's.
    """
    from .config import SAMPLE_DATA, work_dir

    work = Path(work) if work is not None else work_dir()
    dataset = work / "dataset"
    sample_raw = (SAMPLE_DATA / "raw").resolve()
    wanted = _asked_for(raw_dir)
    own = wanted is not None and wanted != sample_raw
    source = read_source(dataset)
    manifest = dataset / "manifest.jsonl"
    complete = manifest.is_file() and (dataset / "hf" / "dataset_dict.json").exists()
    built_from = Path(source["raw_dir"]) if source else None
    if complete and manifest.read_text(encoding="utf-8").strip():
        if own and built_from is not None and built_from != wanted:
            raise PrepError(f"{dataset} was built from {built_from}, but your takes are in {wanted} "
                            "(SPEECHLAB_RAW_DIR): run notebook 01 on them first (its output replaces this dataset), "
                            "or unset SPEECHLAB_RAW_DIR to go on with the data that is there.")
        if own and built_from is None and is_sample_dataset(dataset):
            raise PrepError(f"{dataset} holds the bundled sample takes, but your takes are in {wanted} "
                            "(SPEECHLAB_RAW_DIR): run notebook 01 on them first.")
        return dataset
    report = dataset / "report.csv"
    why = ""
    if report.is_file() and manifest.is_file() and not manifest.read_text(encoding="utf-8").strip():
        why = f" Notebook 01 found no usable take ({report} says why for each)."
    learners = built_from is not None and built_from != sample_raw
    if own or learners:
        whose = wanted if own else built_from
        raise PrepError(f"No usable dataset at {dataset} from your takes in {whose}.{why} Run notebook 01 on them "
                        "(or `python -m helpers.prep`) and read why it stopped; the bundled sample takes are not "
                        "used in their place. To work with the sample instead, unset SPEECHLAB_RAW_DIR and remove "
                        f"{dataset}.")
    raw, prompts = SAMPLE_DATA / "raw", SAMPLE_DATA / "prompts.csv"
    if not raw.is_dir() or not prompts.is_file():
        raise PrepError(f"No dataset at {dataset} and no sample data at {raw} to build one from. "
                        "Run notebook 01 on your takes, or `make sample-data` to create the sample set.")
    print(f"No dataset at {dataset} yet, and no recordings of your own were asked for (SPEECHLAB_RAW_DIR is unset): "
          f"building it from the bundled sample takes in {raw} (about a minute)...")
    res = prepare(raw, prompts, dataset, progress=progress)
    print(res.summary())
    return dataset


def is_sample_dataset(dataset_dir: str | Path) -> bool:
    """True if the dataset was prepared from the bundled sample takes (``sample_data/raw``), not a learner's own.

    ``source.json`` (written by prep) must not name another raw folder, and, from ``report.csv``, every take's raw
    file name *and* its raw duration (to the millisecond) must be those of a bundled sample file. Someone who
    recorded the same prompts has the same names, not the same lengths.
    """
    import soundfile as sf

    from .config import SAMPLE_DATA

    source = read_source(dataset_dir)
    if source is not None and not source.get("sample"):
        return False
    report = Path(dataset_dir) / "report.csv"
    if not report.is_file():
        return False
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        src = SAMPLE_DATA / "raw" / r.get("file", "")
        if not r.get("file") or not src.is_file():
            return False
        try:
            if abs(sf.info(str(src)).duration - float(r.get("raw_duration_s") or -1)) > 0.002:
                return False
        except (RuntimeError, ValueError):
            if r.get("verdict") == "ok":  # the planted corrupt file cannot be read; a usable one must be
                return False
    return bool(rows)


def load_manifest(dataset_dir: str | Path) -> list[dict[str, Any]]:
    """The usable takes of a prepared dataset, one dict per take, with an absolute ``audio_path`` added."""
    dataset_dir = Path(dataset_dir)
    manifest = dataset_dir / "manifest.jsonl"
    if not manifest.is_file():
        raise PrepError(f"{manifest} not found. Run notebook 01 (or helpers.prep.ensure_dataset()) to build the dataset.")
    rows = []
    for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise PrepError(f"{manifest}, line {n}: not valid JSON ({err}). Delete the file and run prep again.") from None
        row["audio_path"] = str((dataset_dir / row["path"]).resolve())
        rows.append(row)
    return rows


def read_report(dataset_dir: str | Path) -> list[dict[str, str]]:
    """Every take's row of ``report.csv`` (strings, as CSV stores them)."""
    with (Path(dataset_dir) / "report.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def usable_minutes_advice(minutes: float) -> str:
    """What a learner can expect from this much audio."""
    if minutes <= 0:
        return ("No usable minutes: nothing to train on. Fix what the report says for the excluded takes "
                "and run the prep again.")
    if minutes < 5:
        return (f"{minutes:.1f} usable minutes is a demo-sized set: enough to learn the workflow, not enough for the "
                "fine-tuned voice to sound like you. Aim for 15-30 minutes (about 200-400 takes) for SpeechT5; "
                "NeMo suggests 5 minutes as the bare minimum for a new speaker.")
    if minutes < 15:
        return f"{minutes:.1f} usable minutes: a fine-tune will pick up your voice's colour; 15-30 minutes sounds closer."
    return f"{minutes:.1f} usable minutes: a good amount for fine-tuning SpeechT5 on your voice."


# --------------------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    """The command line's options (a later stage can add its own before :func:`main` parses them)."""
    ap = argparse.ArgumentParser(
        prog="python -m helpers.prep",
        description="Raw takes + prompts table -> 16 kHz mono dataset (WAVs, manifest, HF dataset).",
        epilog=f"Exit status: 0 done; {EXIT_BAD_INPUT} bad input (nothing written); {EXIT_NOTHING_USABLE} no take "
               "usable (report.csv says why).")
    ap.add_argument("--raw", required=True, help="folder of raw takes (WAV/FLAC/OGG); only read, never written")
    ap.add_argument("--prompts", default=None,
                    help="prompts table: filename,transcript CSV (also ; or tab separated, any common encoding) or an "
                         "LJSpeech metadata.csv; default: prompts.csv/metadata.csv in --raw or its parent")
    ap.add_argument("--out", required=True, help="output dataset folder (e.g. work/dataset); never inside --raw")
    ap.add_argument("--trim", choices=A.TRIM_METHODS, default=PrepSettings.trim_method)
    ap.add_argument("--margin-db", type=float, default=PrepSettings.energy_margin_db,
                    help="energy trim: dB above the noise floor that counts as speech")
    ap.add_argument("--pad-ms", type=float, default=PrepSettings.pad_ms)
    ap.add_argument("--target-lufs", type=float, default=PrepSettings.target_lufs)
    ap.add_argument("--peak-dbfs", type=float, default=PrepSettings.peak_dbfs)
    ap.add_argument("--speaker", default=PrepSettings.speaker)
    ap.add_argument("--no-hf", action="store_true", help="skip writing the Hugging Face dataset")
    ap.add_argument("--check-reading", action="store_true", help="then listen to every kept take (Whisper, offline) and "
                    "flag takes read differently from the prompt; kept with a warning (helpers.takecheck)")
    ap.add_argument("--exclude-misread", action="store_true", help="like --check-reading, and leave flagged takes out")
    return ap


def settings_from_args(args: argparse.Namespace) -> PrepSettings:
    return PrepSettings(trim_method=args.trim, energy_margin_db=args.margin_db, pad_ms=args.pad_ms,
                        target_lufs=args.target_lufs, peak_dbfs=args.peak_dbfs, speaker=args.speaker)


def print_result(res: PrepResult) -> None:
    """What the command line prints after a run: notes, each excluded take and why, the summary."""
    for note in res.notes:
        print(f"  note: {note}")
    for r in res.rows:
        if r["verdict"] != "ok":
            detail = r.get("error") or ""
            print(f"  excluded {r['file']}: {r['reason']}" + (f" - {detail}" if detail else ""))
        elif r.get("warnings"):
            print(f"  kept {r['file']} with a warning: {r['warnings']}")
    print(res.summary())
    print(f"  processed {res.processed}, unchanged {res.reused}; {res.seconds:.1f} s")
    print("  " + usable_minutes_advice(res.usable_minutes))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        res = prepare(args.raw, args.prompts, args.out, settings_from_args(args), write_hf=not args.no_hf)
    except PrepError as err:
        print(f"error: {err}")
        return EXIT_BAD_INPUT
    print_result(res)
    if not res.manifest:
        print(f"error: {res.nothing_usable()}")
        return EXIT_NOTHING_USABLE
    if args.check_reading or args.exclude_misread:
        from .takecheck import run_on_dataset

        run_on_dataset(args.out, args.raw, exclude=args.exclude_misread)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --------------------------------------------------------------------------------------- measuring the trim

def load_truth(truth_json: str | Path) -> dict[str, dict[str, Any]]:
    """The sample data's ground truth (``raw_truth.json``), without its ``_meta`` block."""
    truth_json = Path(truth_json)
    if not truth_json.is_file():
        raise PrepError(f"{truth_json} not found: it ships with sample_data/ (`make sample-data` rebuilds it).")
    data = json.loads(truth_json.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def clean_16k(path: str | Path, target_sr: int = A.TARGET_SR) -> np.ndarray:
    """A take as the trimmers see it: mono, DC removed, resampled (timings unchanged)."""
    raw, sr = A.load(path)
    return A.resample(A.remove_dc(A.to_mono(raw)), sr, target_sr)


def trim_errors(raw_dir: str | Path, truth: dict[str, dict[str, Any]], methods: Iterable[str] = A.TRIM_METHODS,
                settings: PrepSettings = PrepSettings(), progress: bool = True) -> list[dict[str, Any]]:
    """Boundary errors of each trim method against ground truth, on the takes expected to be usable.

    One row per (take, method): detected and true start/end, and the signed errors in ms
    (positive = the detected boundary is later than the truth). Padding is not included.
    """
    from tqdm.auto import tqdm

    raw_dir = Path(raw_dir)
    out = []
    names = [n for n, t in truth.items() if t.get("expected_verdict") == "ok"]
    for name in tqdm(names, desc="trim vs truth", unit="take", disable=not progress):
        y = clean_16k(raw_dir / name, settings.target_sr)
        for method in methods:
            b = A.trim_bounds(y, settings.target_sr, method, margin_db=settings.energy_margin_db,
                              vad_threshold=settings.vad_threshold)
            t = truth[name]
            out.append({"file": name, "method": method, "start_s": b.start_s, "end_s": b.end_s,
                        "true_start_s": t["speech_start_s"], "true_end_s": t["speech_end_s"],
                        "start_err_ms": 1000 * (b.start_s - t["speech_start_s"]),
                        "end_err_ms": 1000 * (b.end_s - t["speech_end_s"])})
    return out


def trim_error_summary(errors: list[dict[str, Any]], tolerance_ms: float = 30.0) -> dict[str, dict[str, float]]:
    """Per method: median and 95th-percentile |error| over both boundaries, and the share of takes
    whose start AND end are within ``tolerance_ms``."""
    summary: dict[str, dict[str, float]] = {}
    for method in sorted({e["method"] for e in errors}):
        rows = [e for e in errors if e["method"] == method]
        both = np.abs([[e["start_err_ms"], e["end_err_ms"]] for e in rows])
        summary[method] = {
            "median_ms": round(float(np.median(both)), 1),
            "p95_ms": round(float(np.percentile(both, 95)), 1),
            "max_ms": round(float(both.max()), 1),
            "within_tol_share": round(float(np.mean(both.max(axis=1) <= tolerance_ms)), 3),
            "takes": len(rows),
        }
    return summary
