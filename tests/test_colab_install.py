"""Colab's install path, tested: the notebooks' install cell run in a fresh environment that already
holds a *different* torch/torchaudio pair, the way a Colab runtime holds its own.

What the test builds
--------------------
- A "pre-installed" torch/torchaudio pair that is not ours: ``torch==2.10.0`` + ``torchaudio==2.10.0``
  (PyPI's matched pair one release before the pins in requirements.txt; a CUDA build, like Colab's).
  It lives in its own folder, like Colab's ``dist-packages``, and is built once per machine under
  ``$SPEECHLAB_TEST_CACHE`` (default ``~/.cache/speechlab-tests``): ~3.7 GB to download the first time.
- A fresh virtual environment that sees that folder (a ``.pth`` file) and nothing of ``.venv``.
- In a scratch "/content" folder: exactly the shell commands of the install cell
  (:func:`scripts.nbbuild.commands_of_install_cell` of the notebooks' own cell), with the clone URL
  pointed at this checkout (``file://``); then notebook 00, executed with papermill in the clone.

What it proves: the install cell installs everything requirements.txt names except torch/torchaudio;
afterwards torch and torchaudio are still the pre-installed ones, from the same files, and still work
together; no torch-dependent pin dragged in another torch (the cell's constraint file makes pip refuse
instead); ``helpers`` imports from the clone and notebook 00 runs there.

It also checks that every Colab badge and clone URL (notebooks, README) comes from the one setting,
``scripts/nbbuild.py``'s ``REPO_URL``/``BRANCH``.

Time: a few minutes on 2 cores once the pair and a wheelhouse of the requirements (both under the same
cache folder, keyed by requirements.txt) exist; the first run on a machine downloads them (~3.7 GB + ~1 GB).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import nbbuild  # noqa: E402

PREINSTALLED = {"torch": "2.10.0", "torchaudio": "2.10.0"}  # Colab's pair stand-in: not requirements.txt's
CACHE = Path(os.environ.get("SPEECHLAB_TEST_CACHE", Path.home() / ".cache" / "speechlab-tests"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cell_sources(nb_path: Path) -> list[tuple[str, str]]:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"]]


def _install_cell(nb_path: Path) -> str:
    cells = [src for kind, src in _cell_sources(nb_path) if kind == "code" and "google.colab" in src]
    assert len(cells) == 1, f"{nb_path.name}: expected one install cell, found {len(cells)}"
    return cells[0]


# --- one setting for the badge and the clone URL --------------------------------------------------

def test_badges_and_clone_urls_come_from_one_setting():
    """Every notebook's install cell is nbbuild's, its badge points at itself under REPO_URL/BRANCH,
    and so do the README's badges (`python scripts/nbbuild.py sync` rewrites them all)."""
    slug = nbbuild.REPO_URL.removeprefix("https://github.com/")
    assert nbbuild.COLAB.format(name="x.ipynb") == \
        f"https://colab.research.google.com/github/{slug}/blob/{nbbuild.BRANCH}/notebooks/x.ipynb"
    assert len(NOTEBOOKS) >= 6
    for nb_path in NOTEBOOKS:
        assert _install_cell(nb_path) == nbbuild.install_cell_source(), \
            f"{nb_path.name}: install cell differs from scripts/nbbuild.py (run `python scripts/nbbuild.py sync`)"
        header = next(src for kind, src in _cell_sources(nb_path) if kind == "markdown")
        badges = nbbuild.BADGE_RE.findall(header)
        assert badges == [(nbbuild.COLAB.format(name=nb_path.name), nb_path.name)], nb_path.name
        assert nbbuild.colab_badge(nb_path.name) in header
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {name: url for url, name in nbbuild.BADGE_RE.findall(readme)}
    assert set(linked) == {p.name for p in NOTEBOOKS}
    assert all(url == nbbuild.COLAB.format(name=name) for name, url in linked.items())
    # no other GitHub address for the series anywhere in the notebooks or README
    for text in [readme] + [p.read_text(encoding="utf-8") for p in NOTEBOOKS]:
        for found in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:/|\.git|\s|\)|\"|$)", text):
            if found.split("/")[0] in ("github", "blob"):
                continue
            assert found == slug or not found.lower().startswith(slug.split("/")[0].lower()), found


def test_sync_rewrites_badges_and_install_cells(tmp_path, monkeypatch):
    """Changing the setting and syncing changes every badge and clone URL, and nothing else."""
    copy = tmp_path / "repo"
    (copy / "notebooks").mkdir(parents=True)
    for p in NOTEBOOKS:
        shutil.copy(p, copy / "notebooks" / p.name)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    assert nbbuild.sync(copy) == []  # already in sync
    monkeypatch.setattr(nbbuild, "REPO_URL", "https://github.com/someone/fork")
    monkeypatch.setattr(nbbuild, "COLAB", "https://colab.research.google.com/github/someone/fork/blob/dev/notebooks/{name}")
    monkeypatch.setattr(nbbuild, "BRANCH", "dev")
    changed = nbbuild.sync(copy)
    assert len(changed) == len(NOTEBOOKS) + 1
    for p in NOTEBOOKS:
        text = (copy / "notebooks" / p.name).read_text(encoding="utf-8")
        assert "github/someone/fork/blob/dev/notebooks/" + p.name in text
        assert "--branch dev https://github.com/someone/fork speech-lab" in text
        assert "speech-lab/speech-lab" not in text
        before = [s for k, s in _cell_sources(p) if "google.colab" not in s and "Open In Colab" not in s]
        after = [s for k, s in _cell_sources(copy / "notebooks" / p.name) if "google.colab" not in s and "Open In Colab" not in s]
        assert before == after  # only the badge and install cells changed
    assert "someone/fork" in (copy / "README.md").read_text(encoding="utf-8")


# --- the install cell in a Colab-like environment -------------------------------------------------

def _run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def _preinstalled_pair() -> Path:
    """The folder holding the pre-installed torch/torchaudio pair (built once, atomically)."""
    folder = CACHE / ("colab-preinstalled-" + "-".join(f"{k}{v}" for k, v in PREINSTALLED.items()))
    if (folder / ".complete").exists():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    done = _run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--target", str(partial),
                 *(f"{k}=={v}" for k, v in PREINSTALLED.items())],
                env={**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip")})
    assert done.returncode == 0, f"could not build the pre-installed pair:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (partial / ".complete").write_text("ok")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _wheelhouse(python: Path, env: dict) -> Path:
    """Wheels of everything the install cell will ask for, kept per requirements.txt (this machine's pip
    keeps no HTTP cache, so without it every run would download ~1 GB again). Built with the runtime's own
    pip, requirements and constraint file as the cell makes them; the cell's commands then run unchanged,
    with pip pointed at this folder (``PIP_FIND_LINKS``, ``PIP_NO_INDEX``), like a warm cache."""
    import hashlib

    key = hashlib.sha256((ROOT / "requirements.txt").read_bytes()
                         + json.dumps(PREINSTALLED, sort_keys=True).encode()).hexdigest()[:12]
    house = CACHE / f"wheelhouse-{key}"
    if (house / ".complete").exists():
        return house
    partial = house.with_name(house.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    keep = partial / "keep.txt"
    keep.write_text("".join(f"{k}=={v}\n" for k, v in PREINSTALLED.items()))
    req = partial / "req.txt"
    req.write_text("".join(line + "\n" for line in (ROOT / "requirements.txt").read_text().splitlines()
                           if not re.match(r"^(torch|torchaudio)==", line)))
    # what pip would install into this runtime (metadata only; the pre-installed pair counts as installed) ...
    report = partial / "report.json"
    plan = _run([str(python), "-m", "pip", "install", "--dry-run", "-q", "--report", str(report),
                 "-r", str(req), "-c", str(keep)], env=env)
    assert plan.returncode == 0, f"pip cannot plan the install:\n{plan.stdout[-3000:]}\n{plan.stderr[-3000:]}"
    specs = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in json.loads(report.read_text())["install"]]
    assert not any(s.lower().startswith(("torch==", "torchaudio==")) for s in specs), specs
    # ... fetched once, with what isolated builds of the few sdists need
    done = _run([str(python), "-m", "pip", "download", "-q", "--no-deps", "-d", str(partial), *specs,
                 "setuptools", "wheel"], env=env)
    assert done.returncode == 0, f"could not fetch the requirements:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (partial / ".complete").write_text("ok")
    shutil.rmtree(house, ignore_errors=True)
    partial.rename(house)
    return house


def _torch_report(python: Path, env: dict) -> dict:
    code = ("import json, torch, torchaudio; "
            "m = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_mels=80)(torch.randn(1, 16000)); "
            "print(json.dumps({'torch': torch.__version__, 'torchaudio': torchaudio.__version__, "
            "'torch_file': torch.__file__, 'torchaudio_file': torchaudio.__file__, 'mel': list(m.shape)}))")
    out = _run([str(python), "-c", code], env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _requirements() -> dict[str, str | None]:
    reqs = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        reqs[name.strip()] = version.strip() or None
    return reqs


def test_install_cell_in_a_colab_like_runtime_keeps_its_torch(tmp_path):
    t0 = time.perf_counter()
    pair = _preinstalled_pair()
    venv = tmp_path / "runtime"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "colab_preinstalled.pth").write_text(str(pair) + "\n")  # Colab's own dist-packages, so to speak
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               PIP_CACHE_DIR=str(CACHE / "pip"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    before = _torch_report(python, env)
    assert before["torch"].split("+")[0] == PREINSTALLED["torch"] and before["torch_file"].startswith(str(pair))
    assert not any(p.name.startswith(("torch-", "torchaudio-")) for p in site.iterdir())

    # exactly the install cell's commands, the clone pointed at this checkout, in Colab's /content;
    # pip reads the wheels from the local wheelhouse (the machine's own find-links stay available)
    house = _wheelhouse(python, env)
    env = {**env, "PIP_FIND_LINKS": f"{house} {os.environ.get('PIP_FIND_LINKS', '')}".strip(), "PIP_NO_INDEX": "1",
           "PIP_NO_COMPILE": "1"}  # no byte-compiling ~1.5 GB of packages up front: imports compile lazily
    commands = nbbuild.commands_of_install_cell(_install_cell(NOTEBOOKS[0]))
    assert any("git clone" in c for c in commands) and any(c.startswith("cd ") for c in commands)
    commands = [c.replace(nbbuild.REPO_URL, f"file://{ROOT}") for c in commands]
    content = tmp_path / "content"
    content.mkdir()
    script = "set -e\n" + "\n".join(commands) + "\n"
    done = _run(["bash", "-c", script], cwd=content, env=env)
    assert done.returncode == 0, f"install cell failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    clone = content / nbbuild.CLONE_DIR
    assert (clone / "helpers" / "__init__.py").exists()

    # torch and torchaudio: the same versions, from the same files, still working together
    after = _torch_report(python, env)
    assert after == before, f"the install cell changed the pre-installed pair: {before} -> {after}"
    assert after["mel"][1] == 80
    assert not any(p.name.startswith(("torch-", "torchaudio-")) for p in site.iterdir())
    # everything else requirements.txt names is there, at its pinned version
    listed = _run([str(python), "-m", "pip", "list", "--format=json"], env=env)
    have = {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(listed.stdout)}
    missing, wrong = [], []
    for name, version in _requirements().items():
        key = name.lower().replace("_", "-")
        if key in ("torch", "torchaudio"):
            assert have[key].split("+")[0] == PREINSTALLED[key]
        elif key not in have:
            missing.append(name)
        elif version and have[key] != version:
            wrong.append(f"{name} {have[key]} (pinned {version})")
    assert not missing and not wrong, f"missing {missing}, other versions {wrong}"
    check = _run(["bash", "-c", "cd notebooks && python -c 'import sys, pathlib; "
                  "sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent)); import helpers, helpers.models; "
                  "print(helpers.__file__)'"], cwd=clone, env=env)
    assert check.returncode == 0 and str(clone) in check.stdout, check.stderr[-2000:]

    # notebook 00, top to bottom, in the clone, with that runtime
    parts = tmp_path / "results"
    nb_env = {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SPEECHLAB_PROFILE": "quick",
              "SPEECHLAB_WORK": str(tmp_path / "work"), "SPEECHLAB_RESULTS": str(parts)}
    run00 = _run([str(python), "-m", "papermill", "--no-progress-bar", "-k", "python3", "--cwd", str(clone / "notebooks"),
                  str(clone / "notebooks" / NOTEBOOKS[0].name), str(tmp_path / "00_out.ipynb")], env=nb_env)
    assert run00.returncode == 0, f"notebook 00 failed in the Colab-like runtime:\n{run00.stderr[-4000:]}"
    out_text = (tmp_path / "00_out.ipynb").read_text(encoding="utf-8")
    assert f"torch {before['torch']} + torchaudio {before['torchaudio']} work together" in out_text
    figures = json.loads((parts / "00_setup_tour.json").read_text())
    from helpers import models

    assert figures["packaged_models_available"] == len(models.PACKAGED) == 6  # every offline model the install cell brought
    print(f"\nColab-like install: pre-installed torch {before['torch']}, install + notebook 00 in "
          f"{time.perf_counter() - t0:.0f} s")
