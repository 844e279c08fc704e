"""Build a clean .ipynb from a list of cells — a small aid for authoring the series' notebooks.

    from scripts.nbbuild import md, code, params, write
    write("notebooks/01_recording_prep.ipynb", [md("# Title"), params("PROFILE = param('PROFILE', 'quick')"), code("...")])

Every notebook starts with the same three code cells: :func:`install_cell`, a ``parameters``
cell, and a call to ``helpers.config.setup``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

REPO_URL = "https://github.com/speech-lab/speech-lab"
COLAB = "https://colab.research.google.com/github/speech-lab/speech-lab/blob/main/notebooks/{name}"


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str, tags: list[str] | None = None):
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def params(text: str):
    """The papermill ``parameters`` cell. Write each value as ``NAME = param("NAME", default)``."""
    return code("# Parameters: papermill overrides this cell; so do environment variables SPEECHLAB_<NAME>.\n"
                "from helpers.config import param, pick\n\n" + text.strip("\n"), tags=["parameters"])


def colab_badge(name: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({COLAB.format(name=name)})"


def install_cell():
    return code(f'''
# Setup. In Colab this clones the series and installs what Colab lacks (never Colab's own torch/torchaudio).
# On your own machine it does nothing: `make run` / `make test` already installed everything into .venv.
import sys, pathlib
if "google.colab" in sys.modules:
    !test -d speech-lab || git clone -q --depth 1 {REPO_URL}
    %cd speech-lab/notebooks
    !grep -vE '^(torch|torchaudio)==' ../requirements.txt > /tmp/speechlab-req.txt && pip install -q -r /tmp/speechlab-req.txt
sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))  # make `helpers` importable from notebooks/
''')


def write(path: str | Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):  # stable ids keep git diffs small
        cell["id"] = f"c{i:03d}"
    path = Path(path)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
