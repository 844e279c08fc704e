"""End-to-end: record a take through the studio widget in a real browser, and check the saved WAV.

What happens (about a minute on 2 cores, plus a one-time install of Chromium/Playwright):

1. ``scripts/browser_test_deps.sh`` installs Debian's ``chromium`` and the ``playwright`` Python driver
   (never ``playwright install``: it drives the system browser) when they are missing.
2. A known WAV (real speech from ``sample_data/voices`` when present, else a synthetic speech-like
   signal) becomes Chromium's fake microphone (``--use-file-for-fake-audio-capture``).
3. JupyterLab is served on 127.0.0.1 (free port, random token) from a temp folder holding a small
   notebook made of notebook 01's cells that the studio needs: install, ``parameters``, ``setup``
   and the cell(s) marked ``# studio``. The takes go to a temp raw folder (``SPEECHLAB_RECORD_DIR``).
4. Headless Chromium opens it, runs the cells, clicks Record, waits ~3 s, Stop, Keep; then records
   the same prompt again and checks that Keep asks before replacing.
5. Assertions: the WAV exists under the prompt's take name, its duration matches the recording
   length within 10%, and it correlates with the source audio (normalised cross-correlation > 0.5).

Screenshots: ``<work>/artifacts/studio_*.png`` (work = ``$SPEECHLAB_WORK``), measurements in
``<work>/artifacts/studio_browser.json``. Every process started here is stopped at the end.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
# the notebook whose "# studio" cell(s) the test runs (override to try a draft: SPEECHLAB_STUDIO_NOTEBOOK=path)
NB01 = Path(os.environ.get("SPEECHLAB_STUDIO_NOTEBOOK") or REPO / "notebooks" / "01_recording_prep.ipynb")
CHROMIUM = "/usr/bin/chromium"
RECORD_S = 3.0
SOURCE_SR = 48_000

# The cells proposed for notebook 01 (see the report); used when 01 has no "# studio" cell yet.
INSTALL_CELL = '''import sys, pathlib
sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))  # make `helpers` importable from notebooks/'''
PARAMS_CELL = '''from helpers.config import param, pick
PROFILE = param("PROFILE", "quick")
SEED = param("SEED", 0)
PROMPTS = param("PROMPTS", None)           # CSV with filename,transcript; None: sample_data/prompts.csv
RECORD_DIR = param("RECORD_DIR", None)     # where the studio saves your takes; None: <work dir>/my_takes'''
SETUP_CELL = '''from pathlib import Path
from helpers.config import setup
cfg = setup("01_recording_prep", profile=PROFILE, seed=SEED)
prompts_csv = Path(PROMPTS) if PROMPTS else cfg.sample_data / "prompts.csv"'''
STUDIO_CELL = '''# studio: record your own takes in the browser (JupyterLab or Colab, with a microphone)
from helpers.studio import Studio

record_dir = Path(RECORD_DIR) if RECORD_DIR else cfg.work / "my_takes"
studio = Studio(prompts_csv=prompts_csv, raw_dir=record_dir)
studio.show()'''


# ---------------------------------------------------------------------------------------------- setup
def _ensure_deps() -> None:
    missing = not Path(CHROMIUM).exists() or any(importlib.util.find_spec(m) is None for m in ("playwright", "anywidget"))
    if missing:
        print("installing the browser test's dependencies: scripts/browser_test_deps.sh")
        done = subprocess.run(["bash", str(REPO / "scripts" / "browser_test_deps.sh"), sys.executable], timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/browser_test_deps.sh failed (exit {done.returncode}): this test needs Debian's "
                               "chromium (apt-get, as root) and the playwright + anywidget packages (pip). Run the "
                               "script by hand to see why, e.g. `bash scripts/browser_test_deps.sh .venv/bin/python`.")
        importlib.invalidate_caches()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _source_audio(dest: Path) -> tuple[np.ndarray, str]:
    """The fake microphone's input, written as 48 kHz mono PCM16 WAV. Returns (samples, description)."""
    voices = REPO / "sample_data" / "voices" / "voices.csv"
    parts: list[np.ndarray] = []
    if voices.is_file():
        import soxr

        with voices.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["voice"] == "piper_joe"][:3]
        for r in rows:
            x, sr = sf.read(REPO / "sample_data" / r["path"], dtype="float32", always_2d=True)
            parts += [soxr.resample(x.mean(axis=1), sr, SOURCE_SR), np.zeros(SOURCE_SR // 4, np.float32)]
    if parts:
        audio, what = np.concatenate(parts), f"{len(rows)} piper_joe sentences from sample_data/voices"
    else:  # syllable-like bursts with an irregular rhythm and pitch, so every lag looks different
        rng = np.random.default_rng(7)
        t = np.arange(int(7.0 * SOURCE_SR)) / SOURCE_SR
        env = np.zeros_like(t)
        pos = 0.2
        while pos < 6.8:
            dur = rng.uniform(0.08, 0.3)
            env += np.exp(-0.5 * ((t - pos - dur / 2) / (dur / 4)) ** 2) * rng.uniform(0.3, 1.0)
            pos += dur + rng.uniform(0.02, 0.25)
        f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
        audio = env * (np.sin(2 * np.pi * np.cumsum(f0) / SOURCE_SR) + 0.3 * rng.standard_normal(len(t)))
        what = "7 s of synthetic speech-like bursts (sample_data/voices not built)"
    audio = (0.3 * audio / np.max(np.abs(audio))).astype(np.float32)   # -10 dBFS peak: well clear of clipping
    sf.write(dest, audio, SOURCE_SR, subtype="PCM_16")
    return audio, what


def _notebook(dest: Path) -> str:
    """Write the notebook the browser runs; returns where its studio cell came from."""
    import nbformat

    cells, origin = None, "the cells proposed for notebook 01 (01 has no '# studio' cell yet)"
    if NB01.is_file():
        nb = nbformat.read(NB01, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        studio = [c for c in code if c.source.lstrip().startswith("# studio")]
        params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        setup_ = [c for c in code if "setup(" in c.source and "import setup" in c.source or "cfg = setup(" in c.source]
        if studio and params and setup_:
            cells = [code[0], params[0], setup_[0], *studio]
            origin = f"notebook 01 ({len(studio)} '# studio' cell(s))"
    if cells is None:
        warnings.warn("notebooks/01_recording_prep.ipynb has no '# studio' cell: the browser test drives the "
                      "proposed cells instead (see tests/test_studio_browser.py STUDIO_CELL).")
        cells = [nbformat.v4.new_code_cell(s) for s in (INSTALL_CELL, PARAMS_CELL, SETUP_CELL, STUDIO_CELL)]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.source) for c in cells]
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    nbformat.write(nb, dest)
    return origin


def _best_correlation(recorded: np.ndarray, rec_sr: int, source: np.ndarray, src_sr: int) -> tuple[float, float]:
    """Peak normalised cross-correlation of the recording against the (looping) source, both at 16 kHz.

    Returns (ncc, lag in seconds into the source loop). Chromium loops the fake-microphone file, so
    the source is tiled before sliding the recording along it.
    """
    import soxr
    from scipy.signal import fftconvolve

    r = soxr.resample(recorded.astype(np.float32), rec_sr, 16_000).astype(np.float64)
    s = soxr.resample(source.astype(np.float32), src_sr, 16_000).astype(np.float64)
    reps = int(np.ceil(len(r) / len(s))) + 2
    tiled = np.tile(s, reps)
    num = fftconvolve(tiled, r[::-1], mode="valid")
    energy = np.concatenate([[0.0], np.cumsum(tiled**2)])
    win = energy[len(r):] - energy[: len(energy) - len(r)]
    ncc = num / (np.sqrt(win * np.sum(r**2)) + 1e-12)
    k = int(np.argmax(ncc))
    return float(ncc[k]), (k % len(s)) / 16_000


def _stop_server(proc: subprocess.Popen, port: int, token: str, runtime_dir: Path) -> None:
    """Shut JupyterLab and its kernels down: the API first, then by process id."""
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(req, timeout=10).read()
        proc.wait(timeout=20)
    except Exception:
        pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    # kernels run in their own session; any left over is found by its connection file in our runtime dir
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmd = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(runtime_dir) in cmd:
            try:
                os.kill(int(pid_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited (code {proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------------------------- the test
def test_record_a_take_in_a_real_browser(tmp_path):
    _ensure_deps()
    from playwright.sync_api import sync_playwright

    from helpers.config import work_dir

    artifacts = work_dir() / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    # the lab: a notebook folder that can import helpers, a raw folder, a prompt list, a work dir
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    (root / "helpers").symlink_to(REPO / "helpers")
    if (REPO / "sample_data").exists():
        (root / "sample_data").symlink_to(REPO / "sample_data")
    origin = _notebook(root / "notebooks" / "studio_e2e.ipynb")
    raw = tmp_path / "raw"
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("filename,transcript\n"
                       "take_001.wav,The birch canoe slid on the smooth planks.\n"
                       "take_002.flac,Glue the sheet to the dark blue background.\n", encoding="utf-8")
    source, source_what = _source_audio(tmp_path / "mic.wav")

    port, token, runtime = _free_port(), secrets.token_hex(16), tmp_path / "jupyter_runtime"
    env = {**os.environ, "SPEECHLAB_WORK": str(tmp_path / "work"), "SPEECHLAB_RECORD_DIR": str(raw),
           "SPEECHLAB_PROMPTS": str(prompts), "SPEECHLAB_PROFILE": "quick", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter_config"),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab_settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab_workspaces")}
    env.pop("SPEECHLAB_FRONTEND", None)
    # no "get Jupyter news?" toast over the studio in the screenshots (and no request for it)
    notif = tmp_path / "lab_settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notif.parent.mkdir(parents=True)
    notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log = tmp_path / "jupyter.log"
    jupyter = Path(sys.executable).with_name("jupyter")
    with log.open("w") as logf:
        server = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    shots: list[str] = []
    figures: dict = {"studio_cells_from": origin, "fake_microphone": source_what}
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", server, log)
        figures["server_start_s"] = round(time.monotonic() - t_start, 1)
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                user_data_dir=str(tmp_path / "chromium_profile"), executable_path=CHROMIUM, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-audio-capture={tmp_path / 'mic.wav'}"],
                viewport={"width": 1280, "height": 1000})
            try:
                ctx.grant_permissions(["microphone"], origin=f"http://127.0.0.1:{port}")
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))

                def shot(name: str) -> None:
                    path = artifacts / f"studio_{name}.png"
                    page.locator(".speechlab-studio").screenshot(path=str(path))
                    shots.append(str(path))
                    print(f"screenshot: {path}")

                def wait_state(state: str, timeout_s: float = 30) -> None:
                    page.wait_for_selector(f".speechlab-studio[data-state='{state}']", timeout=timeout_s * 1000)

                page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/studio_e2e.ipynb?token={token}")
                page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook')",
                                       timeout=90_000)
                page.wait_for_function(  # the kernel is up: the toolbar shows it idle
                    "() => { const p = window.jupyterapp.shell.currentWidget;"
                    " return p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel"
                    " && p.sessionContext.session.kernel.status === 'idle'; }", timeout=90_000)
                figures["lab_ready_s"] = round(time.monotonic() - t_start, 1)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_selector(".speechlab-studio[data-save-name='take_001.wav']", timeout=120_000)
                wait_state("idle")
                page.locator(".speechlab-studio").scroll_into_view_if_needed()
                figures["studio_shown_s"] = round(time.monotonic() - t_start, 1)
                text = page.locator(".speechlab-studio .sl-text").inner_text()
                assert text == "The birch canoe slid on the smooth planks."
                assert "1 / 2" in page.locator(".speechlab-studio .sl-progress").inner_text()
                shot("1_ready")

                # record ~3 s, stop, review, keep
                page.click(".speechlab-studio .sl-rec")
                wait_state("recording", 20)
                t0 = time.monotonic()
                time.sleep(1.2)
                shot("2_recording")
                time.sleep(max(0.0, RECORD_S - (time.monotonic() - t0)))
                page.click(".speechlab-studio .sl-stop")
                wall_s = time.monotonic() - t0
                wait_state("review", 30)
                root_el = page.locator(".speechlab-studio")
                recorded_s = float(root_el.get_attribute("data-recorded-seconds"))
                verdict = root_el.get_attribute("data-verdict")
                feedback = page.locator(".speechlab-studio .sl-feedback").inner_text()
                shot("3_review")
                page.click(".speechlab-studio .sl-keep")
                saved = raw / "take_001.wav"
                page.wait_for_selector(".speechlab-studio[data-save-name='take_002.wav']", timeout=30_000)
                shot("4_saved")

                # the same prompt again: Keep must ask before replacing; Redo leaves the file alone
                before = saved.read_bytes()
                page.click(".speechlab-studio .sl-back")
                page.wait_for_selector(".speechlab-studio[data-save-name='take_001.wav']", timeout=30_000)
                page.click(".speechlab-studio .sl-rec")
                wait_state("recording", 20)
                time.sleep(1.0)
                page.click(".speechlab-studio .sl-stop")
                wait_state("review", 30)
                page.click(".speechlab-studio .sl-keep")
                wait_state("confirm", 30)
                assert page.locator(".speechlab-studio .sl-replace").is_visible()
                confirm_msg = page.locator(".speechlab-studio .sl-msg").inner_text()
                shot("5_confirm_replace")
                page.click(".speechlab-studio .sl-redo")
                wait_state("idle", 30)
                assert saved.read_bytes() == before, "the kept take changed although Replace was not pressed"
                figures.update(capture=root_el.get_attribute("data-capture"),
                               browser_rate=int(root_el.get_attribute("data-browser-rate")))
            finally:
                ctx.close()
    finally:
        _stop_server(server, port, token, runtime)

    assert server.poll() is not None, "JupyterLab is still running"
    assert "already exists" in confirm_msg
    # the saved take: exists under the prompt's name, right length, and it is the fake microphone's audio
    assert saved.is_file(), f"no take saved in {raw}: {sorted(p.name for p in raw.iterdir())}"
    audio, sr = sf.read(saved, dtype="float32")
    info = sf.info(saved)
    assert (sr, info.channels, info.subtype) == (44_100, 1, "PCM_16")
    duration = len(audio) / sr
    ncc, lag = _best_correlation(audio, sr, source, SOURCE_SR)
    # negative control: the same check against audio the microphone did NOT play (the source reversed)
    ncc_other, _ = _best_correlation(audio, sr, source[::-1].copy(), SOURCE_SR)
    figures.update(record_clicked_s=round(wall_s, 3), recorded_in_browser_s=recorded_s, saved_duration_s=round(duration, 3),
                   duration_error=round(duration / recorded_s - 1, 4), ncc_with_source=round(ncc, 4),
                   lag_in_source_s=round(lag, 3), ncc_with_reversed_source=round(ncc_other, 4), verdict=verdict, feedback=feedback,
                   total_s=round(time.monotonic() - t_start, 1), screenshots=shots)
    (artifacts / "studio_browser.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    assert abs(duration - recorded_s) <= 0.10 * recorded_s, figures
    assert abs(duration - wall_s) <= 0.10 * wall_s, figures
    assert ncc > 0.5, figures
    assert ncc_other < 0.3, figures
    assert verdict in ("good", "check"), feedback
