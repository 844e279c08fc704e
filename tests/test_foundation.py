"""The skeleton every notebook stands on: parameters, setup, atomic files, results, notebook hygiene, make run."""

from __future__ import annotations

import json
import time
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import config, files, results

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# ---------- parameters -----------------------------------------------------------------------
def test_param_reads_env_with_the_defaults_type(monkeypatch):
    monkeypatch.setenv("SPEECHLAB_STEPS", "50")
    monkeypatch.setenv("SPEECHLAB_LR", "3e-4")
    monkeypatch.setenv("SPEECHLAB_PLOT", "no")
    monkeypatch.setenv("SPEECHLAB_LIMIT", "[1, 2]")
    monkeypatch.delenv("SPEECHLAB_SEED", raising=False)
    assert config.param("STEPS", 200) == 50
    assert config.param("LR", 1e-5) == pytest.approx(3e-4)
    assert config.param("PLOT", True) is False
    assert config.param("LIMIT", None) == [1, 2]
    assert config.param("SEED", 7) == 7


def test_param_rejects_unreadable_env_and_names_the_variable(monkeypatch):
    monkeypatch.setenv("SPEECHLAB_STEPS", "many")
    with pytest.raises(ValueError, match="SPEECHLAB_STEPS"):
        config.param("STEPS", 200)


def test_pick_uses_profile_default_only_when_unset():
    assert config.pick(None, "quick", quick=10, full=4000) == 10
    assert config.pick(None, "full", quick=10, full=4000) == 4000
    assert config.pick(33, "full", quick=10, full=4000) == 33
    with pytest.raises(KeyError):
        config.pick(None, "full", quick=1)


def test_setup_decides_cpu_fp32_seeds_and_prints(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_WORK", str(tmp_path / "w"))
    import numpy as np
    import torch

    cfg = config.setup("99_test", profile="quick", seed=3, device="cpu", steps=5)
    a = (np.random.rand(), torch.rand(1).item())
    config.setup("99_test", profile="quick", seed=3, device="cpu", quiet=True)
    b = (np.random.rand(), torch.rand(1).item())
    assert a == b  # seeding makes a re-run identical
    out = capsys.readouterr().out
    assert "profile   quick" in out and "precision fp32" in out and "torch" in out and "steps=5" in out
    assert cfg.precision == "fp32" and cfg.dtype == torch.float32 and cfg.quick
    assert cfg.work == (tmp_path / "w").resolve() and cfg.work.is_dir()
    assert cfg.out("a", "b").is_dir()
    with pytest.raises(ValueError, match="profile"):
        config.setup("99_test", profile="fast")


# ---------- atomic files and results ---------------------------------------------------------
def test_atomic_write_leaves_old_file_when_interrupted(tmp_path):
    dest = tmp_path / "out" / "a.json"
    files.write_json(dest, {"v": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_path(dest) as tmp:
            tmp.write_text("half a fi")
            raise RuntimeError("kernel died")
    assert json.loads(dest.read_text()) == {"v": 1}
    assert [p.name for p in dest.parent.iterdir()] == ["a.json"]  # no temp file left behind


def test_atomic_dir_replaces_whole_folder(tmp_path):
    dest = tmp_path / "ds"
    with files.atomic_dir(dest) as tmp:
        (tmp / "x.txt").write_text("1")
    with files.atomic_dir(dest) as tmp:
        (tmp / "y.txt").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["y.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_results_merge_and_collect(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_RESULTS", str(tmp_path))
    results.record("01_x", {"a": 1.5})
    import numpy as np

    merged = results.record("01_x", {"b": np.float32(2.0), "c": np.arange(3)})
    assert merged == {"a": 1.5, "b": 2.0, "c": [0, 1, 2]}
    results.record("02_y", {"z": "ok"})
    assert results.collect() == {"01_x": {"a": 1.5, "b": 2.0, "c": [0, 1, 2]}, "02_y": {"z": "ok"}}


# ---------- notebook hygiene and shape ---------------------------------------------------------
def test_notebooks_exist_in_learning_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names[0].startswith("00_") and names[1].startswith("01_recording_prep")
    numbers = [int(n[:2]) for n in names]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_has_the_series_shape(nb_path):
    nb = json.loads(nb_path.read_text())
    assert "widgets" not in nb["metadata"], "widget state committed: run `make clean-notebooks`"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "outputs committed: run `make clean-notebooks`"
    src = ["".join(c["source"]) for c in code]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert 'google.colab' in src[0], "first code cell is the Colab install cell"
    assert tagged[0] == 1, "the parameters cell comes right after the install cell"
    assert re.search(r'^PROFILE = param\("PROFILE", "quick"\)', src[1], re.M)
    assert re.search(rf'setup\("{nb_path.stem}"', src[2]), "the cell after parameters calls setup(<notebook name>)"
    first_md = "".join(nb["cells"][0]["source"])
    assert first_md.startswith("# ") and "colab.research.google.com" in first_md
    assert "helpers.results" in "".join(src) or "results.record" in "".join(src), "notebook records its key figures"


def test_clean_notebooks_script_strips_outputs(tmp_path):
    nb = json.loads(NOTEBOOKS[0].read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and not c["metadata"].get("tags"))
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x"]}]
    cell["execution_count"] = 4
    nb["metadata"]["widgets"] = {"state": {}}
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb))
    script = [sys.executable, str(ROOT / "scripts" / "clean_notebooks.py")]
    check = subprocess.run(script + ["--check", str(dirty)], capture_output=True, text=True)
    assert check.returncode == 1 and "outputs" in check.stdout and "widget state" in check.stdout
    subprocess.run(script + [str(dirty)], check=True, capture_output=True)
    assert subprocess.run(script + ["--check", str(dirty)], capture_output=True).returncode == 0
    cleaned = json.loads(dirty.read_text())
    assert sum(c["metadata"].get("tags") == ["parameters"] for c in cleaned["cells"]) == 1  # tags survive cleaning


# ---------- dependencies ------------------------------------------------------------------------
def test_requirements_pin_a_matching_torch_torchaudio_pair_and_conda_uses_the_same_set():
    req = (ROOT / "requirements.txt").read_text()
    torch_v = re.search(r"^torch==(\S+)", req, re.M).group(1)
    audio_v = re.search(r"^torchaudio==(\S+)", req, re.M).group(1)
    assert torch_v == audio_v
    env = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in env and "-r requirements.txt" in env


def test_installed_torch_and_torchaudio_load_together():
    import torch
    import torchaudio

    assert torch.__version__.split("+")[0] == torchaudio.__version__.split("+")[0]
    spec = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_mels=80)(torch.ones(1, 1600))
    assert spec.shape[1] == 80


# ---------- make run -----------------------------------------------------------------------------
def test_run_series_writes_executed_notebooks_html_and_results(tmp_path, capsys):
    """The machinery behind `make run`, on a one-cell notebook in a scratch copy of notebooks/."""
    import nbformat

    from scripts import run_series

    fake_root = tmp_path / "repo"
    (fake_root / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import sys; sys.path.insert(0, %r)\n"
        "from helpers import results\nresults.record('01_demo', {'answer': 6 * 7})" % str(ROOT))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, fake_root / "notebooks" / "01_demo.ipynb")
    broken = nbformat.v4.new_notebook()
    broken.cells = [nbformat.v4.new_code_cell("raise SystemError('boom')")]
    broken.metadata["kernelspec"] = nb.metadata["kernelspec"]
    nbformat.write(broken, fake_root / "notebooks" / "02_broken.ipynb")

    env_before = os.environ.get("SPEECHLAB_RESULTS")
    old_root = run_series.ROOT
    run_series.ROOT = fake_root
    try:
        code = run_series.main(["--runs", str(tmp_path / "runs")])
    finally:
        run_series.ROOT = old_root
        if env_before is None:
            os.environ.pop("SPEECHLAB_RESULTS", None)
        else:
            os.environ["SPEECHLAB_RESULTS"] = env_before
    latest = tmp_path / "runs" / "latest"
    assert code == 1  # the broken notebook is reported as a failure...
    data = json.loads((latest / "results.json").read_text())
    assert data["01_demo"] == {"answer": 42}  # ...and the good one's figures are still there
    assert data["_run"]["notebooks"]["01_demo"]["status"] == "ok"
    assert data["_run"]["notebooks"]["02_broken"]["status"].startswith("FAILED")
    assert (latest / "01_demo.ipynb").exists() and (latest / "01_demo.html").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "no time limit per cell" in out  # make run's default: a slow machine is not a failure
    assert re.search(r"=== \[1/2\] 01_demo started at \d\d:\d\d:\d\d", out)
    assert re.search(r"=== \[1/2\] 01_demo ok after \d+ s", out)
    assert re.search(r"=== \[2/2\] 02_broken FAILED: .*boom.* after \d+ s", out)


def test_run_series_cell_limit_names_the_cell_and_the_fix(tmp_path, capsys):
    """With --timeout, a cell that runs past it is reported by number and first line, with what to do."""
    import nbformat

    from scripts import run_series

    fake_root = tmp_path / "repo"
    (fake_root / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("# a long training cell\nimport time\ntime.sleep(60)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, fake_root / "notebooks" / "03_slow.ipynb")
    env_before = os.environ.get("SPEECHLAB_RESULTS")
    old_root = run_series.ROOT
    run_series.ROOT = fake_root
    t0 = time.perf_counter()
    try:
        code = run_series.main(["--runs", str(tmp_path / "runs"), "--timeout", "3"])
    finally:
        run_series.ROOT = old_root
        if env_before is None:
            os.environ.pop("SPEECHLAB_RESULTS", None)
        else:
            os.environ["SPEECHLAB_RESULTS"] = env_before
    assert code == 1 and time.perf_counter() - t0 < 50  # gave up after the limit, not after the sleep
    out = capsys.readouterr().out
    assert "3 s per cell" in out
    status = json.loads((tmp_path / "runs" / "latest" / "results.json").read_text())["_run"]["notebooks"]["03_slow"]
    assert "code cell 2 (`import time`) of 03_slow.ipynb ran longer than the per-cell limit of 3 s" in status["status"]
    assert "without --timeout" in status["status"] and "Traceback" not in status["status"]
