#!/usr/bin/env python3
"""Run the whole series (``make run``): execute every notebook, render HTML, gather results.json.

    python scripts/run_series.py                   # every notebook, quick profile
    python scripts/run_series.py 01 03             # only notebooks whose names start with these
    SPEECHLAB_PROFILE=full python scripts/run_series.py

Writes ``runs/<timestamp>/``: each executed notebook (``.ipynb``), its HTML rendering, and
``results.json`` (each notebook's key figures, keyed by notebook); ``runs/latest`` points at it.
Notebooks run in order and share one work dir (``$SPEECHLAB_WORK``, default ``work/``), so later
notebooks reuse what earlier ones made. A failing notebook is reported and the rest still run.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("select", nargs="*", help="notebook name prefixes, e.g. 01 03 (default: all)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
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
    print(f"Running {len(selected)} notebooks, profile {profile}, into {run_dir}")
    status: dict[str, tuple[str, float]] = {}
    for nb_path in selected:
        name = nb_path.stem
        out_nb = run_dir / nb_path.name
        t0 = time.time()
        print(f"\n=== {name}")
        try:
            pm.execute_notebook(str(nb_path), str(out_nb), cwd=str(nb_path.parent), kernel_name="python3",
                                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                                execution_timeout=args.timeout)
            state = "ok"
        except Exception as err:  # keep going: one broken notebook must not hide the others' results
            state = f"FAILED: {type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
        status[name] = (state, time.time() - t0)
        if out_nb.exists():
            body, _ = HTMLExporter().from_notebook_node(nbformat.read(out_nb, as_version=4))
            (run_dir / f"{name}.html").write_text(body, encoding="utf-8")
        print(f"    {state} in {status[name][1]:.0f} s")

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
