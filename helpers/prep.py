"""The recording-prep pipeline: a folder of raw takes + a prompts table -> a validated 16 kHz dataset.

Why this module exists
----------------------
Notebook 01 explains each step on one take; this module runs the same steps on every take,
so a learner with hundreds of recordings can do it without the notebook::

    python -m helpers.prep --raw my_takes/ --prompts my_prompts.csv --out work/dataset

For each take: load (any rate/width/channels) -> mono -> DC removal -> 16 kHz -> trim
(energy or Silero VAD, plus a pad) -> loudness to target with a peak ceiling -> PCM16 WAV.
Every take gets a row in ``report.csv`` with its measurements, a verdict and the reason;
takes that fail a check are excluded, never crash the run. The output folder holds::

    wavs/<id>.wav      16 kHz mono PCM16, trimmed, loudness-normalised
    manifest.jsonl     one JSON object per usable take (id, path, text, text_norm, duration_s, speaker, split)
    report.csv         every take, usable or not, with its measurements and verdict
    settings.json      the settings used and their hash
    hf/                the same as a datasets.DatasetDict (train/validation/test) saved to disk

Raw takes are only read. Every file is written atomically, and a re-run skips takes whose
source, transcript and settings have not changed (``.state/<id>.json`` remembers them).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import audio as A
from .files import atomic_dir, write_json, write_text, write_wav
from .text import normalize_for_tts

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga")
FILE_COLUMNS = ("file", "filename", "path", "wav", "audio")
TEXT_COLUMNS = ("text", "transcript", "prompt", "sentence")

__all__ = ["PrepSettings", "read_prompts", "process_take", "prepare", "ensure_dataset", "load_manifest",
           "assign_splits", "PrepError", "main"]


class PrepError(Exception):
    """Bad input to the pipeline (missing folder, unreadable prompts table); says what to fix."""


@dataclass(frozen=True)
class PrepSettings:
    """Everything that changes the output. Its :meth:`digest` decides whether a re-run redoes a take."""

    target_sr: int = A.TARGET_SR
    target_lufs: float = A.TARGET_LUFS
    peak_dbfs: float = A.PEAK_CEILING_DBFS
    trim_method: str = "energy"          # "energy" or "vad"
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
    speaker: str = "learner"
    eval_fraction: float = 0.1           # share of takes in validation, and again in test (at least 1 each)

    def __post_init__(self) -> None:
        if self.trim_method not in ("energy", "vad"):
            raise ValueError(f"trim_method must be 'energy' or 'vad', not {self.trim_method!r}")

    def digest(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------- prompts

def read_prompts(csv_path: str | Path) -> dict[str, str]:
    """Read the prompts table: a CSV with a file column and a transcript column -> ``{file_name: text}``.

    Accepted headers: file/filename/path/wav/audio and text/transcript/prompt/sentence.
    Keys are file names as written (matched by name, then by stem, against the raw folder).
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise PrepError(f"{csv_path}: prompts table not found. Pass --prompts with a CSV of file,text rows.")
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        fcol = next((reader.fieldnames[i] for i, h in enumerate(header) if h in FILE_COLUMNS), None)
        tcol = next((reader.fieldnames[i] for i, h in enumerate(header) if h in TEXT_COLUMNS), None)
        if fcol is None or tcol is None:
            raise PrepError(f"{csv_path}: needs a file column ({'/'.join(FILE_COLUMNS)}) and a transcript column "
                            f"({'/'.join(TEXT_COLUMNS)}); found {reader.fieldnames}. Rename the header row.")
        prompts = {}
        for row in reader:
            name = (row.get(fcol) or "").strip()
            if name:
                prompts[Path(name).name] = (row.get(tcol) or "").strip()
    return prompts


def _take_id(path: Path) -> str:
    return path.stem


def _find_takes(raw_dir: Path, prompts: dict[str, str]) -> list[tuple[str, Path, str]]:
    """(id, path, text) for every audio file in ``raw_dir`` and every prompt naming a file not there."""
    by_stem = {Path(k).stem: v for k, v in prompts.items()}
    files = sorted(p for p in raw_dir.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    takes, seen = [], set()
    for p in files:
        text = prompts.get(p.name, by_stem.get(p.stem, ""))
        takes.append((_take_id(p), p, text))
        seen.add(p.stem)
    for name, text in prompts.items():  # prompts whose file is missing: reported, not silently dropped
        if Path(name).stem not in seen:
            takes.append((Path(name).stem, raw_dir / name, text))
    return takes


# --------------------------------------------------------------------------------------- one take

def _row_base(take_id: str, path: Path, text: str) -> dict[str, Any]:
    return {"id": take_id, "file": path.name, "text": text, "transcript_present": bool(text.strip()),
            "verdict": "ok", "reason": "", "warnings": ""}


def process_take(path: str | Path, text: str, settings: PrepSettings = PrepSettings(),
                 take_id: str | None = None, vocab: set[str] | None = None) -> tuple[dict[str, Any], np.ndarray | None]:
    """Run the whole pipeline on one take. Returns ``(report_row, audio_16k or None if excluded)``.

    Never raises for a bad take: the verdict ("ok" / "excluded") and reason say what happened.
    """
    path = Path(path)
    take_id = take_id or _take_id(path)
    row = _row_base(take_id, path, text)
    warnings: list[str] = []

    def exclude(reason: str) -> tuple[dict[str, Any], None]:
        row.update(verdict="excluded", reason=reason, warnings="; ".join(warnings))
        return row, None

    try:
        raw, sr = A.load(path)
    except A.AudioFileError as err:
        msg = str(err)
        reason = ("missing_file" if "not found" in msg else "empty" if ("empty" in msg or "no samples" in msg)
                  else "corrupt")
        row["error"] = msg
        return exclude(reason)
    row.update(sample_rate=sr, channels=raw.shape[1], raw_duration_s=round(raw.shape[0] / sr, 3),
               peak_dbfs=round(A.peak_dbfs(raw), 2), clip_share=round(A.clip_share(raw), 5))
    mono = A.to_mono(raw)
    dc = float(mono.mean())
    row["dc_offset"] = round(dc, 4)
    if abs(dc) > 0.01:
        warnings.append(f"DC offset {dc:+.3f} removed")
    clean = A.resample(A.remove_dc(mono), sr, settings.target_sr)
    osr = settings.target_sr
    row["rms_dbfs"] = round(A.rms_dbfs(clean), 2)
    if A.peak_dbfs(clean) < settings.silent_peak_dbfs:
        return exclude("silent")
    if row["clip_share"] > settings.max_clip_share:
        return exclude("clipped")

    if settings.trim_method == "vad":
        bounds = A.vad_bounds(clean, osr, threshold=settings.vad_threshold)
    else:
        bounds = A.energy_bounds(clean, osr, margin_db=settings.energy_margin_db)
    if not bounds.found:
        return exclude("silent")
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
        return exclude("missing_transcript")
    if speech_s < settings.min_speech_s:
        return exclude("too_short")
    if speech_s > settings.max_speech_s:
        return exclude("too_long")
    if not settings.min_chars_per_s <= row["chars_per_s"] <= settings.max_chars_per_s:
        return exclude("transcript_mismatch")

    trimmed = A.apply_trim(clean, osr, bounds, settings.pad_ms)
    out, info = A.normalize_loudness(trimmed, osr, settings.target_lufs, settings.peak_dbfs)
    if info["limited"]:
        warnings.append("peaks limited")
    row.update(duration_s=round(out.size / osr, 3), loudness_before_lufs=round(info["before_lufs"], 2),
               loudness_after_lufs=round(info["after_lufs"], 2), gain_db=info["gain_db"],
               peak_after_dbfs=round(A.peak_dbfs(out), 2), warnings="; ".join(warnings))
    return row, out


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


def _source_key(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except FileNotFoundError:
        return {"size": None, "mtime_ns": None}


def prepare(raw_dir: str | Path, prompts_csv: str | Path, out_dir: str | Path,
            settings: PrepSettings = PrepSettings(), progress: bool = True, vocab: set[str] | None = None,
            write_hf: bool = True) -> PrepResult:
    """Run the pipeline on every take in ``raw_dir`` and write the dataset to ``out_dir``.

    Safe to re-run: takes whose source file, transcript and settings are unchanged are not
    processed again. Takes that disappeared from the folder or became excluded lose their WAV.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise PrepError(f"{raw_dir}: raw takes folder not found. Pass --raw with the folder of your WAV/FLAC/OGG takes.")
    if out_dir.resolve() == raw_dir.resolve() or raw_dir.resolve() in out_dir.resolve().parents:
        raise PrepError(f"{out_dir}: the output folder must not be inside the raw folder {raw_dir} "
                        "(raw takes are never modified). Choose another --out.")
    prompts = read_prompts(prompts_csv)
    takes = _find_takes(raw_dir, prompts)
    if not takes:
        raise PrepError(f"{raw_dir}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) and no prompts. Check the folder.")
    wav_dir, state_dir = out_dir / "wavs", out_dir / ".state"
    wav_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    digest = settings.digest()
    vocab_key = hashlib.sha1("".join(sorted(vocab)).encode()).hexdigest()[:8] if vocab else "basic"

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    rows, processed, reused, raw_seconds, processed_seconds = [], 0, 0, 0.0, 0.0
    for take_id, path, text in tqdm(takes, desc="prep", unit="take", disable=not progress):
        key = {"source": _source_key(path), "text": text, "settings": digest, "vocab": vocab_key}
        state_file = state_dir / f"{take_id}.json"
        wav = wav_dir / f"{take_id}.wav"
        if state_file.exists():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            if state.get("key") == key and (state["row"]["verdict"] != "ok" or wav.exists()):
                rows.append(state["row"])
                reused += 1
                raw_seconds += state["row"].get("raw_duration_s", 0.0)
                continue
        row, out = process_take(path, text, settings, take_id, vocab)
        if out is not None:
            write_wav(wav, out, settings.target_sr)
            row["path"] = f"wavs/{wav.name}"
        elif wav.exists():
            wav.unlink()  # excluded now: no stale WAV may stay behind
        write_json(state_file, {"key": key, "row": row})
        rows.append(row)
        processed += 1
        raw_seconds += row.get("raw_duration_s", 0.0)
        processed_seconds += row.get("raw_duration_s", 0.0)
    # Takes removed from the folder since the last run lose their outputs.
    ids = {r["id"] for r in rows}
    for stale in wav_dir.glob("*.wav"):
        if stale.stem not in ids:
            stale.unlink()
    for stale in state_dir.glob("*.json"):
        if stale.stem not in ids:
            stale.unlink()

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
    if write_hf:
        _write_hf(out_dir, manifest, settings.target_sr)
    return PrepResult(out_dir, rows, manifest, time.perf_counter() - t0, processed, reused, raw_seconds,
                      processed_seconds, settings)


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
        dd.save_to_disk(str(tmp))
        (tmp / "speechlab_manifest.sha").write_text(stamp + "\n")


# --------------------------------------------------------------------------------------- hand-off

def ensure_dataset(work: str | Path | None = None, progress: bool = True) -> Path:
    """The dataset folder ``<work>/dataset``, built from the bundled ``sample_data/`` if it is missing.

    Later notebooks call this, so each can start without having run notebook 01 (about a minute).
    """
    from .config import SAMPLE_DATA, work_dir

    work = Path(work) if work is not None else work_dir()
    dataset = work / "dataset"
    if (dataset / "manifest.jsonl").exists() and (dataset / "hf" / "dataset_dict.json").exists():
        return dataset
    raw, prompts = SAMPLE_DATA / "raw", SAMPLE_DATA / "prompts.csv"
    if not raw.is_dir() or not prompts.is_file():
        raise PrepError(f"No dataset at {dataset} and no sample data at {raw} to build one from. "
                        "Run notebook 01 on your takes, or `make sample-data` to create the sample set.")
    print(f"No dataset at {dataset} yet: building it from the sample takes in {raw} (about a minute)...")
    res = prepare(raw, prompts, dataset, progress=progress)
    print(res.summary())
    return dataset


def is_sample_dataset(dataset_dir: str | Path) -> bool:
    """True if the dataset was prepared from the bundled sample takes (``sample_data/raw``), not a learner's own.

    Judged from ``report.csv``: every take's raw file name *and* its raw duration (to the millisecond) must be
    those of a bundled sample file. Someone who recorded the same prompts has the same names, not the same lengths.
    """
    import csv

    import soundfile as sf

    from .config import SAMPLE_DATA

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
    if minutes < 5:
        return (f"{minutes:.1f} usable minutes is a demo-sized set: enough to learn the workflow, not enough for the "
                "fine-tuned voice to sound like you. Aim for 15-30 minutes (about 200-400 takes) for SpeechT5; "
                "NeMo suggests 5 minutes as the bare minimum for a new speaker.")
    if minutes < 15:
        return f"{minutes:.1f} usable minutes: a fine-tune will pick up your voice's colour; 15-30 minutes sounds closer."
    return f"{minutes:.1f} usable minutes: a good amount for fine-tuning SpeechT5 on your voice."


# --------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.prep",
                                 description="Raw takes + prompts table -> 16 kHz mono dataset (WAVs, manifest, HF dataset).")
    ap.add_argument("--raw", required=True, help="folder of raw takes (WAV/FLAC/OGG); only read")
    ap.add_argument("--prompts", required=True, help="CSV with a file column and a transcript column")
    ap.add_argument("--out", required=True, help="output dataset folder (e.g. work/dataset)")
    ap.add_argument("--trim", choices=("energy", "vad"), default=PrepSettings.trim_method)
    ap.add_argument("--margin-db", type=float, default=PrepSettings.energy_margin_db,
                    help="energy trim: dB above the noise floor that counts as speech")
    ap.add_argument("--pad-ms", type=float, default=PrepSettings.pad_ms)
    ap.add_argument("--target-lufs", type=float, default=PrepSettings.target_lufs)
    ap.add_argument("--peak-dbfs", type=float, default=PrepSettings.peak_dbfs)
    ap.add_argument("--speaker", default=PrepSettings.speaker)
    ap.add_argument("--no-hf", action="store_true", help="skip writing the Hugging Face dataset")
    args = ap.parse_args(argv)
    settings = PrepSettings(trim_method=args.trim, energy_margin_db=args.margin_db, pad_ms=args.pad_ms,
                            target_lufs=args.target_lufs, peak_dbfs=args.peak_dbfs, speaker=args.speaker)
    try:
        res = prepare(args.raw, args.prompts, args.out, settings, write_hf=not args.no_hf)
    except PrepError as err:
        print(f"error: {err}")
        return 2
    for r in res.rows:
        if r["verdict"] != "ok":
            print(f"  excluded {r['file']}: {r['reason']}")
    print(res.summary())
    print(f"  processed {res.processed}, unchanged {res.reused}; {res.seconds:.1f} s")
    print("  " + usable_minutes_advice(res.usable_minutes))
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


def trim_errors(raw_dir: str | Path, truth: dict[str, dict[str, Any]], methods: Iterable[str] = ("energy", "vad"),
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
            if method == "vad":
                b = A.vad_bounds(y, settings.target_sr, threshold=settings.vad_threshold)
            else:
                b = A.energy_bounds(y, settings.target_sr, margin_db=settings.energy_margin_db)
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
