"""Every notebook's ``full`` parameter cells resolve here, on a CPU with no Hub, with local stand-ins.

What ``scripts/rehearse_full.py`` relies on, checked cheaply: each notebook's parameters cell and its
setup cell run in profile ``full``; every hub id they leave in the notebook's variables (directly, or
through a recogniser / encoder name) is answered by :func:`helpers.models.resolve` with a local
stand-in from a private Hugging Face cache — or is one of ``rehearse_full.HUB_ONLY``, which must then
fail fast with the resolver's message. The rehearsal's shortened parameters must all exist in the
notebooks' parameters cells (a renamed parameter would otherwise be silently ignored by papermill).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import asr, embeddings, models, standins  # noqa: E402
from scripts import rehearse_full  # noqa: E402

KNOWN_HUB_IDS = (set(standins.HUB_IDS.values()) | set(asr.HUB_BACKENDS.values()) | set(embeddings.HUB_IDS.values())
                 | {"openslr/librispeech_asr"})
SEEN: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """Small stand-ins filed in a private HF cache, the Hub off: the rehearsal's set-up, on a CPU."""
    saved = {k: os.environ.get(k) for k in ("SPEECHLAB_WORK", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                                             "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "SPEECHLAB_PROFILE",
                                             "SPEECHLAB_CORPUS_ID")}
    work = tmp_path_factory.mktemp("full_profile")
    t0 = time.perf_counter()
    env = rehearse_full.prepare(work, size="small")
    env.pop("SPEECHLAB_CORPUS_ID")  # the notebooks' own default, not the rehearsal's folder, is under test
    os.environ.update(env)
    import huggingface_hub.constants as hc

    old_cache = hc.HF_HUB_CACHE
    hc.HF_HUB_CACHE = env["HF_HUB_CACHE"]  # huggingface_hub reads the variable once, at import
    models.hub_reachable.cache_clear()
    yield {"env": env, "work": work, "seconds": time.perf_counter() - t0}
    hc.HF_HUB_CACHE = old_cache
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    models.hub_reachable.cache_clear()


def _code_cells(name: str) -> list[dict]:
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            cells.append({"source": src, "tags": c.get("metadata", {}).get("tags", [])})
    return cells


def _parameter_and_setup_cells(name: str) -> tuple[str, str]:
    cells = _code_cells(name)
    k = next(i for i, c in enumerate(cells) if "parameters" in c["tags"])
    setup_cell = next(c["source"] for c in cells[k + 1:] if "setup(" in c["source"])
    return cells[k]["source"], setup_cell


def _hub_ids_in(namespace: dict) -> set[str]:
    """Hub ids a notebook's variables name: directly, or by a recogniser / encoder name."""
    found: set[str] = set()

    def visit(value):
        if isinstance(value, str):
            if value in KNOWN_HUB_IDS:
                found.add(value)
            if value in asr.HUB_BACKENDS:
                found.add(asr.HUB_BACKENDS[value])
            if value in embeddings.HUB_IDS:
                found.add(embeddings.HUB_IDS[value])
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)

    for key, value in namespace.items():
        if key.isupper():
            visit(value)
    return found


@pytest.mark.parametrize("name", rehearse_full.NOTEBOOKS)
def test_full_parameter_cells_resolve_with_standins(name, hub_cache, capsys, monkeypatch):
    params, setup_src = _parameter_and_setup_cells(name)
    monkeypatch.chdir(ROOT / "notebooks")
    namespace: dict = {"__name__": "__main__"}
    exec(compile(params, f"{name}:parameters", "exec"), namespace)
    assert namespace["PROFILE"] == "full"  # from SPEECHLAB_PROFILE, as papermill or Colab would set it
    exec(compile(setup_src, f"{name}:setup", "exec"), namespace)
    assert namespace["cfg"].profile == "full"
    ids = _hub_ids_in(namespace)
    SEEN[name] = ids
    for hub_id in sorted(ids):
        t0 = time.perf_counter()
        if hub_id in rehearse_full.HUB_ONLY:
            with pytest.raises(models.ModelUnavailableError) as err:
                models.resolve(hub_id)
            assert hub_id in str(err.value) and time.perf_counter() - t0 < 5
            continue
        folder = Path(models.resolve(hub_id))
        assert folder.is_dir() and folder.is_relative_to(hub_cache["env"]["HF_HUB_CACHE"]), (hub_id, folder)
        assert models.is_standin(folder), f"{hub_id} resolved to {folder}, which is not a stand-in"
    capsys.readouterr()


def test_every_full_hub_id_is_stood_in_or_listed_as_hub_only(hub_cache):
    """Across notebooks, each hub id is either stood in by the rehearsal or in HUB_ONLY (what the README says)."""
    if len(SEEN) < len(rehearse_full.NOTEBOOKS):
        pytest.skip("runs after the per-notebook checks (run the whole file)")
    seen = set().union(*SEEN.values())
    stood_in = set(standins.HUB_IDS.values())
    assert seen - stood_in - set(rehearse_full.HUB_ONLY) == set()
    # every hub-only entry is really named by some notebook, and the three the issue names are stood in
    assert set(rehearse_full.HUB_ONLY) <= seen | {"openslr/librispeech_asr"}
    assert {"microsoft/speecht5_tts", "microsoft/speecht5_hifigan", "speechbrain/spkrec-xvect-voxceleb"} <= seen
    assert "03_speecht5_finetune" in SEEN and "microsoft/speecht5_tts" in SEEN["03_speecht5_finetune"]


def test_rehearsal_overrides_are_real_parameters():
    for name, overrides in rehearse_full.OVERRIDES.items():
        params, _ = _parameter_and_setup_cells(name)
        declared = set(re.findall(r"^(\w+)\s*=\s*param\(", params, flags=re.M))
        assert set(overrides) <= declared, f"{name}: {set(overrides) - declared} are not parameters"
    assert "CORPUS_ID" in set(re.findall(r"^(\w+)\s*=\s*param\(", _parameter_and_setup_cells("04_asr_comparison")[0],
                                         flags=re.M))


def test_real_size_standins_have_the_real_sizes():
    """size="real" builds the real models' dimensions (checked on the configs, without building 600 MB)."""
    real = standins.tts_config_kwargs("real")
    small = standins.tts_config_kwargs("small")
    assert (real["hidden_size"], real["encoder_layers"], real["decoder_layers"], real["encoder_ffn_dim"]) == (768, 12, 6, 3072)
    assert small["hidden_size"] == 64 and {k: v for k, v in real.items() if k not in standins.REAL_TTS_SIZE} == \
        {k: v for k, v in small.items() if k not in standins.REAL_TTS_SIZE}
    assert standins.XVECT_REAL == {"channels": [512, 512, 512, 512, 1500], "n_speakers": 7205}
    with pytest.raises(ValueError):
        standins.build("speecht5_tts", size="huge")
