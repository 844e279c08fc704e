"""The one reader for prompt tables (which text belongs to which take), used by prep, notebook 01 and the studio.

Why this module exists
----------------------
People bring the table they have: a ``filename,transcript`` CSV from a text editor, a semicolon-separated file
from a German Excel, a UTF-16 "Unicode text" export, a cp1252 CSV from Windows Excel, or LJSpeech's
``metadata.csv`` (``id|text|normalized``, no header, ids without an extension). Two readers that disagree are how
a table works in one cell and fails in the next, so every part of the series reads tables here, and this reader
never guesses silently:

* the encoding is UTF-8 (with or without BOM) or UTF-16 (BOM), else detected by ``charset-normalizer`` among the
  Western Windows/Mac code pages and *said* (``notes``); anything else is refused with the fix;
* the separator is sniffed from the header row (``,`` ``;`` tab ``|``); a table without a header must be
  LJSpeech-style (``id|text[|normalized]``) or start with an audio file name;
* a row with more fields than columns (an unquoted comma inside a transcript) is joined back when the transcript
  is the last column, and noted; otherwise it stops with the line number. A transcript is never cut;
* two rows naming one take stop, naming both lines;
* file names match audio files whatever the Unicode form (macOS writes NFD, people type NFC) and the case of the
  extension (``take_01.WAV``), by stem: ``take_01.flac`` in the table matches ``take_01.wav`` in the folder
  (the studio saves WAV). Two audio files with one stem stop, naming both.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga")
# Audio that people have but soundfile/prep do not read: reported as such instead of "not in the folder".
UNSUPPORTED_AUDIO = (".mp3", ".m4a", ".aac", ".wma", ".opus", ".aif", ".aiff", ".webm", ".mp4", ".amr", ".3gp")
FILE_COLUMNS = ("file", "filename", "file_name", "path", "wav", "audio", "audio_file", "id")
TEXT_COLUMNS = ("text", "transcript", "transcription", "prompt", "sentence")
DELIMITERS = (",", ";", "\t", "|")
TABLE_NAMES = ("prompts.csv", "metadata.csv", "prompts.tsv", "metadata.tsv", "transcripts.csv")
SAVE_AS_UTF8 = ("Save it as UTF-8 text (Excel: File > Save As > 'CSV UTF-8'; LibreOffice: Save As > Text CSV, "
                "character set 'Unicode (UTF-8)'; a text editor: Save with encoding UTF-8).")

# The consent statement take (helpers.consent): one fixed take id, recognised wherever takes are listed. It is the
# learner saying, in their own voice, that they agree to a synthetic voice of them; prep keeps it OUT of the
# training data (and records where it is), notebook 02 checks it is the same speaker as the dataset.
CONSENT_ID = "consent"
CONSENT_FILE = CONSENT_ID + ".wav"
CONSENT_TEMPLATE = ("I, {name}, agree that my recordings may be used to train a synthetic voice of me, "
                    "for {purpose}.")

__all__ = ["PromptsError", "PromptsNotFoundError", "Prompt", "PromptTable", "Take", "read_prompts",
           "find_prompts_table", "take_key", "list_audio", "pair_takes", "AUDIO_EXTENSIONS", "UNSUPPORTED_AUDIO",
           "CONSENT_ID", "CONSENT_FILE", "CONSENT_TEMPLATE", "is_consent", "consent_text", "consent_note"]


class PromptsError(ValueError):
    """A prompts table (or a raw folder) that cannot be read unambiguously; the message names the file,
    the line and the fix."""


class PromptsNotFoundError(PromptsError, FileNotFoundError):
    """The prompts table does not exist."""


def _strip_audio_ext(name: str) -> str:
    low = name.lower()
    for ext in AUDIO_EXTENSIONS + UNSUPPORTED_AUDIO:
        if low.endswith(ext):
            return name[: -len(ext)]
    return name


def take_key(name: str) -> str:
    """What identifies a take when matching a table to a folder: NFC, case-folded, audio extension dropped.

    >>> take_key("Cafe\\u0301_01.WAV") == take_key("Café_01.flac") == "café_01"
    True
    """
    return unicodedata.normalize("NFC", _strip_audio_ext(name.strip())).casefold()


def is_consent(name: str) -> bool:
    """True for the consent statement take (``consent.wav``, ``Consent.FLAC``, the row id ``consent``, a path to one).

    >>> is_consent("consent.wav") and is_consent("CONSENT") and not is_consent("take_001.wav")
    True
    """
    return take_key(_basename(str(name))) == CONSENT_ID


def consent_text(name: str, purpose: str) -> str:
    """The consent statement to read aloud: :data:`CONSENT_TEMPLATE` with the learner's name and purpose."""
    name, purpose = " ".join(str(name).split()), " ".join(str(purpose).split()).rstrip(".")
    if not name or not purpose:
        raise ValueError("the consent statement needs your name and what the voice is for (e.g. 'a tutorial "
                         "exercise, kept on my own computer').")
    return CONSENT_TEMPLATE.format(name=name, purpose=purpose)


def consent_note(path: str | Path, exists: bool = True) -> str:
    """What prep's report says of the consent take (it is never training data)."""
    if not exists:
        return (f"{Path(path).name}: the consent statement is listed but not recorded; record it in the studio "
                "(notebook 01) so notebook 02 can check it is your voice.")
    return (f"{path}: the consent statement, kept out of the training data; notebook 02 checks it is the same "
            "speaker as the dataset.")


@dataclass(frozen=True)
class Prompt:
    """One row of a prompts table."""

    name: str    # the file name as written (its last path part), e.g. "take_017.flac" or "LJ001-0001"
    text: str    # the transcript ("" when the row has none)
    line: int    # 1-based line in the file, for messages

    @property
    def stem(self) -> str:
        """The name without its audio extension, in NFC: the take's id when its file is missing."""
        return unicodedata.normalize("NFC", _strip_audio_ext(self.name))

    @property
    def key(self) -> str:
        return take_key(self.name)


@dataclass
class PromptTable:
    """A parsed prompts table: its rows in file order, and how it was read."""

    path: Path
    rows: list[Prompt]
    layout: str = "header"          # "header", "ljspeech" (id|text|normalized) or "headerless"
    delimiter: str = ","
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)   # what the reader did that a person should know

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def texts(self) -> dict[str, str]:
        """``{name as written: transcript}``, in file order."""
        return {p.name: p.text for p in self.rows}

    def by_key(self) -> dict[str, Prompt]:
        return {p.key: p for p in self.rows}

    def find(self, filename: str) -> Prompt | None:
        """The row for an audio file name (any Unicode form, any extension case), or None."""
        return self.by_key().get(take_key(Path(filename).name))

    def describe(self) -> str:
        sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[self.delimiter]
        return f"{self.path.name}: {len(self.rows)} rows, {self.layout} layout, {sep}-separated, {self.encoding}"


# --------------------------------------------------------------------------------------- decoding

def _decode(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    """Bytes -> text, the encoding's name, and notes. Refuses what it cannot read with confidence."""
    if data.startswith(b"PK\x03\x04"):
        raise PromptsError(f"{path}: this is an Excel/LibreOffice workbook (.xlsx/.ods), not a text table. "
                           "Export the sheet as CSV: " + SAVE_AS_UTF8)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise PromptsError(f"{path}: this is an old Excel workbook (.xls), not a text table. " + SAVE_AS_UTF8)
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8 (with BOM)", []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as err:
            raise PromptsError(f"{path}: starts like UTF-16 but byte {err.start} is not valid UTF-16. "
                               + SAVE_AS_UTF8) from None
    if len(data) >= 4 and data.count(b"\x00") >= len(data) // 4:
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(enc), f"{enc} (no BOM)", []
        except UnicodeDecodeError:
            raise PromptsError(f"{path}: contains NUL bytes but is not UTF-16 text: is it really a table? "
                               + SAVE_AS_UTF8) from None
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as err:
        bad_line = data[: err.start].count(b"\n") + 1
        bad = data[err.start: err.start + 1]
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - charset-normalizer is pinned in requirements.txt
        best = None
    else:
        # Only the code pages spreadsheet programs actually write: a free guess over every code page picks
        # cp1250 or hp_roman8 for short Western text (measured), and would then change letters silently.
        best = from_bytes(data, cp_isolation=["cp1252", "mac_roman"]).best()
    if best is None:
        raise PromptsError(f"{path}: not UTF-8 (byte 0x{bad.hex()} on line {bad_line}) and not recognisable as "
                           "Windows or Mac Western text. " + SAVE_AS_UTF8)
    enc = best.encoding
    note = (f"{path.name} is not UTF-8 (byte 0x{bad.hex()} on line {bad_line}); read it as {enc} "
            f"(detected). If accented letters look wrong in the report, " + SAVE_AS_UTF8[0].lower() + SAVE_AS_UTF8[1:])
    return data.decode(enc), f"{enc} (detected)", [note]


# --------------------------------------------------------------------------------------- parsing

def _records(text: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, fields) for every record of ``text``."""
    quoting = csv.QUOTE_NONE if delimiter == "|" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=False)
    out, prev = [], 0
    for fields in reader:
        out.append((prev + 1, reader.line_num, fields))
        prev = reader.line_num
    return out


def _sniff(first_line: str) -> tuple[str, list[str]] | None:
    """The delimiter whose split of ``first_line`` names a file column and a text column, and that split."""
    for d in DELIMITERS:
        quoting = csv.QUOTE_NONE if d == "|" else csv.QUOTE_MINIMAL
        fields = next(csv.reader([first_line], delimiter=d, quoting=quoting), [])
        low = [f.strip().strip('"').strip().lower() for f in fields]
        if any(f in FILE_COLUMNS for f in low) and any(f in TEXT_COLUMNS for f in low):
            return d, low
    return None


def _basename(name: str) -> str:
    name = name.strip()
    return PureWindowsPath(name).name if "\\" in name else PurePosixPath(name).name


def read_prompts(path: str | Path) -> PromptTable:
    """Read a prompts table (see the module docstring for every layout it accepts).

    Raises :class:`PromptsError` naming the file, the line and the fix for anything ambiguous.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a table" if path.is_dir() else "not found"
        raise PromptsNotFoundError(
            f"{path}: prompts table {what}. Give a CSV with the columns 'filename,transcript' (the sample one is "
            "sample_data/prompts.csv), or an LJSpeech metadata.csv (id|text|normalized).")
    data = path.read_bytes()
    text, encoding, notes = _decode(data, path)
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first_i = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first_i is None:
        raise PromptsError(f"{path}: the table is empty. Write one row per take: filename,transcript.")
    first = lines[first_i]
    sniffed = _sniff(first)
    if sniffed is not None:
        delimiter, header = sniffed
        layout = "header"
        fcol = next(i for i, h in enumerate(header) if h in FILE_COLUMNS)
        tcol = next(i for i, h in enumerate(header) if h in TEXT_COLUMNS)
        ncols = max(i for i, h in enumerate(header) if h) + 1
        skip_first = True
    else:
        delimiter = "|" if "|" in first else "\t" if "\t" in first else None
        if delimiter is None:
            for d in (";", ","):
                head = first.split(d, 1)[0].strip().strip('"')
                if d in first and head.lower().endswith(AUDIO_EXTENSIONS + UNSUPPORTED_AUDIO):
                    delimiter = d
                    break
        if delimiter is None:
            raise PromptsError(
                f"{path}, line {first_i + 1}: no header naming a file column ({'/'.join(FILE_COLUMNS)}) and a "
                f"transcript column ({'/'.join(TEXT_COLUMNS)}), separated by comma, semicolon, tab or '|'; found "
                f"{first[:80]!r}. Make the first line 'filename,transcript', or use LJSpeech's id|text|normalized.")
        layout = "ljspeech" if delimiter == "|" else "headerless"
        fcol, tcol, ncols, skip_first = 0, 1, 2, False
        header = []
    rows: list[Prompt] = []
    seen: dict[str, Prompt] = {}
    joined: list[int] = []
    for start, end, fields in _records(text, delimiter):
        if skip_first:
            skip_first = False
            continue
        while fields and not fields[-1].strip():   # Excel pads short rows with empty cells
            fields = fields[:-1]
        if not fields or not any(f.strip() for f in fields):
            continue
        if end > start and any("\n" in f for f in fields):
            raise PromptsError(f"{path}, line {start}: a quote opened on this line is not closed until line {end}, "
                               "so the rows in between would become one transcript. Close or remove the quote.")
        if layout == "ljspeech" and len(fields) == 3:
            # LJSpeech: id | as written | normalized (numbers and abbreviations spelled out, as read aloud).
            name, text_cell = fields[0], (fields[2].strip() or fields[1])
        elif len(fields) > ncols:
            if tcol != ncols - 1 or layout == "ljspeech":
                raise PromptsError(
                    f"{path}, line {start}: {len(fields)} fields where the table has {ncols} columns, and the "
                    "transcript is not the last column, so the extra separator cannot be placed. Put the transcript "
                    f"in quotes (\"...\") or remove the extra {delimiter!r}.")
            name, text_cell = fields[fcol], delimiter.join(fields[tcol:])
            joined.append(start)
        else:
            fields = fields + [""] * (ncols - len(fields))
            name, text_cell = fields[fcol], fields[tcol]
        name = _basename(name.strip().strip('"'))
        text_cell = text_cell.strip()
        if not name:
            raise PromptsError(f"{path}, line {start}: a transcript without a file name ({text_cell[:40]!r}). "
                               "Give the row the name of its audio file.")
        p = Prompt(name, text_cell, start)
        if p.key in seen:
            q = seen[p.key]
            raise PromptsError(f"{path}: lines {q.line} and {p.line} both name the take {p.stem!r} "
                               f"({q.name!r}, {p.name!r}); one would silently win. Keep one row per take.")
        seen[p.key] = p
        rows.append(p)
    if not rows:
        raise PromptsError(f"{path}: a header but no rows. Add one row per take: filename,transcript.")
    if joined:
        notes.append(f"{path.name}: {len(joined)} row(s) had an unquoted {delimiter!r} inside the transcript (line "
                     + ", ".join(map(str, joined[:8])) + ("..." if len(joined) > 8 else "")
                     + "); the pieces were joined back into one transcript. Quote such transcripts to be sure.")
    if layout == "ljspeech":
        notes.append(f"{path.name}: LJSpeech layout (id|text|normalized, no header): the normalized text is used.")
    return PromptTable(path, rows, layout, delimiter, encoding, notes)


def find_prompts_table(raw_dir: str | Path) -> Path | None:
    """A prompts table next to the takes: ``prompts.csv``/``metadata.csv``/... in ``raw_dir`` or its parent
    (LJSpeech keeps ``metadata.csv`` beside ``wavs/``). None if there is none."""
    raw_dir = Path(raw_dir)
    for folder in (raw_dir, raw_dir.parent):
        for name in TABLE_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


# --------------------------------------------------------------------------------------- the folder

@dataclass(frozen=True)
class Take:
    """An audio file and its prompt row, as paired by :func:`pair_takes`."""

    id: str                       # output id: the file's stem (NFC); for a missing file, the prompt's
    path: Path                    # the audio file (for a missing one: where it was expected)
    prompt: Prompt | None         # None: the file is not named in the table
    exists: bool = True
    supported: bool = True        # False: an audio format prep does not read (mp3, m4a, ...)

    @property
    def text(self) -> str:
        return self.prompt.text if self.prompt else ""


def list_audio(raw_dir: str | Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(audio files prep reads, audio files in formats it does not read, hidden files skipped) in ``raw_dir``.

    Hidden files (``.DS_Store``, macOS ``._take_001.wav`` resource forks) are never takes.
    """
    raw_dir = Path(raw_dir)
    audio, unsupported, hidden = [], [], []
    for p in sorted(raw_dir.iterdir()):
        if not p.is_file():
            continue
        low = p.name.lower()
        if p.name.startswith("."):
            if low.endswith(AUDIO_EXTENSIONS):
                hidden.append(p)
            continue
        if low.endswith(AUDIO_EXTENSIONS):
            audio.append(p)
        elif low.endswith(UNSUPPORTED_AUDIO):
            unsupported.append(p)
    return audio, unsupported, hidden


def pair_takes(raw_dir: str | Path, table: PromptTable) -> list[Take]:
    """Every audio file of ``raw_dir`` with its prompt row, then every row whose file is not there.

    Matching is by :func:`take_key`. Two audio files with one stem (``a21.wav`` and ``a21.flac``) would become
    one output with two texts: that stops, naming both files (a format prep cannot read beside a readable one,
    ``a21.mp3`` + ``a21.wav``, is not a second take).
    """
    raw_dir = Path(raw_dir)
    audio, unsupported, _ = list_audio(raw_dir)
    by_key = table.by_key()
    files: dict[str, Path] = {}
    for p in audio + unsupported:
        k = take_key(p.name)
        if k in files and p in unsupported:
            continue  # an MP3 original beside its WAV export: the readable one is the take
        if k in files:
            raise PromptsError(f"{raw_dir}: {files[k].name!r} and {p.name!r} are two recordings of one take "
                               f"({_strip_audio_ext(p.name)!r}); prep cannot tell which one the transcript belongs "
                               "to. Move or rename one of them.")
        files[k] = p
    takes = []
    for k, p in sorted(files.items()):
        takes.append(Take(unicodedata.normalize("NFC", _strip_audio_ext(p.name)), p, by_key.get(k),
                          supported=p in audio))
    for prompt in table.rows:
        if prompt.key not in files:
            takes.append(Take(prompt.stem, raw_dir / prompt.name, prompt, exists=False))
    return takes
