"""Atomic writes: a file is written next to its destination, then renamed into place.

An interrupted run (a kernel restart, Ctrl-C, a Colab disconnect) therefore never
leaves a half-written WAV, manifest or checkpoint that a later run would trust.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(dest: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one rename.

    >>> with atomic_path("out/a.wav") as tmp:
    ...     soundfile.write(tmp, audio, 16000)
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files: give the output the user's usual permissions
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(dest: str | Path, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def write_json(dest: str | Path, data: Any) -> Path:
    return write_text(dest, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_wav(dest: str | Path, audio, sample_rate: int, subtype: str = "PCM_16") -> Path:
    """Write audio (samples, or samples x channels, float in [-1, 1]) as a WAV file, atomically."""
    import soundfile as sf

    with atomic_path(dest, suffix=".wav") as tmp:
        sf.write(tmp, audio, sample_rate, subtype=subtype, format="WAV")
    return Path(dest)


@contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``dest``; on success it replaces ``dest`` whole."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def tidy_atomic_leftovers(dest: str | Path) -> list[Path]:
    """Undo what a killed :func:`atomic_dir` / :func:`atomic_path` left beside ``dest``; return what was removed.

    A process killed inside them (SIGKILL, an out-of-memory kill, a Colab disconnect) leaves temporary
    ``.<name>.*`` folders and files, and, if it died between the two renames of :func:`atomic_dir`, the
    previous version as ``.<name>.old-<pid>`` with no ``dest`` at all: that one is put back, since it is
    the last complete version. Only names these two functions make are touched.
    """
    dest = Path(dest)
    if not dest.parent.is_dir():
        return []
    olds = sorted(dest.parent.glob(f".{dest.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not dest.exists():
        os.replace(olds.pop(), dest)  # the newest complete previous version
    removed = []
    for p in list(olds) + [q for q in dest.parent.glob(f".{dest.name}.*") if q not in olds]:
        if not p.exists():
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def size_mb(path: str | Path) -> float:
    """Size on disk of a file, or of everything in a folder, in MB (10^6 bytes)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _jsonable(obj: Any) -> Any:
    """json.dumps fallback: NumPy scalars and arrays, paths."""
    if isinstance(obj, Path):
        return str(obj)
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
