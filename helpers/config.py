"""Profiles, parameters and the one ``setup()`` call every notebook makes first.

Why this module exists
----------------------
Every notebook runs in two *profiles*:

``quick``  (the default) CPU, offline, the bundled ``sample_data/``, a few minutes.
           Models no package ships are replaced by small local *stand-ins*.
``full``   a GPU (Colab or your own), models and datasets from the Hugging Face Hub,
           real training lengths.

A notebook's settings live in one cell tagged ``parameters`` (the papermill
convention).  Each value there is written as ``param("NAME", default)``, so three
layers can change it, strongest first:

1. papermill (``papermill -p STEPS 50``) injects a cell right after ``parameters``;
2. an environment variable ``SPEECHLAB_<NAME>`` (``SPEECHLAB_PROFILE=full``);
3. the default written in the notebook.

A default of ``None`` means "whatever the profile says" — see :func:`pick`.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from dataclasses import dataclass, field

import numpy as np
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "sample_data"
PROFILES = ("quick", "full")
ENV_PREFIX = "SPEECHLAB_"


def _parse_like(raw: str, default: Any) -> Any:
    """Parse the text of an environment variable into the type of ``default``."""
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a yes/no value, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if default is None or isinstance(default, (list, dict)):
        # None / containers: accept JSON ("50", "[1, 2]", "null"), else keep the string.
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def param(name: str, default: Any = None) -> Any:
    """Return the value of a notebook parameter: ``SPEECHLAB_<NAME>`` if set, else ``default``.

    >>> param("STEPS", 200)     # 200, or int($SPEECHLAB_STEPS) when that is set
    """
    raw = os.environ.get(ENV_PREFIX + name.upper())
    if raw is None or raw == "":
        return default
    try:
        return _parse_like(raw, default)
    except ValueError as err:
        raise ValueError(
            f"Environment variable {ENV_PREFIX}{name.upper()}={raw!r} cannot be read "
            f"like the default {default!r}: {err}. Fix or unset it."
        ) from None


def pick(value: Any, profile: str, **by_profile: Any) -> Any:
    """``value`` if it was set, else the profile's default: ``pick(STEPS, cfg.profile, quick=20, full=2000)``."""
    if value is not None:
        return value
    if profile not in by_profile:
        raise KeyError(f"no default for profile {profile!r} (have {sorted(by_profile)})")
    return by_profile[profile]


def work_dir() -> Path:
    """The folder where notebooks write everything they make (``$SPEECHLAB_WORK``, default ``<repo>/work``).

    Stages hand data to each other through it: ``work/dataset`` (notebook 01),
    ``work/embeddings`` (02), ``work/tts`` (03), ... Raw recordings are never written here
    or anywhere else: they are only read.
    """
    path = Path(os.environ.get(ENV_PREFIX + "WORK", REPO_ROOT / "work")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if installed) torch, so a re-run gives the same numbers."""
    random.seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    except ImportError:
        pass


def rng_state() -> dict:
    """Every random generator's state (Python, NumPy, torch CPU and CUDA), for a checkpoint.

    Restoring it with :func:`set_rng_state` makes a resumed run draw the same random numbers
    (dropout masks, shuffles) as an uninterrupted one.
    """
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` saved (a checkpoint without CUDA state leaves the GPU's alone)."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def choose_precision(device: str) -> str:
    """bf16 where the GPU supports it (Ampere and newer), fp16 on older GPUs (Colab's T4), fp32 on CPU."""
    if device != "cuda":
        return "fp32"
    import torch

    if torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp16"


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("torch", "torchaudio", "transformers", "datasets", "speechbrain", "jiwer"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class Config:
    """What ``setup()`` decided: read it instead of re-deciding in every cell."""

    notebook: str
    profile: str
    device: str
    precision: str
    seed: int
    work: Path
    sample_data: Path = SAMPLE_DATA
    versions: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    @property
    def dtype(self):
        """The torch dtype for mixed precision (``torch.float32`` on CPU)."""
        import torch

        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[self.precision]

    def out(self, *parts: str) -> Path:
        """A folder under the work dir, created if needed: ``cfg.out("dataset")``."""
        path = self.work.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def data_in_use(work: Path, raw_dir: Any = None) -> str:
    """Which recordings this run works on, in words, for the setup banner: never "sample data" when it is not.

    ``raw_dir`` (notebook 01's parameter), else ``$SPEECHLAB_RAW_DIR``, else what ``<work>/dataset/source.json``
    (written by helpers.prep) says the dataset was built from.
    """
    sample_raw = (SAMPLE_DATA / "raw").resolve()
    asked = raw_dir or os.environ.get(ENV_PREFIX + "RAW_DIR") or None
    dataset = Path(work) / "dataset"
    try:
        source = json.loads((dataset / "source.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        source = None
    if asked and Path(asked).expanduser().resolve() != sample_raw:
        built = source and Path(source.get("raw_dir", "")) == Path(asked).expanduser().resolve()
        return f"your takes in {asked}" + ("" if built else f" ({dataset} is not built from them yet: notebook 01 does that)")
    if source and not source.get("sample"):
        return f"your takes from {source.get('raw_dir')} ({dataset}, {source.get('usable', '?')} usable)"
    return "the bundled sample takes (sample_data/: one synthetic voice)"


def setup(notebook: str, profile: str = "quick", seed: int = 0, device: str | None = None,
          quiet: bool = False, **params: Any) -> Config:
    """Decide profile, device and precision, seed everything, print it all. Call once per notebook.

    ``params`` are the notebook's parameters; they are echoed so an executed notebook
    records exactly what it ran with.
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}: use one of {PROFILES} (set SPEECHLAB_PROFILE or the PROFILE parameter).")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if device is None:
        device = "cuda" if has_cuda else "cpu"
    if profile == "full" and device != "cuda" and not quiet:
        print("WARNING: profile 'full' without a GPU: training lengths are meant for a GPU and will be slow here.")
    # Keep tests and quick runs polite on small machines: two cores, no oversubscription.
    if device == "cpu":
        try:
            import torch

            torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))
        except ImportError:
            pass
    seed_everything(seed)
    cfg = Config(notebook=notebook, profile=profile, device=device, precision=choose_precision(device),
                 seed=seed, work=work_dir(), versions=_versions(), params=dict(params))
    if not quiet:
        print(f"Speech Lab · {notebook}")
        print(f"  profile   {cfg.profile}  ({'CPU, offline, small sizes' if cfg.quick else 'GPU, hub models, real lengths'})")
        print(f"  data      {data_in_use(cfg.work, params.get('raw_dir'))}")
        gpu = ""
        if device == "cuda":
            import torch

            gpu = f"  ({torch.cuda.get_device_name(0)})"
        print(f"  device    {cfg.device}{gpu}")
        print(f"  precision {cfg.precision}")
        print(f"  seed      {cfg.seed}")
        print(f"  work dir  {cfg.work}")
        print("  versions  " + ", ".join(f"{k} {v}" for k, v in cfg.versions.items()))
        if params:
            print("  parameters " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    return cfg
