"""Ready-made speech recognisers behind one interface, timed, so they can be compared fairly.

Every backend is made with :func:`get_backend` and has

- ``transcribe(audios) -> list[str]``: a list of float32 mono arrays at 16 kHz in, one text per array out;
- ``last_timing``: what the last call cost (seconds of audio, seconds of compute, real-time factor);
- ``size_mb`` (the model files on disk) and ``params`` (parameter count where the framework reports it).

Real-time factor (RTF) = compute seconds / audio seconds: 0.1 means ten times faster than real time.
The model is loaded when the backend is made, so loading never counts towards the RTF.

Backends
--------
``"pocketsphinx"``       CMU PocketSphinx, en-us acoustic model + 3-gram LM shipped in the pip package
                         (offline). The classic HMM/GMM recogniser: fast, small, not accurate.
``"whisper-tiny.en"``    OpenAI Whisper tiny.en converted to CTranslate2 (int8 on CPU), shipped in a pip
                         package and run by faster-whisper (offline).
``"whisper-base"``       OpenAI Whisper base (multilingual, 74 M parameters, decoded as English), CTranslate2,
                         shipped in two pip packages (``helpers.models.packaged("whisper-base-ct2")``), offline.
                         About 1.7x tiny.en's CPU time. Real read sentences: the home reader's 99 held-out
                         takes WER 9.2 % vs tiny.en's 15.6 % (greedy); isolated spoken digits (FSDD, ~0.4 s) it
                         hears worse: 63 % vs 38 % (``benchmarks/bench_asr.json``).
``"hf-whisper-tiny.en"``, ``"hf-whisper-base.en"``, ``"hf-whisper-small.en"``
                         transformers Whisper from the Hub (``full`` profile).
``"wav2vec2-base-960h"`` ``facebook/wav2vec2-base-960h``, CTC with greedy decoding (``full``).
``"speechbrain-crdnn"``  ``speechbrain/asr-crdnn-rnnlm-librispeech`` (attention + RNN LM, ``full``).

Hub backends go through :func:`helpers.models.resolve`; offline they raise
``ModelUnavailableError`` in seconds, and the notebook skips them with a note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .files import size_mb

SAMPLE_RATE = 16000

OFFLINE_BACKENDS = ("pocketsphinx", "whisper-tiny.en", "whisper-base")
# the offline Whisper models (faster-whisper): backend name -> (helpers.models.packaged name, what it is)
CT2_WHISPER = {"whisper-tiny.en": ("whisper-tiny.en-ct2", "Whisper tiny.en"),
               "whisper-base": ("whisper-base-ct2", "Whisper base (multilingual, decoded as English)")}
HUB_BACKENDS = {
    "hf-whisper-tiny.en": "openai/whisper-tiny.en",
    "hf-whisper-base.en": "openai/whisper-base.en",
    "hf-whisper-small.en": "openai/whisper-small.en",
    "wav2vec2-base-960h": "facebook/wav2vec2-base-960h",
    "speechbrain-crdnn": "speechbrain/asr-crdnn-rnnlm-librispeech",
}


@dataclass
class Timing:
    """The cost of one ``transcribe`` call."""

    audio_s: float
    compute_s: float

    @property
    def rtf(self) -> float:
        return self.compute_s / self.audio_s if self.audio_s > 0 else float("nan")


def _check_audio(audios: Sequence[np.ndarray]) -> list[np.ndarray]:
    from .audio import as_clip_list

    return as_clip_list(audios, "transcribe()")


class Backend:
    """One recogniser. Subclasses implement ``_transcribe``; this class times it."""

    name: str = "backend"
    description: str = ""
    size_mb: float = float("nan")
    params: int | None = None

    def __init__(self) -> None:
        self.last_timing = Timing(0.0, 0.0)

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def transcribe(self, audios: Sequence[np.ndarray]) -> list[str]:
        """Texts for a list of 16 kHz mono float32 arrays; sets ``self.last_timing``."""
        audios = _check_audio(audios)
        start = time.perf_counter()
        texts = self._transcribe(audios) if audios else []
        elapsed = time.perf_counter() - start
        self.last_timing = Timing(sum(len(a) for a in audios) / SAMPLE_RATE, elapsed)
        return [t.strip() for t in texts]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}, {self.size_mb:.0f} MB>"


class PocketSphinxBackend(Backend):
    """PocketSphinx 5 with the en-us model bundled in its wheel. One utterance at a time."""

    description = "CMU PocketSphinx en-us (HMM/GMM + 3-gram LM), 2000s technology"

    def __init__(self) -> None:
        super().__init__()
        from pocketsphinx import Decoder

        from . import models

        root = Path(models.packaged("pocketsphinx-en-us"))
        if (root / "en-us").is_dir() and (root / "en-us" / "en-us.lm.bin").exists():
            root = root / "en-us"  # the package's model/ folder was given; the model is one level down
        self.name = "pocketsphinx"
        self.model_dir = root
        self.decoder = Decoder(hmm=str(root / "en-us"), lm=str(root / "en-us.lm.bin"),
                               dict=str(root / "cmudict-en-us.dict"), samprate=SAMPLE_RATE, loglevel="FATAL")
        self.size_mb = size_mb(root / "en-us") + size_mb(root / "en-us.lm.bin") + \
            size_mb(root / "cmudict-en-us.dict")

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:
        texts = []
        for a in audios:
            pcm = (np.clip(a, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            self.decoder.start_utt()
            self.decoder.process_raw(pcm, no_search=False, full_utt=True)
            self.decoder.end_utt()
            hyp = self.decoder.hyp()
            texts.append(hyp.hypstr if hyp is not None else "")
        return texts


class FasterWhisperBackend(Backend):
    """Whisper through CTranslate2 (faster-whisper), with its two decoding settings as parameters.

    ``beam_size``: 1 is greedy decoding (fastest on CPU); 5 is Whisper's own default (beam search keeps the
    5 best partial transcripts). ``timestamps``: False decodes with ``without_timestamps=True`` (text
    tokens only); True lets Whisper predict segment timestamps, as it was trained to most of the time.
    What each costs and gains on real read speech is measured in ``benchmarks/bench_asr.py``
    (``bench_asr.json``, section ``settings``).
    """

    description = "Whisper tiny.en, CTranslate2 int8 (faster-whisper)"

    def __init__(self, model_dir: str | Path | None = None, device: str = "cpu", beam_size: int = 1,
                 cpu_threads: int = 0, timestamps: bool = False, name: str = "whisper-tiny.en") -> None:
        super().__init__()
        from faster_whisper import WhisperModel

        from . import models

        if name not in CT2_WHISPER:
            raise ValueError(f"unknown CTranslate2 Whisper {name!r}: choose one of {sorted(CT2_WHISPER)}.")
        packaged, title = CT2_WHISPER[name]
        model_dir = Path(model_dir) if model_dir else Path(models.packaged(packaged))
        compute_type = "int8" if device == "cpu" else "float16"
        if int(beam_size) < 1:
            raise ValueError(f"beam_size must be 1 (greedy) or more, not {beam_size}")
        self.name = name
        self.beam_size = int(beam_size)
        self.timestamps = bool(timestamps)
        self.description = f"{title}, CTranslate2 {compute_type} (faster-whisper), beam {self.beam_size}, " \
                           f"timestamps {'on' if self.timestamps else 'off'}"
        self.model = WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                                  cpu_threads=cpu_threads)
        self.size_mb = size_mb(model_dir)

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:
        texts = []
        for a in audios:
            segments, _info = self.model.transcribe(a, language="en", beam_size=self.beam_size,
                                                    condition_on_previous_text=False,
                                                    without_timestamps=not self.timestamps,
                                                    vad_filter=False)
            texts.append(" ".join(s.text.strip() for s in segments))
        return texts


class HFWhisperBackend(Backend):
    """transformers Whisper (hub id or local folder), batched greedy generation."""

    def __init__(self, name: str, model_id: str, device: str = "cpu", batch_size: int = 8, beam_size: int = 1,
                 timestamps: bool = False) -> None:
        super().__init__()
        from . import models

        path = models.resolve(model_id)
        import torch
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        self.name, self.device, self.batch_size = name, device, batch_size
        self.beam_size, self.timestamps = int(beam_size), bool(timestamps)
        self.description = f"transformers Whisper ({model_id})"
        self.processor = WhisperProcessor.from_pretrained(path)
        dtype = torch.float16 if device == "cuda" else torch.float32
        self.model = WhisperForConditionalGeneration.from_pretrained(path, dtype=dtype).to(device).eval()
        self.dtype = dtype
        self.params = int(sum(p.numel() for p in self.model.parameters()))
        self.size_mb = self.params * 4 / 1e6 if not Path(path).exists() else size_mb(path)

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:
        import torch

        texts: list[str] = []
        for i in range(0, len(audios), self.batch_size):
            batch = audios[i:i + self.batch_size]
            feats = self.processor(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
            with torch.inference_mode():
                ids = self.model.generate(feats.to(self.device, self.dtype), num_beams=self.beam_size,
                                          return_timestamps=self.timestamps)
            texts += self.processor.batch_decode(ids, skip_special_tokens=True)
        return texts


class Wav2Vec2Backend(Backend):
    """wav2vec 2.0 + CTC, greedy: argmax per frame, merge repeats, drop blanks. One clip at a time
    (this checkpoint has no attention mask, so zero padding would change the result)."""

    def __init__(self, name: str, model_id: str, device: str = "cpu") -> None:
        super().__init__()
        from . import models

        path = models.resolve(model_id)
        from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

        self.name, self.device = name, device
        self.description = f"wav2vec 2.0 CTC, greedy ({model_id})"
        self.processor = Wav2Vec2Processor.from_pretrained(path)
        self.model = Wav2Vec2ForCTC.from_pretrained(path).to(device).eval()
        self.params = int(sum(p.numel() for p in self.model.parameters()))
        self.size_mb = self.params * 4 / 1e6 if not Path(path).exists() else size_mb(path)

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:
        import torch

        texts = []
        for a in audios:
            inputs = self.processor(a, sampling_rate=SAMPLE_RATE, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(inputs.input_values.to(self.device)).logits
            texts.append(self.processor.batch_decode(logits.argmax(-1))[0].lower())
        return texts


class SpeechBrainBackend(Backend):
    """A SpeechBrain ``EncoderDecoderASR`` (``speechbrain.inference.ASR``)."""

    def __init__(self, name: str, model_id: str, device: str = "cpu", savedir: str | Path | None = None) -> None:
        super().__init__()
        from . import models

        path = models.resolve(model_id)
        from speechbrain.inference.ASR import EncoderDecoderASR

        from .config import work_dir

        savedir = Path(savedir) if savedir else work_dir() / "models" / "speechbrain" / model_id.replace("/", "__")
        self.name, self.device = name, device
        self.description = f"SpeechBrain ({model_id})"
        self.model = EncoderDecoderASR.from_hparams(source=str(path), savedir=str(savedir),
                                                    run_opts={"device": device})
        self.params = int(sum(p.numel() for p in self.model.mods.parameters()))
        self.size_mb = size_mb(savedir)

    def _transcribe(self, audios: list[np.ndarray]) -> list[str]:
        import torch

        texts = []
        for a in audios:
            wav = torch.from_numpy(a).unsqueeze(0).to(self.device)
            with torch.inference_mode():
                words, _ = self.model.transcribe_batch(wav, torch.tensor([1.0], device=self.device))
            texts.append(str(words[0]).lower())
        return texts


def available() -> list[str]:
    """Every backend name :func:`get_backend` knows, offline ones first."""
    return list(OFFLINE_BACKENDS) + list(HUB_BACKENDS)


def get_backend(name: str, device: str = "cpu", **kwargs) -> Backend:
    """Make (and load) a backend by name. Hub backends raise ``ModelUnavailableError`` quickly offline.

    Whisper backends take ``beam_size`` (default 1, greedy) and ``timestamps`` (default False); a setting a
    backend does not have is refused with a message, never silently ignored.
    """
    if name in ("pocketsphinx", "wav2vec2-base-960h", "speechbrain-crdnn"):
        extra = sorted(set(kwargs) & {"beam_size", "timestamps"})
        if extra:
            raise ValueError(f"{name} has no {', '.join(extra)} setting: only the Whisper backends do.")
    makers: dict[str, Callable[[], Backend]] = {
        "pocketsphinx": lambda: PocketSphinxBackend(),
        "whisper-tiny.en": lambda: FasterWhisperBackend(device=device, **kwargs),
        "whisper-base": lambda: FasterWhisperBackend(device=device, name="whisper-base", **kwargs),
    }
    if name in makers:
        return makers[name]()
    if name in HUB_BACKENDS:
        model_id = HUB_BACKENDS[name]
        if name.startswith("hf-whisper"):
            return HFWhisperBackend(name, model_id, device=device, **kwargs)
        if name.startswith("wav2vec2"):
            return Wav2Vec2Backend(name, model_id, device=device)
        return SpeechBrainBackend(name, model_id, device=device, **kwargs)
    raise ValueError(f"unknown ASR backend {name!r}: choose one of {available()}.")


def evaluate(backend: Backend, audios: Sequence[np.ndarray], refs: Sequence[str],
             ids: Sequence[str] | None = None) -> tuple[dict, list[dict]]:
    """Transcribe ``audios`` and score them against ``refs``.

    Returns ``(summary, rows)``: summary = WER, CER, S/D/I counts, RTF, size, params;
    rows = one dict per utterance (id, ref, hyp, wer, cer) for alignments and listings.
    """
    from . import metrics

    hyps = backend.transcribe(audios)
    summary = metrics.score(refs, hyps)
    t = backend.last_timing
    summary.update({"system": backend.name, "n": len(refs), "audio_s": round(t.audio_s, 2),
                    "compute_s": round(t.compute_s, 2), "rtf": t.rtf, "size_mb": round(backend.size_mb, 1),
                    "params": backend.params})
    ids = list(ids) if ids is not None else [str(i) for i in range(len(refs))]
    rows = []
    for uid, ref, hyp in zip(ids, refs, hyps):
        rows.append({"id": uid, "ref": ref, "hyp": hyp, "wer": metrics.wer(ref, hyp), "cer": metrics.cer(ref, hyp)})
    return summary, rows
