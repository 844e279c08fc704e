"""Build a clean .ipynb from a list of cells — a small aid for authoring the series' notebooks.

    from scripts.nbbuild import md, code, params, write
    write("notebooks/01_recording_prep.ipynb", [md("# Title"), params("PROFILE = param('PROFILE', 'quick')"), code("...")])

Every notebook starts with the same three code cells: :func:`install_cell`, a ``parameters``
cell, and a call to ``helpers.config.setup``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

# --- The one setting: where the series lives -------------------------------------------------------
# The Open-in-Colab badge of every notebook and of the README, and the install cell's `git clone`, all
# derive from REPO_URL and BRANCH. To publish the series somewhere else, change these two lines and run
# `python scripts/nbbuild.py sync`, which rewrites the badges and install cells (tests/test_colab_install.py
# fails while any of them disagrees with this setting).
REPO_URL = "https://github.com/speech-lab/speech-lab"
BRANCH = "main"

_SLUG = REPO_URL.removeprefix("https://github.com/").removesuffix(".git")
COLAB = f"https://colab.research.google.com/github/{_SLUG}/blob/{BRANCH}/notebooks/{{name}}"
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
CLONE_DIR = "speech-lab"

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
    return f"[![Open In Colab]({BADGE_IMG})]({COLAB.format(name=name)})"


BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((https://colab\.research\.google\.com/[^)]*?/notebooks/([\w.-]+\.ipynb))\)")


def colab_commands(repo_url: str | None = None) -> list[str]:
    """The shell commands the install cell runs in Colab, in order (``cd`` is the cell's ``%cd``).

    1. clone the series (once);
    2. go to its notebooks/ folder;
    3. install requirements.txt *without* the torch/torchaudio pins, constrained to the torch and
       torchaudio already there: pip then installs what is missing and never replaces Colab's pair —
       if some pin needed another torch, pip stops with a conflict instead of swapping it silently.
    """
    return [
        f"test -d {CLONE_DIR} || git clone -q --depth 1 --branch {BRANCH} {repo_url or REPO_URL} {CLONE_DIR}",
        f"cd {CLONE_DIR}/notebooks",
        "pip list --format=freeze 2>/dev/null | grep -iE '^(torch|torchaudio)==' > /tmp/speechlab-keep.txt; "
        "grep -vE '^(torch|torchaudio)==' ../requirements.txt > /tmp/speechlab-req.txt && "
        "pip install -q -r /tmp/speechlab-req.txt -c /tmp/speechlab-keep.txt",
    ]


def install_cell_source(repo_url: str | None = None) -> str:
    lines = [(f"    %{c}" if c.startswith("cd ") else f"    !{c}") for c in colab_commands(repo_url)]
    return "\n".join([
        "# Setup. In Colab this clones the series and installs what Colab lacks (never Colab's own torch/torchaudio).",
        "# On your own machine it does nothing: `make run` / `make test` already installed everything into .venv.",
        "import sys, pathlib",
        'if "google.colab" in sys.modules:',
        *lines,
        "sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))  # make `helpers` importable from notebooks/",
    ])


def commands_of_install_cell(source: str) -> list[str]:
    """The shell commands an install cell's source runs in Colab (``!cmd`` and ``%cd dir``), in order."""
    out = []
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("!"):
            out.append(text[1:])
        elif text.startswith("%cd "):
            out.append("cd " + text[4:].strip())
    return out


def install_cell():
    return code(install_cell_source())


def _set_source(cell: dict, text: str) -> None:
    """Set a cell's source, keeping the file's form (one string, or a list of lines)."""
    cell["source"] = text.splitlines(keepends=True) if isinstance(cell["source"], list) else text


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def sync(root: Path | None = None) -> list[Path]:
    """Rewrite every notebook's install cell and Colab badge, and the README's badges, from the setting.

    Only those cells change (each file is read, changed and written back at once, in the layout
    ``clean_notebooks.py`` writes); returns the files that changed.
    """
    root = root or Path(__file__).resolve().parents[1]
    changed = []
    for nb_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        raw = nb_path.read_text(encoding="utf-8")
        nb = json.loads(raw)
        for cell in nb["cells"]:
            src = _source(cell)
            if cell["cell_type"] == "code" and "google.colab" in src and "git clone" in src:
                _set_source(cell, install_cell_source())
            elif cell["cell_type"] == "markdown" and BADGE_RE.search(src):
                _set_source(cell, BADGE_RE.sub(lambda m: colab_badge(m.group(2)), src))
        new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if new != raw:
            nb_path.write_text(new, encoding="utf-8")
            changed.append(nb_path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = BADGE_RE.sub(lambda m: colab_badge(m.group(2)), text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        changed.append(readme)
    return changed


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


if __name__ == "__main__":
    if sys.argv[1:] == ["sync"]:
        for path in sync():
            print(f"updated {path}")
    else:
        print("usage: python scripts/nbbuild.py sync   # badges + install cells from REPO_URL/BRANCH", file=sys.stderr)
        sys.exit(2)
