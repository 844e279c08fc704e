"""Each notebook's key figures, gathered into one ``results.json`` per run.

A notebook calls ``record("01_recording_prep", {"trim_error_ms_p95": 12.0, ...})``
as often as it likes; values are merged into ``<results dir>/<notebook>.json``.
``make run`` collects those files into ``runs/<timestamp>/results.json``, keyed by
notebook. The results dir is ``$SPEECHLAB_RESULTS`` or ``<work dir>/results``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import work_dir
from .files import write_json


def results_dir() -> Path:
    path = Path(os.environ.get("SPEECHLAB_RESULTS", work_dir() / "results"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def load(notebook: str) -> dict[str, Any]:
    path = results_dir() / f"{notebook}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def record(notebook: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Merge ``figures`` into this notebook's results file (atomically) and return the merged dict."""
    merged = load(notebook)
    merged.update(figures)
    write_json(results_dir() / f"{notebook}.json", merged)
    return load(notebook)  # as stored: NumPy values become plain JSON numbers and lists


def collect(folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """All notebooks' figures in ``folder`` (default: the results dir), keyed by notebook."""
    folder = Path(folder) if folder else results_dir()
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}
