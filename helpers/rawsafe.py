"""Raw is sacred: where prep may write, and what it may replace or delete.

Why this module exists
----------------------
A learner's raw takes are the one thing in the series that cannot be rebuilt. Layouts that look harmless put them
in the way of prep's outputs: LJSpeech's ``myvoice/wavs`` + ``--out myvoice`` makes the dataset's ``wavs/`` the raw
folder; ``--out`` inside the raw folder, or reaching it through a symlink, writes among the takes; a cleanup "of
stale outputs" by glob deletes whatever matches. So, before anything is written:

* :func:`check_layout` refuses any ``--out`` that is, contains or lies inside the raw folder where prep would write
  (comparing folders by identity, so symlinks and bind mounts count), and an ``--out`` that is a file;
* :class:`State` (``<out>/.state/``) records per take the key of its last processing, its report row and the file
  prep wrote (path, size, mtime); :func:`check_ownership` refuses to replace any file it does not record;
* :func:`forget_stale` deletes only what the state records, and only while it is still the file prep wrote;
* :func:`make_readable` gives outputs the modes a plain write would (atomic writes start as 0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["OutputFolderError", "inside", "check_layout", "State", "check_ownership", "forget_stale", "umask",
           "make_readable"]


class OutputFolderError(Exception):
    """An output folder that would endanger the raw takes or files prep did not write; says what to do."""


def inside(a: Path, b: Path) -> bool:
    """True if path ``a`` is ``b`` or lies inside it, comparing existing folders by identity (symlinks, bind
    mounts, case-insensitive file systems) and the rest by resolved path."""
    a, b = Path(os.path.abspath(a)), Path(os.path.abspath(b))
    if b.exists():
        for x in (a, *a.parents):
            try:
                if x.exists() and os.path.samefile(x, b):
                    return True
            except OSError:
                continue
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or rb in ra.parents


def check_layout(raw_dir: Path, out_dir: Path, prompts_path: Path, output_files: tuple[str, ...]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: --out is a file, not a folder. Give a folder for the dataset "
                        "(it is created if missing), e.g. work/dataset.")
    if inside(out_dir, raw_dir):
        raise OutputFolderError(f"{out_dir}: the output folder is (or is inside) the raw folder {raw_dir}; prep never writes "
                        "there. Choose an --out outside it, e.g. work/dataset.")
    for sub in ("wavs", ".state", "hf"):
        if inside(raw_dir, out_dir / sub):
            raise OutputFolderError(f"{raw_dir}: the raw folder is where prep would write its {sub}/ (--out {out_dir}); "
                            "your takes would be overwritten or deleted. Choose another --out, e.g. "
                            f"{out_dir.parent / (out_dir.name + '_dataset')}.")
    for name in output_files:
        if prompts_path.exists() and (out_dir / name).exists() and os.path.samefile(prompts_path, out_dir / name):
            raise OutputFolderError(f"{prompts_path}: the prompts table is prep's own output {name} in {out_dir}. "
                            "Pass your own table with --prompts.")


def umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_readable(path: Path, umask: int) -> None:
    """Atomic writes come from mkstemp/mkdtemp (mode 0600/0700): give outputs the modes a plain write would."""
    try:
        if path.is_dir():
            os.chmod(path, 0o777 & ~umask)
            for p in path.rglob("*"):
                os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~umask)
        elif path.exists():
            os.chmod(path, 0o666 & ~umask)
    except OSError:
        pass


class State:
    """``<out>/.state/``: per take, the key of its last processing, its row, and the file prep wrote for it
    (path, size, mtime). Only files recorded here are ever overwritten or deleted."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.root = out_dir / ".state"
        self.takes_dir = self.root / "takes"
        self.legacy = sorted(p for p in self.root.glob("*.json") if p.name != "outputs.json") \
            if self.root.is_dir() else []

    def _file(self, take_id: str) -> Path:
        return self.takes_dir / f"{take_id}.json"

    def load(self, take_id: str) -> dict[str, Any] | None:
        for f in (self._file(take_id), self.root / f"{take_id}.json"):
            if f.is_file():
                try:
                    data = json.loads(f.read_text(encoding="utf-8"))
                    if isinstance(data, dict) and "row" in data:
                        return data
                except (OSError, json.JSONDecodeError):
                    return None
        return None

    def owns_wav(self, take_id: str, wav: Path) -> bool:
        st = self.load(take_id)
        if not st:
            return False
        wrote = st.get("wrote")
        if wrote:
            return wrote.get("path") == f"wavs/{wav.name}"
        return st.get("row", {}).get("path") == f"wavs/{wav.name}"  # written by an older prep

    def owns_outputs(self) -> bool:
        return (self.root / "outputs.json").is_file() or bool(self.legacy)

    def known_ids(self) -> set[str]:
        ids = {p.stem for p in self.takes_dir.glob("*.json")} if self.takes_dir.is_dir() else set()
        return ids | {p.stem for p in self.legacy}


def check_ownership(out_dir: Path, state: State, ids: list[str], output_files: tuple[str, ...]) -> None:
    """Stop before writing anything if a file prep would write exists and was not written by prep."""
    foreign = [out_dir / "wavs" / f"{i}.wav" for i in ids
               if (out_dir / "wavs" / f"{i}.wav").exists() and not state.owns_wav(i, out_dir / "wavs" / f"{i}.wav")]
    if not state.owns_outputs():
        foreign += [out_dir / n for n in output_files if (out_dir / n).exists()]
    hf = out_dir / "hf"
    if hf.exists() and not (hf / "speechlab_manifest.sha").exists():
        foreign.append(hf)
    if foreign:
        shown = ", ".join(str(p) for p in foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
        raise OutputFolderError(f"{out_dir}: {shown} already exist(s) and were not written by prep; it would replace them. "
                        "Choose an empty or new --out folder (or move those files away).")



def forget_stale(out_dir: Path, state: State, ids: set[str]) -> None:
    """Takes that left the folder lose what prep wrote for them: the WAV its state records (only if it is still
    the file prep wrote, same size) and the state itself. Nothing is found by pattern in the output folders."""
    for take_id in sorted(state.known_ids() - ids):
        st = state.load(take_id) or {}
        wrote = st.get("wrote") or ({"path": st["row"]["path"]} if st.get("row", {}).get("path") else None)
        if wrote:
            wav = out_dir / wrote["path"]
            if wav.is_file() and ("size" not in wrote or wav.stat().st_size == wrote["size"]):
                wav.unlink()
        for f in (state.takes_dir / f"{take_id}.json", state.root / f"{take_id}.json"):
            if f.is_file():
                f.unlink()
    for f in state.legacy:  # an older prep's per-take state, replaced by .state/takes/
        if f.is_file() and f.stem in ids:
            f.unlink()
