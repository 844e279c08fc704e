#!/usr/bin/env python3
"""Strip outputs, execution counts and widget state from notebooks, so git holds only their source.

    python scripts/clean_notebooks.py notebooks            # clean in place
    python scripts/clean_notebooks.py --check notebooks    # exit 1 and list notebooks that carry outputs

Cell tags (``parameters``) and cell ids are kept; kernel metadata is normalised to ``python3``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEEP_NOTEBOOK_META = {"kernelspec", "language_info"}
KEEP_CELL_META = {"tags", "slideshow", "jupyter"}


def clean(nb: dict) -> dict:
    nb = json.loads(json.dumps(nb))
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k in KEEP_NOTEBOOK_META}
    meta["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    meta.setdefault("language_info", {"name": "python"})
    meta["language_info"] = {"name": "python"}
    nb["metadata"] = meta
    for cell in nb.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in KEEP_CELL_META}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def dirty_reasons(nb: dict) -> list[str]:
    reasons = []
    if "widgets" in nb.get("metadata", {}):
        reasons.append("widget state")
    if any(c.get("outputs") for c in nb.get("cells", [])):
        reasons.append("outputs")
    if any(c.get("execution_count") for c in nb.get("cells", [])):
        reasons.append("execution counts")
    return reasons


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true", help="only report; exit 1 if any notebook is not clean")
    args = ap.parse_args(argv)
    files = [p for path in args.paths for p in (sorted(path.rglob("*.ipynb")) if path.is_dir() else [path])]
    files = [p for p in files if ".ipynb_checkpoints" not in p.parts]
    bad = 0
    for path in files:
        nb = json.loads(path.read_text(encoding="utf-8"))
        reasons = dirty_reasons(nb)
        if args.check:
            if reasons:
                bad += 1
                print(f"{path}: carries {', '.join(reasons)} — run `make clean-notebooks`")
            continue
        cleaned = clean(nb)
        if cleaned != nb:
            path.write_text(json.dumps(cleaned, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"cleaned {path}")
    if args.check and not bad:
        print(f"{len(files)} notebooks clean")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
