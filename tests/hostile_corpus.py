"""A hostile corpus for the bring-your-own-recordings path: the folders and tables people actually have.

``build_takes(root)`` writes ONE raw folder of awkward takes (every sample format and rate the pipeline must take,
broken files, odd names, odd transcripts) with its prompts table, and returns the verdict each take must get.
``FOLDER_CASES`` are whole runs of ``python -m helpers.prep``: table variants (encodings, separators, LJSpeech,
Excel), layouts that would endanger the raw folder, and inputs that must stop with a message; each has the exit
status and a fragment of the message it must print.

Every take is made from one bundled sample take (a TTS voice, ~4.7 s at 16 kHz), so any trim method finds its
speech, and the whole corpus runs in seconds on 2 cores.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

SR = 16_000
RNG_SEED = 14
# The voice: one bundled sample take (a real TTS voice, so every trim method - energy, Silero VAD, hybrid - finds
# its speech), cropped to the speech plus 0.3 s and resampled to 16 kHz. Its transcript fits its length (20 chars/s).
VOICE_TAKE = "take_011.flac"
SENTENCE = "Sheep grazed quietly on the hillside while a cheerful shepherd played an old fiddle."
SAMPLE_RAW = Path(__file__).resolve().parents[1] / "sample_data" / "raw"
_VOICE: dict[int, np.ndarray] = {}


def speech(sr: int = SR, seed: int = 0) -> np.ndarray:
    """The sample voice reading SENTENCE (~4.7 s, mono float32) at ``sr``; ``seed`` adds a little different noise."""
    if sr not in _VOICE:
        import json

        import soxr

        x, r = sf.read(str(SAMPLE_RAW / VOICE_TAKE), dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        t = json.loads((SAMPLE_RAW.parent / "raw_truth.json").read_text())[VOICE_TAKE]
        x = x[int((t["speech_start_s"] - 0.3) * r): int((t["speech_end_s"] + 0.3) * r)]
        x = x - x.mean()
        _VOICE[sr] = soxr.resample(x, r, sr).astype(np.float32)
    rng = np.random.default_rng(RNG_SEED + seed)
    x = _VOICE[sr]
    return (x + rng.standard_normal(x.size).astype(np.float32) * 1e-4).astype(np.float32)


def sha256_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest): raw must never change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> None:
    sf.write(str(path), x, sr, subtype=subtype, format="WAV")


# --------------------------------------------------------------------------------------- one folder of takes

@dataclass
class TakeCase:
    file: str               # as it lies in the raw folder ("" for a prompt whose file is missing)
    reason: str             # "" = usable ("ok"), else the exclusion reason
    fragment: str = ""      # must appear in the row's warnings (kept) or error (excluded)
    prompt_name: str | None = None   # the name in the table (default: file); None with file="" never happens
    text: str = SENTENCE
    listed: bool = True     # False: not in the prompts table at all
    in_report: bool = True  # False: must not appear in the report (hidden files)


def build_takes(root: Path) -> tuple[Path, Path, list[TakeCase]]:
    """Write the hostile take folder and its table under ``root``; return (raw_dir, prompts_csv, cases)."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    x = speech()
    cases: list[TakeCase] = []

    def add(file: str, reason: str = "", fragment: str = "", **kw) -> None:
        cases.append(TakeCase(file, reason, fragment, **kw))

    _wav(raw / "pcm16.wav", x); add("pcm16.wav")
    _wav(raw / "pcm8u.wav", x, subtype="PCM_U8"); add("pcm8u.wav")
    _wav(raw / "pcm24.wav", x, subtype="PCM_24"); add("pcm24.wav")
    _wav(raw / "pcm32.wav", x, subtype="PCM_32"); add("pcm32.wav")
    _wav(raw / "float32.wav", x, subtype="FLOAT"); add("float32.wav")
    _wav(raw / "float_hot.wav", x * (2.5 / np.max(np.abs(x))), subtype="FLOAT"); add("float_hot.wav", "", "scaled down")  # +8 dBFS
    _wav(raw / "rate8k.wav", speech(8000), 8000); add("rate8k.wav", "", "upsampled")
    sf.write(str(raw / "rate96k.flac"), speech(96000), 96000); add("rate96k.flac")
    six = np.stack([x * (0.5 + 0.1 * c) for c in range(6)], axis=1)
    _wav(raw / "six_channels.wav", six); add("six_channels.wav")
    _wav(raw / "stereo_cancel.wav", np.stack([x, -x], axis=1)); add("stereo_cancel.wav", "", "channels cancel")
    sf.write(str(raw / "take.ogg"), x, SR); add("take.ogg")
    _wav(raw / "dc_offset.wav", x + 0.05); add("dc_offset.wav", "", "DC offset")
    (raw / "empty.wav").write_bytes(b""); add("empty.wav", "empty", "0 bytes")
    _wav(raw / "no_frames.wav", np.zeros(0, np.float32)); add("no_frames.wav", "empty", "no samples")
    _wav(raw / "cut.wav", x)
    b = (raw / "cut.wav").read_bytes(); (raw / "cut.wav").write_bytes(b[: int(len(b) * 0.4)])
    add("cut.wav", "truncated", "cut off")
    sf.write(str(raw / "cut_flac.flac"), np.concatenate([x, x]), SR)
    b = (raw / "cut_flac.flac").read_bytes(); (raw / "cut_flac.flac").write_bytes(b[: int(len(b) * 0.4)])
    add("cut_flac.flac", "truncated", "cut off")
    (raw / "not_audio.wav").write_text("this is a text file renamed to .wav\n" * 20); add("not_audio.wav", "corrupt", "cannot be read")
    nan = x.copy(); nan[100:200] = np.nan
    _wav(raw / "nan.wav", nan, subtype="FLOAT"); add("nan.wav", "corrupt", "NaN")
    _wav(raw / "blip.wav", x[int(2.0 * SR): int(2.05 * SR)]); add("blip.wav", "too_short", "0.05 s")
    _wav(raw / "silent.wav", np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 1e-4)
    add("silent.wav", "silent", "nothing recorded")
    _wav(raw / "clipped.wav", np.clip(x * 20, -1, 1)); add("clipped.wav", "clipped", "input gain lower")
    _wav(raw / "take with spaces.wav", x); add("take with spaces.wav")
    nfd = unicodedata.normalize("NFD", "café_señal.wav")
    _wav(raw / nfd, x); add(nfd, "", prompt_name=unicodedata.normalize("NFC", "café_señal.wav"))
    _wav(raw / "LOUD_EXT.WAV", x); add("LOUD_EXT.WAV", "", prompt_name="loud_ext.wav")
    _wav(raw / "studio_take.wav", x); add("studio_take.wav", "", prompt_name="studio_take.flac")
    _wav(raw / "emoji.wav", x); add("emoji.wav", "unreadable_transcript", "no characters SpeechT5 can read", text="👍🎉🔥")
    _wav(raw / "chinese.wav", x); add("chinese.wav", "unreadable_transcript", "'你'", text="你好，世界。")
    _wav(raw / "comma.wav", x); add("comma.wav", "", text="Peas at the wall, much to our dismay")
    _wav(raw / "wrong_text.wav", x)
    add("wrong_text.wav", "transcript_mismatch", "is this the transcript of this take?", text="This transcript is far too long to have been read aloud in "
        "under five seconds by anybody at all: it goes on and on about sheep, hillsides, shepherds, fiddles and a great "
        "many other things that were never said in this take.")
    _wav(raw / "no_text.wav", x); add("no_text.wav", "missing_transcript", "has no transcript", text="")
    _wav(raw / "unlisted.wav", x); add("unlisted.wav", "not_in_prompts", "is not named in", listed=False)
    (raw / "song.mp3").write_bytes(b"ID3\x03\x00" + bytes(200)); add("song.mp3", "unsupported_format", "Convert it")
    (raw / "pcm32.mp3").write_bytes(b"ID3\x03\x00" + bytes(200)); add("pcm32.mp3", in_report=False, listed=False)  # beside its WAV
    add("", "missing_file", "file not found", prompt_name="never_recorded.wav")
    (raw / "._pcm16.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(60)); add("._pcm16.wav", in_report=False, listed=False)
    (raw / "notes.txt").write_text("my recording notes\n"); add("notes.txt", in_report=False, listed=False)

    lines = ["filename,transcript"]
    for c in cases:
        if not c.listed:
            continue
        name = c.prompt_name or c.file
        text = c.text
        # the comma case is written WITHOUT quotes, as people type it; every other text is quoted when needed
        if c.file != "comma.wav" and ("," in text or '"' in text):
            text = '"' + text.replace('"', '""') + '"'
        lines.append(f"{name},{text}")
    prompts = root / "prompts.csv"
    prompts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return raw, prompts, cases


# --------------------------------------------------------------------------------------- whole runs

@dataclass
class FolderCase:
    name: str
    build: Callable[[Path], list[str]]     # writes under root, returns the argv for helpers.prep.main
    exit: int                              # expected exit status
    fragment: str                          # must appear in the printed output
    texts: dict[str, str] = field(default_factory=dict)   # id -> expected manifest text (exit 0 cases)


def _two_takes(raw: Path, names=("a01.wav", "a02.wav")) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        _wav(raw / n, speech(seed=i))


def _table(root: Path, content: str | bytes, name: str = "prompts.csv", encoding: str = "utf-8") -> Path:
    p = root / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return p


def _args(raw: Path, prompts: Path | None, out: Path) -> list[str]:
    a = ["--raw", str(raw), "--out", str(out), "--no-hf"]
    return a + (["--prompts", str(prompts)] if prompts is not None else [])


def _table_case(name: str, content, expect_texts: dict[str, str] | None = None, encoding: str = "utf-8",
                exit: int = 0, fragment: str = "2 of 2 takes usable", files=("a01.wav", "a02.wav"),
                table_name: str = "prompts.csv") -> FolderCase:
    def build(root: Path) -> list[str]:
        _two_takes(root / "raw", files)
        return _args(root / "raw", _table(root, content, table_name, encoding), root / "out")
    return FolderCase(name, build, exit, fragment, expect_texts or {})


T1, T2 = "Sheep grazed quietly on the hillside, café and all.", "A cheerful shepherd played an old fiddle; naïve."
FOLDER_CASES: list[FolderCase] = [
    _table_case("ljspeech metadata.csv (id|text|normalized, no header, no extension)",
                "a01|Dr. Smith, 1 shepherd and his sheep|Doctor Smith, one shepherd and his sheep\na02|Plain \"quoted\" words about a fiddle|Plain \"quoted\" words about a fiddle\n",
                {"a01": "Doctor Smith, one shepherd and his sheep", "a02": 'Plain "quoted" words about a fiddle'}, table_name="metadata.csv"),
    _table_case("semicolon-separated (German Excel)", f"filename;transcript\na01.wav;{T1}\na02.wav;\"{T2}\"\n",
                {"a01": T1, "a02": T2}),
    _table_case("tab-separated", f"file\ttext\na01.wav\t{T1}\na02.wav\t{T2}\n", {"a01": T1, "a02": T2}),
    _table_case("cp1252 (Windows Excel 'CSV')", f"filename,transcript\na01.wav,\"{T1}\"\na02.wav,{T2}\n",
                {"a01": T1, "a02": T2}, encoding="cp1252", fragment="cp1252 (detected)"),
    _table_case("UTF-16 with BOM, tab-separated (Excel 'Unicode text')",
                codecs.BOM_UTF16_LE + f"filename\ttranscript\r\na01.wav\t{T1}\r\na02.wav\t{T2}\r\n".encode("utf-16-le"),
                {"a01": T1, "a02": T2}),
    _table_case("UTF-8 with BOM and CRLF", codecs.BOM_UTF8 + f"filename,transcript\r\na01.wav,\"{T1}\"\r\na02.wav,{T2}\r\n".encode(),
                {"a01": T1, "a02": T2}),
    _table_case("no header, file,text rows", f"a01.wav,{T1}\na02.wav,{T2}\n", {"a01": T1, "a02": T2},
                fragment="2 of 2 takes usable"),
    _table_case("alias header file,text with Excel's trailing empty cells",
                f"file,text,,\na01.wav,\"{T1}\",,\na02.wav,{T2},,\n,,,\n", {"a01": T1, "a02": T2}),
    _table_case("unquoted comma inside the transcript: joined, never cut",
                "filename,transcript\na01.wav,Peas at the wall, much to our dismay, the shepherd said\na02.wav,Quite fine, really, and the fiddle too.\n",
                {"a01": "Peas at the wall, much to our dismay, the shepherd said", "a02": "Quite fine, really, and the fiddle too."}, fragment="joined back"),
    _table_case("paths in the file column (wavs/a01.wav, Windows backslashes)",
                f"path,sentence\nwavs/a01.wav,{T2}\nC:\\takes\\a02.wav,{T2}\n", {"a01": T2, "a02": T2}),
    _table_case("NFD names in the table, NFC files", f"filename,transcript\n{unicodedata.normalize('NFD', 'é01.wav')},{T2}\n"
                f"a02.wav,{T2}\n", {"é01": T2, "a02": T2}, files=("é01.wav", "a02.wav")),
    _table_case("repeated filename: stops naming both lines", f"filename,transcript\na01.wav,{T2}\na02.wav,{T2}\na01.WAV,Other.\n",
                exit=2, fragment="lines 2 and 4 both name the take 'a01'"),
    _table_case("an Excel workbook passed as the table", b"PK\x03\x04" + bytes(300), exit=2, fragment="workbook"),
    _table_case("binary garbage as the table", bytes(range(128, 256)) * 4 + b"\x81\x8d\x8f\x90\x9d", exit=2,
                fragment="Save it as UTF-8"),
    _table_case("extra field when the transcript is not the last column",
                f"transcript,filename\n{T2},a01.wav\nOne, two,a02.wav\n", exit=2, fragment="line 3: 3 fields"),
    _table_case("a quote that never closes", f'filename,transcript\na01.wav,"{T2}\na02.wav,{T2}\n', exit=2,
                fragment="not closed until line 3"),
    _table_case("no header and no recognisable layout", "hello world\nthis is not a table\n", exit=2,
                fragment="no header naming a file column"),
    _table_case("empty table", "", exit=2, fragment="the table is empty"),
    _table_case("every take excluded: exit 3 with the reason", "filename,transcript\na01.wav,\na02.wav,\n", exit=3,
                fragment="none of the 2 takes is usable (2 missing_transcript)"),
    _table_case("the table names none of the files", f"filename,transcript\nb01.wav,{T2}\nb02.wav,{T2}\n", exit=3,
                fragment="share no take"),
]


def _dup_stem(root: Path) -> list[str]:
    _two_takes(root / "raw", ("a21.wav", "a22.wav"))
    sf.write(str(root / "raw" / "a21.flac"), speech(), SR)
    return _args(root / "raw", _table(root, f"filename,transcript\na21.wav,{T2}\na22.wav,{T2}\n"), root / "out")


def _ljspeech_out_is_parent(root: Path) -> list[str]:
    _two_takes(root / "myvoice" / "wavs")
    t = _table(root / "myvoice", f"a01|{T2}|{T2}\na02|{T2}|{T2}\n", "metadata.csv")
    return _args(root / "myvoice" / "wavs", t, root / "myvoice")


def _out_is_raw(root: Path) -> list[str]:
    _two_takes(root / "raw")
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "raw")


def _out_inside_raw(root: Path) -> list[str]:
    _two_takes(root / "raw")
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "raw" / "dataset")


def _out_symlink_to_raw(root: Path) -> list[str]:
    _two_takes(root / "raw")
    (root / "link").symlink_to(root / "raw", target_is_directory=True)
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "link")


def _wavs_symlink_to_raw(root: Path) -> list[str]:
    _two_takes(root / "raw")
    (root / "out").mkdir()
    (root / "out" / "wavs").symlink_to(root / "raw", target_is_directory=True)
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "out")


def _raw_inside_out_elsewhere(root: Path) -> list[str]:
    _two_takes(root / "proj" / "recordings")
    return _args(root / "proj" / "recordings", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "proj")


def _out_is_a_file(root: Path) -> list[str]:
    _two_takes(root / "raw")
    (root / "out.txt").write_text("not a folder")
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "out.txt")


def _out_parent_is_a_file(root: Path) -> list[str]:
    _two_takes(root / "raw")
    (root / "file").write_text("not a folder")
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "file" / "dataset")


def _foreign_file_in_out(root: Path) -> list[str]:
    _two_takes(root / "raw")
    (root / "out" / "wavs").mkdir(parents=True)
    (root / "out" / "wavs" / "a01.wav").write_bytes(b"somebody else's file")
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), root / "out")


def _missing_raw(root: Path) -> list[str]:
    return _args(root / "nope", _table(root, f"a01.wav,{T2}\n"), root / "out")


def _missing_prompts(root: Path) -> list[str]:
    _two_takes(root / "raw")
    return _args(root / "raw", root / "nope.csv", root / "out")


def _found_prompts(root: Path) -> list[str]:
    _two_takes(root / "voice" / "wavs")
    _table(root / "voice", f"a01|{T2}|{T2}\na02|{T2}|{T2}\n", "metadata.csv")
    return _args(root / "voice" / "wavs", None, root / "out")


def read_only_out(root: Path) -> Path | None:
    """A folder prep cannot write into: a 0555 folder (non-root), /sys/kernel/... for root; None if neither."""
    if os.geteuid() != 0:
        ro = root / "readonly"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "dataset"
    return Path("/sys/kernel/speechlab_dataset") if Path("/sys/kernel").is_dir() else None


def _read_only(root: Path) -> list[str]:
    _two_takes(root / "raw")
    out = read_only_out(root)
    return _args(root / "raw", _table(root, f"a01.wav,{T2}\na02.wav,{T2}\n"), out or root / "skip")


FOLDER_CASES += [
    FolderCase("two audio files with one stem (a21.wav + a21.flac)", _dup_stem, 2, "two recordings of one take"),
    FolderCase("LJSpeech layout with --out the corpus root (raw == out/wavs)", _ljspeech_out_is_parent, 2,
               "the raw folder is where prep would write its wavs/"),
    FolderCase("--out is the raw folder", _out_is_raw, 2, "is (or is inside) the raw folder"),
    FolderCase("--out inside the raw folder", _out_inside_raw, 2, "is (or is inside) the raw folder"),
    FolderCase("--out is a symlink to the raw folder", _out_symlink_to_raw, 2, "is (or is inside) the raw folder"),
    FolderCase("out/wavs is a symlink to the raw folder", _wavs_symlink_to_raw, 2, "would write its wavs/"),
    FolderCase("raw inside --out, beside prep's folders (allowed)", _raw_inside_out_elsewhere, 0, "2 of 2 takes usable"),
    FolderCase("--out is a file", _out_is_a_file, 2, "--out is a file, not a folder"),
    FolderCase("--out under a file", _out_parent_is_a_file, 2, "part of this path is a file"),
    FolderCase("--out holds a file prep did not write", _foreign_file_in_out, 2, "not written by prep"),
    FolderCase("--raw does not exist", _missing_raw, 2, "raw takes folder not found"),
    FolderCase("--prompts does not exist", _missing_prompts, 2, "prompts table not found"),
    FolderCase("no --prompts: metadata.csv found beside wavs/", _found_prompts, 0, "LJSpeech layout"),
    FolderCase("read-only --out", _read_only, 2, "permission denied"),
]
