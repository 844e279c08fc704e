#!/usr/bin/env python3
"""Run the whole series (``make run``): execute every notebook, render HTML, gather results.json.

    python scripts/run_series.py                   # every notebook, quick profile
    python scripts/run_series.py 01 03             # only notebooks whose names start with these
    SPEECHLAB_PROFILE=full python scripts/run_series.py
    python scripts/run_series.py --timeout 3600    # give up on any cell that runs longer than an hour

No cell has a time limit unless ``--timeout`` sets one: a slow machine is not an error. Each notebook
prints a line when it starts and one when it ends, with its elapsed time.

Writes ``runs/<timestamp>/``: each executed notebook (``.ipynb``), its HTML rendering, and
``results.json`` (each notebook's key figures, keyed by notebook); ``runs/latest`` points at it.
Notebooks run in order and share one work dir (``$SPEECHLAB_WORK``, default ``work/``), so later
notebooks reuse what earlier ones made. A failing notebook is reported and the rest still run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def notebooks(selection: list[str]) -> list[Path]:
    found = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if selection:
        found = [p for p in found if any(p.name.startswith(s) for s in selection)]
    return found


def summarise(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return f"<{type(value).__name__} of {len(value)}>"
    return str(value)


def elapsed(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _timed_out_cell(err: Exception, nb_path: Path) -> tuple[int, str] | None:
    """(number among code cells, first code line) of the cell a timeout error names.

    nbclient's message holds a preview of the cell's lines; find that cell in the notebook.
    """
    import nbformat

    m = re.search(r"-{5,}\n(.*?)\n-{5,}", str(err), flags=re.S)
    if not m:
        return None
    try:
        preview = [ln for ln in m.group(1).splitlines() if ln.strip()]
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # an unexpected message or an unreadable notebook: say less, not crash
        return None
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code_cells, 1):
        lines = [ln for ln in cell.source.splitlines() if ln.strip()]
        if preview and lines[:1] == preview[:1]:
            first = next((ln for ln in lines if not ln.lstrip().startswith("#")), lines[0])
            return k, first.strip()[:80]
    return None


def describe_failure(err: Exception, out_nb: Path, timeout: int | None, nb_path: Path) -> str:
    """One line that says what failed; for a cell that ran out of time, which cell and what to do."""
    text = str(err)
    timed_out = isinstance(err, TimeoutError) or "timed out" in text.lower() and "cell" in text.lower()
    if timed_out and timeout:
        where = _timed_out_cell(err, nb_path)
        cell = f"code cell {where[0]} (`{where[1]}`)" if where else "a cell"
        return (f"{cell} of {nb_path.name} ran longer than the per-cell limit of {timeout} s. "
                "This machine is slower than the limit assumes; nothing is broken. Run it again without "
                f"--timeout (the default: no limit), or with a larger one, e.g. --timeout {timeout * 4}.")
    if hasattr(err, "ename"):  # papermill's PapermillExecutionError: the notebook's own exception
        return f"{err.ename}: {str(getattr(err, 'evalue', ''))[:160]} (code cell {getattr(err, 'exec_count', '?')})"
    first = next((ln for ln in text.splitlines() if ln.strip()), "")[:160]
    return f"{type(err).__name__}: {first}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("select", nargs="*", help="notebook name prefixes, e.g. 01 03 (default: all)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs")
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds allowed per cell (default: no limit — a slow machine is not an error)")
    args = ap.parse_args(argv)

    import papermill as pm
    from nbconvert import HTMLExporter
    import nbformat

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = args.runs / stamp
    parts = run_dir / "results_parts"
    parts.mkdir(parents=True, exist_ok=True)
    os.environ["SPEECHLAB_RESULTS"] = str(parts)
    profile = os.environ.get("SPEECHLAB_PROFILE", "quick")
    selected = notebooks(args.select)
    if not selected:
        print("No notebooks matched.", file=sys.stderr)
        return 2
    limit = f"{args.timeout} s per cell" if args.timeout else "no time limit per cell"
    print(f"Running {len(selected)} notebooks, profile {profile}, {limit}, into {run_dir}", flush=True)
    status: dict[str, tuple[str, float]] = {}
    for i, nb_path in enumerate(selected, 1):
        name = nb_path.stem
        out_nb = run_dir / nb_path.name
        t0 = time.time()
        print(f"\n=== [{i}/{len(selected)}] {name} started at {datetime.now():%H:%M:%S}", flush=True)
        try:
            pm.execute_notebook(str(nb_path), str(out_nb), cwd=str(nb_path.parent), kernel_name="python3",
                                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                                execution_timeout=args.timeout)
            state = "ok"
        except Exception as err:  # keep going: one broken notebook must not hide the others' results
            state = "FAILED: " + describe_failure(err, out_nb, args.timeout, nb_path)
        status[name] = (state, time.time() - t0)
        if out_nb.exists():
            body, _ = HTMLExporter().from_notebook_node(nbformat.read(out_nb, as_version=4))
            (run_dir / f"{name}.html").write_text(body, encoding="utf-8")
        print(f"=== [{i}/{len(selected)}] {name} {state} after {elapsed(status[name][1])}", flush=True)

    results = {p.stem: json.loads(p.read_text()) for p in sorted(parts.glob("*.json"))}
    results["_run"] = {"profile": profile, "started": stamp,
                       "notebooks": {k: {"status": v[0], "seconds": round(v[1], 1)} for k, v in status.items()}}
    (run_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    latest = args.runs / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(stamp)

    print("\nSummary")
    print(f"{'notebook':<28}{'status':<10}{'time':>8}  key figures")
    for name, (state, secs) in status.items():
        figs = results.get(name, {})
        numbers = [(k, v) for k, v in figs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        shown = ", ".join(f"{k}={summarise(v)}" for k, v in numbers[:4])
        print(f"{name:<28}{('ok' if state == 'ok' else 'FAILED'):<10}{secs:>7.0f}s  {shown}")
    print(f"\nExecuted notebooks, HTML and results.json are in {run_dir} (also runs/latest).")
    failed = [n for n, (s, _) in status.items() if s != "ok"]
    if failed:
        print(f"{len(failed)} notebook(s) failed: open runs/latest/<name>.html to see where. " + "; ".join(f"{n}: {status[n][0]}" for n in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
