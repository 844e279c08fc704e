"""Train two small speech recognisers from scratch with CTC: the 2017 experiment, in today's tools.

The pieces, in the order notebook 04 explains them:

1. :func:`make_manifest` - a folder of audio + transcripts -> a JSONL manifest; utterances without a
   transcript are skipped and *reported* (the 2017 run had a speaker with no transcripts at all).
2. :class:`CharVocab` - the output alphabet: CTC blank, space, apostrophe, a-z. Text is normalised by
   :func:`helpers.metrics.normalize_for_wer` first, so "25" becomes "twenty five".
3. :class:`Featurizer` - log-mel spectrogram (DeepSpeech2) or MFCC (WaveNet), 10 ms hop, per-utterance
   mean/variance normalisation; torchaudio.transforms on tensors (audio is read with soundfile).
4. Two models that map features to per-frame character log-probabilities:
   :class:`DeepSpeech2` (2-D conv front end with BN + Hardtanh, bidirectional GRUs, CTC) and
   :class:`WaveNetASR` (1x1 conv, dilated gated residual blocks with skip connections, CTC).
   Their sizes come from :data:`PRESETS` ("quick": CPU minutes; "full": the published settings, GPU).
5. :func:`train_step` (one CTC step with gradient clipping), :func:`fit` (epochs, per-epoch WER/CER,
   checkpoint + resume of model, optimiser, step and RNG) and :func:`greedy_decode`.

Heavy imports (torch, torchaudio) happen inside functions; the model classes are defined on first
use by :func:`build_model`, so importing this module stays light.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .config import rng_state, set_rng_state

from .files import atomic_path, write_text
from .metrics import normalize_for_wer

SAMPLE_RATE = 16000
AUDIO_EXTS = (".wav", ".flac", ".ogg")


# --------------------------------------------------------------------------- 1. manifest
@dataclass
class ManifestReport:
    """What :func:`make_manifest` found: the usable rows and the files it had to skip (with why)."""

    rows: list[dict]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)

    def summary(self) -> str:
        hours = sum(r["duration_s"] for r in self.rows) / 60
        text = f"{len(self.rows)} utterances ({hours:.1f} min) with transcripts"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}:"
            for path, why in self.skipped[:10]:
                text += f"\n  - {path}: {why}"
            if len(self.skipped) > 10:
                text += f"\n  ... and {len(self.skipped) - 10} more"
        return text


def _read_transcript_table(path: Path) -> dict[str, str]:
    """A CSV/TSV with a header holding a path-ish column (path|file|id|audio) and a text column
    (transcript|text|sentence); or LibriSpeech-style lines ``<id> <text>`` in a .txt file."""
    if path.suffix.lower() == ".txt":
        table = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                key, _, text = line.strip().partition(" ")
                table[key] = text
        return table
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delim)
        cols = [c.lower() for c in (reader.fieldnames or [])]
        key_col = next((c for c in ("path", "file", "audio", "id") if c in cols), None)
        text_col = next((c for c in ("transcript", "text", "sentence", "normalized_text") if c in cols), None)
        if key_col is None or text_col is None:
            raise ValueError(f"{path}: cannot tell which columns hold the audio file and the transcript "
                             f"(found {reader.fieldnames}); name them 'path' and 'transcript'.")
        names = {c.lower(): c for c in reader.fieldnames or []}
        return {row[names[key_col]]: row[names[text_col]] or "" for row in reader}


def make_manifest(audio_dir: str | Path, transcripts: str | Path | Mapping[str, str] | None = None,
                  out: str | Path | None = None, exts: Sequence[str] = AUDIO_EXTS) -> ManifestReport:
    """Pair every audio file under ``audio_dir`` with its transcript; skip and report the rest.

    ``transcripts`` may be a mapping or a table file (CSV/TSV with ``path``/``transcript`` columns, or
    ``<id> <text>`` lines); keys may be the path relative to ``audio_dir``, the file name, or the
    stem. With ``None``, a ``<stem>.txt`` beside each audio file is used. A file whose transcript
    is missing or empty is skipped, never guessed. ``out``: write the rows there as JSON lines
    (``id``, ``audio_path`` absolute, ``text``, ``duration_s``), atomically.
    """
    import soundfile as sf

    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"audio folder {audio_dir} does not exist: pass the folder holding your recordings.")
    table: dict[str, str] | None
    if transcripts is None:
        table = None
    elif isinstance(transcripts, Mapping):
        table = {str(k): v for k, v in transcripts.items()}
    else:
        tpath = Path(transcripts)
        if not tpath.exists():
            raise FileNotFoundError(f"transcript table {tpath} does not exist: pass a CSV with 'path' and "
                                    "'transcript' columns, or None to read <stem>.txt files beside the audio.")
        table = _read_transcript_table(tpath)
    files = sorted(p for p in audio_dir.rglob("*") if p.suffix.lower() in exts and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(exts)}) under {audio_dir}.")
    report = ManifestReport(rows=[])
    for p in files:
        rel = p.relative_to(audio_dir).as_posix()
        if table is None:
            side = p.with_suffix(".txt")
            text = side.read_text(encoding="utf-8").strip() if side.exists() else None
        else:
            text = next((table[k] for k in (rel, p.name, p.stem, f"{audio_dir.name}/{rel}") if k in table), None)
        if text is None:
            report.skipped.append((rel, "no transcript"))
            continue
        if not normalize_for_wer(text):
            report.skipped.append((rel, "empty transcript"))
            continue
        try:
            info = sf.info(str(p))
        except RuntimeError as err:
            report.skipped.append((rel, f"unreadable audio ({err})"))
            continue
        report.rows.append({"id": p.stem if table is None else rel.rsplit(".", 1)[0].replace("/", "_"),
                            "audio_path": str(p.resolve()), "text": text.strip(),
                            "duration_s": round(info.frames / info.samplerate, 3)})
    if out is not None:
        write_text(out, "".join(json.dumps(r) + "\n" for r in report.rows))
    return report


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any soundfile-readable file as mono float32 at ``sample_rate`` (soxr resampling)."""
    from .audio import load_mono

    return load_mono(path, sample_rate)


# --------------------------------------------------------------------------- 2. vocabulary
class CharVocab:
    """CTC output alphabet. Index 0 is the blank; then space, apostrophe, a-z (29 labels, as DeepSpeech2)."""

    def __init__(self, chars: str = " 'abcdefghijklmnopqrstuvwxyz") -> None:
        self.chars = chars
        self.index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars) + 1

    def normalize(self, text: str) -> str:
        """The WER normaliser, then drop anything outside the alphabet (e.g. accented letters)."""
        return "".join(c for c in normalize_for_wer(text) if c in self.index)

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in self.normalize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i - 1] for i in ids if 0 < i <= len(self.chars))


# --------------------------------------------------------------------------- 3. features
class Featurizer:
    """Audio -> (frames, features) float32: ``"logmel"`` (n_mels bins, 20 ms Hamming window, 10 ms hop,
    as DeepSpeech2) or ``"mfcc"`` (n_mfcc coefficients, as speech-to-text-wavenet), each normalised to
    zero mean, unit variance per utterance (so loudness differences between speakers matter less)."""

    def __init__(self, kind: str = "logmel", n_mels: int = 64, n_mfcc: int = 20) -> None:
        import torch
        import torchaudio.transforms as T

        if kind not in ("logmel", "mfcc"):
            raise ValueError(f"feature kind {kind!r}: use 'logmel' or 'mfcc'.")
        self.kind = kind
        melkw = dict(n_fft=512, win_length=320, hop_length=160, window_fn=torch.hamming_window)
        if kind == "logmel":
            self.dim = n_mels
            self.transform = T.MelSpectrogram(SAMPLE_RATE, n_mels=n_mels, **melkw)
        else:
            self.dim = n_mfcc
            self.transform = T.MFCC(SAMPLE_RATE, n_mfcc=n_mfcc, log_mels=True,
                                    melkwargs=dict(n_mels=max(40, n_mfcc), **melkw))

    def __call__(self, audio: np.ndarray):
        import torch

        x = self.transform(torch.as_tensor(audio, dtype=torch.float32))
        if self.kind == "logmel":
            x = torch.log(x + 1e-6)
        x = (x - x.mean(dim=1, keepdim=True)) / (x.std(dim=1, keepdim=True) + 1e-5)
        return x.T.contiguous()  # (frames, dim)


# --------------------------------------------------------------------------- 4. models
@dataclass
class ModelConfig:
    """Sizes of one from-scratch model. See :data:`PRESETS` for the quick and published settings."""

    arch: str                     # "deepspeech2" | "wavenet"
    features: str = "logmel"      # "logmel" | "mfcc"
    n_feats: int = 64
    # DeepSpeech2
    conv_channels: int = 32
    rnn_hidden: int = 800
    rnn_layers: int = 5
    # WaveNet
    channels: int = 128
    kernel: int = 7
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    blocks: int = 3
    dropout: float = 0.0


PRESETS: dict[str, dict[str, ModelConfig]] = {
    # The published settings (FIELD_NOTES: deepspeech.pytorch 2017; speech-to-text-wavenet), except that
    # DeepSpeech2 reads 80 log-mel bins instead of a 161-bin linear spectrogram.
    "full": {
        "deepspeech2": ModelConfig("deepspeech2", "logmel", 80, conv_channels=32, rnn_hidden=800, rnn_layers=5),
        "wavenet": ModelConfig("wavenet", "mfcc", 20, channels=128, kernel=7, dilations=(1, 2, 4, 8, 16), blocks=3),
    },
    # Scaled down so each trains in about a minute on two CPU cores.
    "quick": {
        "deepspeech2": ModelConfig("deepspeech2", "logmel", 40, conv_channels=16, rnn_hidden=128, rnn_layers=2),
        "wavenet": ModelConfig("wavenet", "mfcc", 20, channels=96, kernel=7, dilations=(1, 2, 4, 8, 16), blocks=1),
    },
}


def _torch_modules():
    """Define the model classes on first use (keeps ``import helpers.asr_scratch`` free of torch)."""
    import torch
    from torch import nn

    class SequenceBatchNorm(nn.Module):
        """BatchNorm1d over (batch, time, features): statistics over all frames of the batch."""

        def __init__(self, dim: int) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(dim)

        def forward(self, x):
            return self.bn(x.transpose(1, 2)).transpose(1, 2)

    class DeepSpeech2(nn.Module):
        """DeepSpeech2 (Amodei et al. 2016, as in deepspeech.pytorch):
        conv2d(41x11, stride 2x2) -> BN -> Hardtanh(0, 20) -> conv2d(21x11, stride 2x1) -> BN -> Hardtanh
        -> bidirectional GRUs (directions summed, BN between layers) -> BN -> Linear -> log-softmax.
        The first convolution halves the frame rate (10 ms -> 20 ms per output frame)."""

        def __init__(self, cfg: ModelConfig, n_labels: int) -> None:
            super().__init__()
            self.cfg = cfg
            c = cfg.conv_channels
            self.conv = nn.Sequential(
                nn.Conv2d(1, c, kernel_size=(41, 11), stride=(2, 2), padding=(20, 5)),
                nn.BatchNorm2d(c), nn.Hardtanh(0, 20, inplace=True),
                nn.Conv2d(c, c, kernel_size=(21, 11), stride=(2, 1), padding=(10, 5)),
                nn.BatchNorm2d(c), nn.Hardtanh(0, 20, inplace=True),
            )
            freq = (cfg.n_feats + 2 * 20 - 41) // 2 + 1    # after conv 1 (stride 2 in frequency)
            freq = (freq + 2 * 10 - 21) // 2 + 1            # after conv 2 (stride 2 in frequency)
            rnn_in = c * freq
            self.rnns = nn.ModuleList()
            self.norms = nn.ModuleList()
            for i in range(cfg.rnn_layers):
                self.norms.append(SequenceBatchNorm(rnn_in) if i > 0 else nn.Identity())
                self.rnns.append(nn.GRU(rnn_in, cfg.rnn_hidden, batch_first=True, bidirectional=True))
                rnn_in = cfg.rnn_hidden
            self.head = nn.Sequential(SequenceBatchNorm(rnn_in), nn.Linear(rnn_in, n_labels, bias=False))

        def output_lengths(self, lengths):
            return (lengths + 2 * 5 - 11) // 2 + 1

        def forward(self, feats, lengths):
            # feats: (batch, frames, n_feats) -> (batch, 1, n_feats, frames)
            x = self.conv(feats.transpose(1, 2).unsqueeze(1))
            b, c, f, t = x.shape
            x = x.reshape(b, c * f, t).transpose(1, 2)  # (batch, frames', features)
            out_lens = self.output_lengths(lengths)
            for norm, rnn in zip(self.norms, self.rnns):
                x = norm(x)
                packed = nn.utils.rnn.pack_padded_sequence(x, out_lens.cpu(), batch_first=True, enforce_sorted=False)
                y, _ = rnn(packed)
                y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=t)
                x = y[..., :self.cfg.rnn_hidden] + y[..., self.cfg.rnn_hidden:]  # sum the two directions
            return self.head(x).log_softmax(-1), out_lens

    class GatedResidual(nn.Module):
        """One WaveNet layer: dilated conv -> BN -> tanh * sigmoid -> 1x1 -> (residual, skip)."""

        def __init__(self, ch: int, kernel: int, dilation: int, dropout: float) -> None:
            super().__init__()
            pad = (kernel - 1) // 2 * dilation  # non-causal: recognition may look ahead
            self.filt = nn.Sequential(nn.Conv1d(ch, ch, kernel, dilation=dilation, padding=pad), nn.BatchNorm1d(ch))
            self.gate = nn.Sequential(nn.Conv1d(ch, ch, kernel, dilation=dilation, padding=pad), nn.BatchNorm1d(ch))
            self.res = nn.Conv1d(ch, ch, 1)
            self.skip = nn.Conv1d(ch, ch, 1)
            self.drop = nn.Dropout(dropout)

        def forward(self, x):
            z = self.drop(torch.tanh(self.filt(x)) * torch.sigmoid(self.gate(x)))
            return x + self.res(z), self.skip(z)

    class WaveNetASR(nn.Module):
        """speech-to-text-wavenet (buriburisuri, 2016): MFCC -> 1x1 conv (BN, tanh) -> blocks of dilated
        gated residual layers, skip connections summed -> 1x1 conv (BN, tanh) -> 1x1 conv -> log-softmax.
        One output frame per input frame (10 ms)."""

        def __init__(self, cfg: ModelConfig, n_labels: int) -> None:
            super().__init__()
            self.cfg = cfg
            ch = cfg.channels
            self.inp = nn.Sequential(nn.Conv1d(cfg.n_feats, ch, 1), nn.BatchNorm1d(ch), nn.Tanh())
            self.layers = nn.ModuleList(GatedResidual(ch, cfg.kernel, d, cfg.dropout)
                                        for _ in range(cfg.blocks) for d in cfg.dilations)
            self.out = nn.Sequential(nn.Conv1d(ch, ch, 1), nn.BatchNorm1d(ch), nn.Tanh(), nn.Conv1d(ch, n_labels, 1))

        def output_lengths(self, lengths):
            return lengths

        def forward(self, feats, lengths):
            x = self.inp(feats.transpose(1, 2))
            skips = 0
            for layer in self.layers:
                x, s = layer(x)
                skips = skips + s
            return self.out(skips).transpose(1, 2).log_softmax(-1), lengths

    return {"deepspeech2": DeepSpeech2, "wavenet": WaveNetASR}


def build_model(cfg: ModelConfig, n_labels: int = 29):
    """A fresh :class:`DeepSpeech2` or :class:`WaveNetASR` for ``cfg``."""
    classes = _torch_modules()
    if cfg.arch not in classes:
        raise ValueError(f"unknown architecture {cfg.arch!r}: use one of {sorted(classes)}.")
    return classes[cfg.arch](cfg, n_labels)


def count_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


# --------------------------------------------------------------------------- 5. data, training, decoding
@dataclass
class Utterance:
    id: str
    text: str          # the original transcript (for listings)
    feats: Any         # torch tensor (frames, dim)
    targets: list[int]


def featurize(rows: Sequence[Mapping[str, Any]], featurizer: Featurizer, vocab: CharVocab,
              audio_key: str = "audio_path", progress: bool = True) -> list[Utterance]:
    """Compute features once for manifest rows (``audio_path`` + ``text``, or ``audio`` arrays in memory)."""
    from tqdm.auto import tqdm

    items = []
    for r in tqdm(rows, desc=f"features ({featurizer.kind})", disable=not progress, leave=False):
        audio = r["audio"] if "audio" in r else load_audio(r[audio_key])
        targets = vocab.encode(r["text"])
        if not targets:
            continue
        items.append(Utterance(str(r.get("id", len(items))), r["text"], featurizer(audio), targets))
    return items


def collate(items: Sequence[Utterance]):
    """Pad a batch: features (B, T, D), frame lengths, concatenated targets, target lengths (CTC's format)."""
    import torch

    lengths = torch.tensor([u.feats.shape[0] for u in items])
    feats = torch.zeros(len(items), int(lengths.max()), items[0].feats.shape[1])
    for i, u in enumerate(items):
        feats[i, :u.feats.shape[0]] = u.feats
    targets = torch.tensor([t for u in items for t in u.targets], dtype=torch.long)
    target_lengths = torch.tensor([len(u.targets) for u in items])
    return feats, lengths, targets, target_lengths


def train_step(model, batch, optimizer, clip: float, device: str = "cpu") -> tuple[float, float]:
    """One optimiser step of CTC training. Returns (loss, gradient norm before clipping).

    Clipping the gradient norm is what saved the 2017 run: early CTC gradients can be huge,
    and one bad step sends the weights to NaN.
    """
    import torch
    import torch.nn.functional as F

    feats, lengths, targets, target_lengths = (t.to(device) for t in batch)
    log_probs, out_lengths = model(feats, lengths)                       # (B, T', labels)
    loss = F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths,
                      blank=0, reduction="mean", zero_infinity=True)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), float(grad_norm)


def greedy_decode(log_probs, lengths, vocab: CharVocab) -> list[str]:
    """Best path: the most likely label per frame, repeats merged, blanks dropped ("hh-e-ll-llo" -> "hello")."""
    best = log_probs.argmax(-1).cpu().numpy()
    texts = []
    for row, n in zip(best, lengths.cpu().numpy()):
        row = row[:n]
        keep = np.ones(len(row), dtype=bool)
        keep[1:] = row[1:] != row[:-1]
        texts.append(" ".join(vocab.decode(row[keep & (row != 0)]).split()))
    return texts


def transcribe(model, items: Sequence[Utterance], vocab: CharVocab, batch_size: int = 16,
               device: str = "cpu") -> list[str]:
    """Greedy transcripts for featurised utterances (model in eval mode; restored afterwards)."""
    import torch

    was_training = model.training
    model.eval()
    texts: list[str] = []
    with torch.inference_mode():
        for i in range(0, len(items), batch_size):
            feats, lengths, _, _ = collate(items[i:i + batch_size])
            lp, out_lens = model(feats.to(device), lengths.to(device))
            texts += greedy_decode(lp, out_lens, vocab)
    model.train(was_training)
    return texts


def score_items(model, items: Sequence[Utterance], vocab: CharVocab, device: str = "cpu") -> dict[str, float]:
    """WER and CER of the model's greedy transcripts on ``items`` (the shared metrics)."""
    from . import metrics

    hyps = transcribe(model, items, vocab, device=device)
    refs = [vocab.normalize(u.text) for u in items]
    return {"wer": metrics.wer(refs, hyps), "cer": metrics.cer(refs, hyps)}


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    clip: float = 400.0        # deepspeech.pytorch's max-norm
    weight_decay: float = 0.0
    seed: int = 0
    eval_every: int = 1        # epochs between WER/CER evaluations
    max_seconds: float | None = None   # stop (and checkpoint) after this much training time
    cpu_threads: int | None = None     # torch threads while training on CPU (1 is fastest for small GRUs
                                       # on a busy 2-core machine); restored afterwards


def save_checkpoint(path: str | Path, model, optimizer, state: dict) -> Path:
    """Model + optimiser + progress (epoch, step, history, time) + RNG states, written atomically."""
    import torch

    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng_state(), **state}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)
    return Path(path)


def fit(model, train_items: Sequence[Utterance], vocab: CharVocab, tc: TrainConfig,
        eval_sets: Mapping[str, Sequence[Utterance]] | None = None, checkpoint: str | Path | None = None,
        device: str = "cpu", progress: bool = True,
        on_epoch: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Train with Adam + gradient clipping for ``tc.epochs`` epochs; return the per-epoch history.

    History rows: ``epoch, step, loss, grad_norm_max, seconds`` and, every ``eval_every`` epochs,
    ``<set>_wer`` / ``<set>_cer`` for ``train`` and every set in ``eval_sets``.

    With ``checkpoint``, progress is saved after every epoch and a re-run **resumes** from it (model,
    optimiser, step, history and RNG state), so an interrupted run (or a leaking one restarted on
    purpose, as in 2017) continues instead of starting over. A finished run returns at once.
    """
    import torch
    from tqdm.auto import tqdm

    if not train_items:
        raise ValueError("no training utterances: check the manifest (every row needs audio and a transcript).")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    history: list[dict] = []
    start_epoch, step, elapsed = 0, 0, 0.0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None:
        from .files import tidy_atomic_leftovers
        tidy_atomic_leftovers(ckpt)  # temporary files a killed save left behind
    if ckpt is not None and ckpt.exists():
        try:
            state = torch.load(ckpt, map_location=device, weights_only=False)
        except Exception as e:
            raise ValueError(f"{ckpt}: cannot be read ({type(e).__name__}: {str(e)[:120]}) — the checkpoint is "
                             "damaged. Delete it to start this training over.") from None
        if state.get("model_config") != asdict(model.cfg):
            raise ValueError(f"checkpoint {ckpt} was made for a different model ({state.get('model_config')}); "
                             "delete it or pass another checkpoint path.")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        history, start_epoch, step, elapsed = state["history"], state["epoch"], state["step"], state["seconds"]
        if progress:
            print(f"Resumed {ckpt.name} at epoch {start_epoch}, step {step} ({elapsed:.0f} s trained so far).")
    threads_before = torch.get_num_threads()
    if device == "cpu" and tc.cpu_threads:
        torch.set_num_threads(tc.cpu_threads)
    try:
        return _epochs(model, train_items, vocab, tc, eval_sets, ckpt, device, progress, on_epoch,
                       optimizer, history, start_epoch, step, elapsed)
    finally:
        torch.set_num_threads(threads_before)


def _epochs(model, train_items, vocab, tc, eval_sets, ckpt, device, progress, on_epoch,
            optimizer, history, start_epoch, step, elapsed) -> list[dict]:
    """The epoch loop of :func:`fit` (shuffle, :func:`train_step` per batch, evaluate, checkpoint)."""
    import torch
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(tc.seed)
    for _ in range(start_epoch):  # the same shuffles as an uninterrupted run
        torch.randperm(len(train_items), generator=gen)
    bar = tqdm(range(start_epoch, tc.epochs), desc=f"{model.cfg.arch}", disable=not progress,
               initial=start_epoch, total=tc.epochs)
    model.train()
    for epoch in bar:
        t0 = time.perf_counter()
        order = torch.randperm(len(train_items), generator=gen).tolist()
        losses, norms = [], []
        for i in range(0, len(order), tc.batch_size):
            batch = collate([train_items[j] for j in order[i:i + tc.batch_size]])
            loss, gnorm = train_step(model, batch, optimizer, tc.clip, device)
            losses.append(loss)
            norms.append(gnorm)
            step += 1
        elapsed += time.perf_counter() - t0
        row = {"epoch": epoch + 1, "step": step, "loss": float(np.mean(losses)),
               "grad_norm_max": float(np.max(norms)), "seconds": round(elapsed, 2)}
        out_of_time = tc.max_seconds is not None and elapsed >= tc.max_seconds
        if (epoch + 1) % tc.eval_every == 0 or epoch + 1 == tc.epochs or out_of_time:
            for name, items in {"train": train_items, **(eval_sets or {})}.items():
                if items:
                    for k, v in score_items(model, items, vocab, device).items():
                        row[f"{name}_{k}"] = v
            model.train()
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.2f}", cer=f"{row.get('train_cer', float('nan')):.2f}")
        if ckpt is not None:
            save_checkpoint(ckpt, model, optimizer, {"epoch": epoch + 1, "step": step, "history": history,
                                                      "seconds": elapsed, "model_config": asdict(model.cfg),
                                                      "train_config": asdict(tc)})
        if on_epoch is not None:
            on_epoch(history)
        if out_of_time:
            if progress:
                print(f"Time budget of {tc.max_seconds:.0f} s reached after epoch {epoch + 1}: stopping "
                      f"(raise SCRATCH_SECONDS or re-run with more epochs to continue from the checkpoint).")
            break
    return history


def load_trained(checkpoint: str | Path, n_labels: int = 29, device: str = "cpu"):
    """Rebuild a model from a :func:`fit` checkpoint; returns ``(model, history)``."""
    import torch

    state = torch.load(checkpoint, map_location=device, weights_only=False)
    cfg = dict(state["model_config"])
    cfg["dilations"] = tuple(cfg["dilations"])
    model = build_model(ModelConfig(**cfg), n_labels)
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state["history"]


# --------------------------------------------------------------------------- full profile: a real corpus
def hub_corpus_rows(dataset_id: str = "openslr/librispeech_asr", config: str | None = "clean",
                    split: str = "validation", limit: int = 200, max_seconds: float = 16.0,
                    text_key: str = "text") -> list[dict]:
    """The first ``limit`` utterances (at most ``max_seconds`` long) of a Hub speech corpus, streamed.

    Rows are ``{"id", "audio" (16 kHz float32), "text"}``, ready for :func:`featurize`. Audio is
    *not* decoded by ``datasets`` (its decoder needs torchcodec/FFmpeg): we ask for the raw bytes
    and read them with soundfile, which handles LibriSpeech's FLAC. Needs the Hub (``full``
    profile); offline it fails with ``datasets``' own connection error, which the notebook reports.
    """
    import io

    import soundfile as sf
    from datasets import Audio, load_dataset

    ds = load_dataset(dataset_id, config, split=split, streaming=True)
    ds = ds.cast_column("audio", Audio(decode=False))
    rows: list[dict] = []
    for ex in ds:
        raw = ex["audio"]
        data = raw.get("bytes") or Path(raw["path"]).read_bytes()
        audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
        if sr != SAMPLE_RATE:
            import soxr

            audio = soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)
        if len(audio) > max_seconds * SAMPLE_RATE:
            continue
        rows.append({"id": str(ex.get("id", len(rows))), "audio": audio, "text": ex[text_key]})
        if len(rows) >= limit:
            break
    return rows
