"""SpeechT5 text-to-speech: data pipeline, a readable training loop, and bounded generation.

What is in here, in the order notebook 03 explains it
-----------------------------------------------------
1. **Text** — :func:`text_to_input_ids`: SpeechT5's tokenizer knows characters only, and
   *no digits*: ``"7 pm"`` would silently lose the number. Text goes through
   :func:`helpers.text.normalize_for_tts` first (numbers spelled out, unknown characters mapped).
2. **Examples** — :func:`prepare_examples`: processor -> ``input_ids`` + 80-bin log-mel ``labels``,
   with length filtering (too long a text or too long a take wastes memory; too short teaches little).
3. **The collator** — :class:`TTSDataCollator`: pads, marks padded label frames with ``-100`` (the loss
   ignores them and derives the stop-token targets from them), rounds the target length DOWN to a
   multiple of the reduction factor (the decoder predicts 2 frames per step), attaches speaker embeddings.
4. **Training** — :func:`train`: a plain PyTorch loop driven by ``accelerate.Accelerator``, so the same
   code runs in a notebook, from the command line, and under ``accelerate launch`` on several GPUs.
   Mixed precision, gradient accumulation, length-grouped batches, optional gradient checkpointing,
   three strategies (``full``, ``frozen_encoder``, ``speaker_embedding_only``), validation loss every
   N steps, best checkpoint kept, and resume from the last checkpoint at the right step.
5. **Generation** — :func:`generate_mel` / :func:`synthesise`: a bounded number of decoder steps and a
   clear warning when the stop token never fired; long text is split into sentences.

Command line (one GPU, several GPUs, or CPU)::

    python -m helpers.tts train --dataset work/dataset --embedding work/embeddings/speaker_xvector.npy --out work/tts/cli
    accelerate launch --num_processes 2 -m helpers.tts train --dataset ... --embedding ... --out ...

Heavy libraries (torch, transformers, accelerate) are imported inside functions.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .config import rng_state, set_rng_state
from .files import atomic_path

SAMPLE_RATE = 16_000
STRATEGIES = ("full", "frozen_encoder", "speaker_embedding_only")


class GenerationStopWarning(UserWarning):
    """The stop token never fired: the output was cut at the length bound (often babble at the end)."""


# ----------------------------------------------------------------------------------------------------
# 1. Text
# ----------------------------------------------------------------------------------------------------

def tokenizer_chars(processor) -> set[str]:
    """The characters SpeechT5's tokenizer can spell (its sentencepiece pieces of length 1; ``▁`` = space)."""
    from .text import tokenizer_vocab

    return tokenizer_vocab(processor)


def normalize_text(text: str, processor=None) -> tuple[str, list[str]]:
    """Text as SpeechT5 should read it (digits spelled out, unknown characters mapped) + the changes made."""
    from .text import normalize_for_tts

    vocab = tokenizer_chars(processor) if processor is not None else None
    return normalize_for_tts(text, vocab)


def text_to_input_ids(processor, text: str, normalize: bool = True) -> tuple[list[int], str]:
    """Token ids for ``text`` (normalised first unless ``normalize=False``), and the text actually used.

    Raises ``ValueError`` if the text has nothing SpeechT5 could read (empty after normalisation).
    """
    used = normalize_text(text, processor)[0] if normalize else text
    if not used.strip():
        raise ValueError(f"Nothing to synthesise in {text!r} after normalisation: give some words.")
    ids = processor(text=used)["input_ids"]
    if ids and isinstance(ids[0], list):
        ids = ids[0]
    return list(ids), used


# ----------------------------------------------------------------------------------------------------
# 2. Examples: processor -> input_ids + log-mel labels, with length filtering
# ----------------------------------------------------------------------------------------------------

def read_audio(path: str | Path) -> np.ndarray:
    """A 16 kHz mono float32 waveform; a clear error if the file is not that."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: audio file missing. Rebuild the dataset (notebook 01 / helpers.prep.ensure_dataset).")
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise ValueError(f"{path}: sample rate {sr} Hz, SpeechT5 needs {SAMPLE_RATE} Hz. "
                         "Resample it (notebook 01 does this for every take).")
    return audio.mean(axis=1)


def prepare_examples(processor, rows: Sequence[dict], max_tokens: int = 200, min_seconds: float = 0.5,
                     max_seconds: float = 15.0, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """Turn manifest rows into training examples; return ``(examples, dropped)``.

    Each row needs ``audio_path`` (or ``audio``: a 16 kHz float array) and ``text_norm`` (or ``text``).
    An example is ``{"id", "text", "input_ids": list[int], "labels": float32 (frames, 80)}``.
    ``dropped`` lists ``{"id", "reason"}`` for every row filtered out, so nothing disappears silently:
    texts of ``max_tokens`` tokens or more (the recipe's limit), takes outside ``[min_seconds, max_seconds]``.
    """
    from tqdm.auto import tqdm

    examples, dropped = [], []
    for row in tqdm(rows, desc="processor", disable=not progress, leave=False):
        rid = row.get("id", f"row{len(examples) + len(dropped)}")
        audio = row["audio"] if "audio" in row else read_audio(row["audio_path"])
        audio = np.asarray(audio, dtype=np.float32)
        seconds = len(audio) / SAMPLE_RATE
        if not (min_seconds <= seconds <= max_seconds):
            dropped.append({"id": rid, "reason": f"{seconds:.2f} s outside [{min_seconds}, {max_seconds}] s"})
            continue
        used = normalize_text(row.get("text_norm") or row["text"], processor)[0]
        if not used:
            dropped.append({"id": rid, "reason": "empty text after normalisation"})
            continue
        # the public recipe's one call: text -> input_ids, audio_target -> log-mel labels
        enc = processor(text=used, audio_target=audio, sampling_rate=SAMPLE_RATE)
        ids, labels = list(enc["input_ids"]), enc["labels"][0]
        if len(ids) >= max_tokens:
            dropped.append({"id": rid, "reason": f"{len(ids)} tokens >= {max_tokens}"})
            continue
        examples.append({"id": rid, "text": used, "input_ids": ids,
                         "labels": np.asarray(labels, dtype=np.float32)})
    return examples, dropped


# ----------------------------------------------------------------------------------------------------
# 3. The collator
# ----------------------------------------------------------------------------------------------------

@dataclass
class TTSDataCollator:
    """Pad a list of examples into one batch for ``SpeechT5ForTextToSpeech``.

    * ``input_ids`` padded with the tokenizer's pad id, plus ``attention_mask``;
    * ``labels`` padded to the longest example, padded frames set to **-100**: the loss masks them
      out and builds the stop-token targets from where the -100s start (``decoder_attention_mask``
      is used to place them, then dropped, as in the public recipe);
    * the padded length rounded **down** to a multiple of ``reduction_factor``: the decoder emits
      ``reduction_factor`` frames per step, and a ragged last step would misalign targets;
    * ``speaker_embeddings``: each example's own (``"speaker_embedding"`` key) or the one given here.
    """

    pad_token_id: int
    speaker_embedding: np.ndarray | None = None
    reduction_factor: int = 2

    def __call__(self, features: Sequence[dict]) -> dict:
        import torch

        from torch.nn.utils.rnn import pad_sequence

        n = len(features)
        # text side (pad_sequence: one C++ call per field, so collating stays cheap beside a GPU step)
        ids = [torch.as_tensor(f["input_ids"], dtype=torch.long) for f in features]
        lengths = torch.tensor([len(x) for x in ids])
        input_ids = pad_sequence(ids, batch_first=True, padding_value=self.pad_token_id)
        attention_mask = (torch.arange(input_ids.shape[1])[None] < lengths[:, None]).long()
        # spectrogram side: padded frames are -100 (the loss masks them and places the stop token there)
        mels = [torch.as_tensor(np.asarray(f["labels"], dtype=np.float32)) for f in features]
        labels = pad_sequence(mels, batch_first=True, padding_value=-100.0)
        # round the target length DOWN to a multiple of the reduction factor
        if self.reduction_factor > 1:
            keep = labels.shape[1] - labels.shape[1] % self.reduction_factor
            labels = labels[:, :keep]
        # speaker embeddings
        if all("speaker_embedding" in f for f in features):
            spk = np.stack([np.asarray(f["speaker_embedding"], dtype=np.float32) for f in features])
        elif self.speaker_embedding is not None:
            spk = np.repeat(np.asarray(self.speaker_embedding, dtype=np.float32)[None], n, axis=0)
        else:
            raise ValueError("No speaker embedding: give TTSDataCollator(speaker_embedding=...) "
                             "(helpers.embeddings.ensure_speaker_embedding(work, 'xvector')).")
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                "speaker_embeddings": torch.from_numpy(spk)}


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int,
                           mega: int = 50, num_replicas: int = 1, rank: int = 0) -> list[list[int]]:
    """Batches of indices where each batch holds examples of similar length (little padding).

    Shuffle, cut into mega-batches of ``mega * batch_size``, sort each by length, chunk into batches,
    shuffle the batches (the same recipe as transformers' ``LengthGroupedSampler``). Deterministic in
    ``(seed, epoch)``, so a resumed run sees the same order. With ``num_replicas > 1`` (several GPUs)
    neighbouring batches of a sorted group go to the processes of the same step (similar lengths, so
    no process waits for a longer one); the tail is dropped so all get the same count.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    size = max(1, mega * batch_size * num_replicas)
    steps: list[list[list[int]]] = []  # one entry per step: num_replicas batches of similar length
    for start in range(0, len(idx), size):
        group = sorted(idx[start:start + size], key=lambda i: -lengths[i])
        batches = [group[j:j + batch_size] for j in range(0, len(group), batch_size)]
        usable = len(batches) - len(batches) % num_replicas
        steps += [batches[j:j + num_replicas] for j in range(0, usable, num_replicas)]
    rng.shuffle(steps)
    # the processes of one step get neighbouring (similar-length) batches: none waits for a longer one
    return [step[rank] for step in steps]


def random_batches(n: int, batch_size: int, seed: int, epoch: int, num_replicas: int = 1,
                   rank: int = 0) -> list[list[int]]:
    """Plain shuffled batches (deterministic in ``(seed, epoch)``), sharded like :func:`length_grouped_batches`."""
    rng = random.Random(seed * 1_000_003 + epoch)
    idx = list(range(n))
    rng.shuffle(idx)
    batches = [idx[j:j + batch_size] for j in range(0, n, batch_size)]
    usable = len(batches) - len(batches) % num_replicas
    return batches[rank:usable:num_replicas]


# ----------------------------------------------------------------------------------------------------
# 4. Training
# ----------------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Every knob of :func:`train`. The defaults suit ~10 minutes of one speaker (see notebook 03).

    ``precision=None`` means "what ``helpers.config.choose_precision`` says" (bf16 / fp16 / fp32).
    ``micro_batch_size * grad_accum * number of processes`` utterances make one optimiser step.
    """

    strategy: str = "frozen_encoder"
    learning_rate: float = 5e-5
    warmup_steps: int = 50
    max_steps: int = 500
    micro_batch_size: int = 16
    grad_accum: int = 2
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: str | None = None
    gradient_checkpointing: bool = False
    group_by_length: bool = True
    eval_every: int = 50
    save_every: int = 50
    log_every: int = 5
    seed: int = 0
    init: str = "pretrained"  # or "random": re-initialise every weight (the collapse experiment)
    keep: str = "best"        # weights in memory at the end: "best" (by validation loss) or "last" (what training did)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r} unknown: use one of {STRATEGIES}.")
        if self.keep not in ("best", "last"):
            raise ValueError(f"keep {self.keep!r} unknown: use 'best' or 'last'.")
        if self.init not in ("pretrained", "random"):
            raise ValueError(f"init {self.init!r} unknown: use 'pretrained' or 'random'.")
        if self.precision not in (None, "bf16", "fp16", "fp32"):
            raise ValueError(f"precision {self.precision!r} unknown: use 'bf16', 'fp16', 'fp32' or None (auto).")


def _sync_free_spectrogram_loss(self, attention_mask, outputs_before_postnet, outputs_after_postnet, logits, labels,
                                cross_attentions=None):
    """``SpeechT5SpectrogramLoss.forward`` with the same value, computed without a single host sync.

    The stock loss picks the real frames with ``masked_select`` (its output size depends on the data, so
    the CPU must wait for the GPU to know it) and builds the guided-attention masks in a Python loop over
    the batch, slicing with lengths read back from the GPU: one wait per utterance, every step. Here the
    same means are masked sums divided by masked counts, and the guided-attention masks for the whole
    batch come from one broadcast expression. ``tests/test_training.py`` checks the value is identical.
    """
    import torch
    import torch.nn.functional as F

    padding_mask = labels != -100.0
    count = padding_mask.sum()
    diff_after = torch.where(padding_mask, outputs_after_postnet - labels, 0.0).abs().sum()
    diff_before = torch.where(padding_mask, outputs_before_postnet - labels, 0.0).abs().sum()
    loss = (diff_after + diff_before) / count
    # stop labels: 1 on the last real frame (the next one is padding, or there is none)
    masks = padding_mask[:, :, 0]
    stop = torch.cat([~masks[:, 1:], torch.ones_like(masks[:, :1])], dim=1).to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, stop, reduction="none",
                                             pos_weight=torch.tensor(5.0, device=logits.device, dtype=logits.dtype))
    loss = loss + (bce * masks).sum() / masks.sum()
    if self.use_guided_attention_loss:
        attn = torch.cat([x[:, : self.guided_attention_loss_num_heads] for x in cross_attentions], dim=1)
        input_masks = attention_mask == 1
        output_masks = masks
        if self.reduction_factor > 1:
            output_masks = output_masks[:, self.reduction_factor - 1:: self.reduction_factor]
        ilen = input_masks.sum(-1).float().view(-1, 1, 1)
        olen = output_masks.sum(-1).float().view(-1, 1, 1)
        o = torch.arange(output_masks.shape[1], device=attn.device, dtype=torch.float32).view(1, -1, 1)
        i = torch.arange(input_masks.shape[1], device=attn.device, dtype=torch.float32).view(1, 1, -1)
        sigma = self.attn_criterion.sigma
        guide = 1.0 - torch.exp(-((i / ilen - o / olen) ** 2) / (2 * sigma ** 2))
        valid = (output_masks.unsqueeze(-1) & input_masks.unsqueeze(-2)).unsqueeze(1)
        total = (guide.unsqueeze(1) * attn * valid).sum()
        loss = loss + self.attn_criterion.scale * total / (valid.sum() * attn.shape[1])
    return loss


def use_sync_free_loss(enabled: bool = True) -> None:
    """Make every ``SpeechT5ForTextToSpeech`` in this process compute its training loss without host syncs
    (:func:`_sync_free_spectrogram_loss`; the value is unchanged). ``enabled=False`` puts the stock one back."""
    from transformers.models.speecht5 import modeling_speecht5 as m

    cls = m.SpeechT5SpectrogramLoss
    if not hasattr(cls, "_stock_forward"):
        cls._stock_forward = cls.forward
    cls.forward = _sync_free_spectrogram_loss if enabled else cls._stock_forward


def make_train_module(model, strategy: str, speaker_embedding: np.ndarray | None = None, sync_free_loss: bool = True):
    """Wrap the model so one call returns the loss, and mark what the strategy trains.

    * ``full`` — every weight;
    * ``frozen_encoder`` — the text encoder (and its pre-net) frozen; decoder, pre-net and post-net train;
    * ``speaker_embedding_only`` — every weight frozen; only a 512-d speaker vector is learned,
      starting from the x-vector (the smallest possible "voice adapter": 512 numbers).

    ``sync_free_loss``: the same loss value without host syncs (:func:`use_sync_free_loss`): issue 17
    measured the stock loss's per-utterance waits as the largest cost of a step on a GPU.
    """
    import torch
    from torch import nn

    if sync_free_loss:
        use_sync_free_loss()

    class _Module(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.speaker = None
            if strategy == "speaker_embedding_only":
                if speaker_embedding is None:
                    raise ValueError("strategy 'speaker_embedding_only' needs the starting speaker_embedding.")
                # torch.tensor COPIES: the learner's own embedding array must not change in place
                self.speaker = nn.Parameter(torch.tensor(np.asarray(speaker_embedding, dtype=np.float32)))

        def train(self, mode: bool = True):
            # Frozen parts stay in eval mode: no dropout noise there, and the post-net's batch-norm
            # statistics do not drift when only the speaker vector is being learned.
            super().train(mode)
            if mode and strategy == "speaker_embedding_only":
                self.model.eval()
            elif mode and strategy == "frozen_encoder":
                self.model.speecht5.encoder.eval()
            return self

        def forward(self, batch: dict) -> "torch.Tensor":
            spk = batch["speaker_embeddings"]
            if self.speaker is not None:
                spk = self.speaker.unsqueeze(0).expand(batch["input_ids"].shape[0], -1)
            out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                             labels=batch["labels"], speaker_embeddings=spk)
            return out.loss

    # The guided-attention loss needs the decoder's cross-attentions at every step. Decoder layer-drop
    # (p=0.1 per layer) can skip ALL decoder layers of a small model in one step, which crashes the
    # loss; the fine-tuning runs here are short, so it is switched off for training.
    decoder = model.speecht5.decoder.wrapped_decoder
    if getattr(decoder, "layerdrop", 0.0) > 0.0:
        decoder.layerdrop = 0.0
    module = _Module()
    for p in model.parameters():
        p.requires_grad_(strategy == "full")
    if strategy == "frozen_encoder":
        for name, p in model.named_parameters():
            p.requires_grad_(not name.startswith("speecht5.encoder."))
    return module


def count_trainable(module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, total


def reinit_weights(model, seed: int = 0) -> None:
    """Throw away everything pre-training learned: re-initialise every weight (the collapse experiment)."""
    import torch

    torch.manual_seed(seed)
    model.apply(model._init_weights)
    for m in model.modules():
        if hasattr(m, "reset_parameters") and not list(m.children()):
            m.reset_parameters()


def weights_fingerprint(model) -> str:
    """A short hash of a model's weights (a strided sample of every tensor): "is this the same starting model?"."""
    import hashlib

    import torch

    h = hashlib.blake2b(digest_size=8)
    with torch.no_grad():
        for name, t in sorted(model.state_dict().items()):
            if t.is_floating_point():
                flat = t.detach().reshape(-1)
                h.update(name.encode())
                h.update(flat[:: max(1, flat.numel() // 512)].float().cpu().numpy().tobytes())
    return h.hexdigest()


def interpolate_weights(base_model, tuned_model, alpha: float):
    """A new model whose weights are ``(1 - alpha) * base + alpha * tuned`` (WiSE-FT, Wortsman et al., 2022).

    Fine-tuning on minutes of one voice pulls every weight toward those few sentences, and the model forgets how
    to read words they never contained. Averaging with the weights it started from keeps most of what fine-tuning
    learned (the voice) and most of what pretraining knew (reading). ``alpha=0`` is the base model, ``1`` the
    fine-tuned one. Both models must share one architecture (``tuned_model`` started from ``base_model``).
    Neither input changes.
    """
    import copy

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 (base) and 1 (fine-tuned), got {alpha}.")
    base_sd, tuned_sd = base_model.state_dict(), tuned_model.state_dict()
    if base_sd.keys() != tuned_sd.keys():
        missing = sorted(set(base_sd) ^ set(tuned_sd))[:3]
        raise ValueError(f"the two models differ in their weights ({missing} …): interpolate a model with the "
                         "base it was fine-tuned from.")
    mixed = {}
    for k, b in base_sd.items():
        t = tuned_sd[k]
        if b.shape != t.shape:
            raise ValueError(f"weight {k} has shape {tuple(b.shape)} in the base and {tuple(t.shape)} fine-tuned.")
        mixed[k] = (b.float().to(t.device) * (1 - alpha) + t.float() * alpha).to(t.dtype) if t.is_floating_point() else t
    out = copy.deepcopy(tuned_model)
    out.load_state_dict(mixed)
    return out


def warmup_linear(warmup_steps: int, max_steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier: linear warm-up to 1, then linear decay to 0 at ``max_steps``."""
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (max_steps - step) / max(1, max_steps - warmup_steps))
    return f


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    best_step: int | None
    best_val_loss: float | None
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int | None = None
    trainable_params: int = 0
    speaker_embedding: np.ndarray | None = None

    def losses(self, kind: str = "train") -> tuple[list[int], list[float]]:
        rows = [h for h in self.history if h.get(kind + "_loss") is not None]
        return [h["step"] for h in rows], [h[kind + "_loss"] for h in rows]


def save_checkpoint(path: Path, module, optimizer, scheduler, state: dict) -> Path:
    """Everything needed to continue: weights, optimiser, scheduler, RNG, step, history (atomically)."""
    import torch

    from .files import atomic_dir, write_json

    with atomic_dir(path) as tmp:
        trainable = _trainable_state(module)
        torch.save(trainable, tmp / "trainable.pt")
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": rng_state()}, tmp / "optim.pt")
        write_json(tmp / "trainer_state.json", state)
    return path


def _trainable_state(module) -> dict:
    """The part of the state that training changes: trainable parameters and every buffer
    (batch-norm running statistics move during training too)."""
    keep = {n for n, p in module.named_parameters() if p.requires_grad} | {n for n, _ in module.named_buffers()}
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items() if k in keep}


class CheckpointError(RuntimeError):
    """A checkpoint folder that cannot be loaded: the message names the file and what to do."""


def _read_checkpoint_file(path: Path, name: str, reader: Callable[[Path], Any]) -> Any:
    f = path / name
    try:
        return reader(f)
    except FileNotFoundError:
        raise CheckpointError(f"{f}: missing — the checkpoint in {path} is incomplete. Delete the folder {path} "
                              "to start this run over (or pass resume=False).") from None
    except Exception as e:  # truncated zip, bad pickle, half-written JSON, ...
        raise CheckpointError(f"{f}: cannot be read ({type(e).__name__}: {str(e)[:120]}) — the file is damaged "
                              f"(a disk that filled up, or a copy that was cut short). Delete the folder {path} to "
                              "start this run over (or pass resume=False).") from None


def load_checkpoint(path: Path, module, optimizer, scheduler) -> dict:
    """Restore :func:`save_checkpoint`'s folder into ``module``/``optimizer``/``scheduler``; return its state.
    A damaged or incomplete folder raises :class:`CheckpointError` naming the file and the fix."""
    import torch

    state = _read_checkpoint_file(path, "trainer_state.json", lambda f: json.loads(f.read_text()))
    trainable = _read_checkpoint_file(path, "trainable.pt",
                                      lambda f: torch.load(f, map_location="cpu", weights_only=True))
    extra = _read_checkpoint_file(path, "optim.pt", lambda f: torch.load(f, map_location="cpu", weights_only=False))
    missing = module.load_state_dict(trainable, strict=False)
    if missing.unexpected_keys:
        raise CheckpointError(f"{path}: checkpoint does not fit this model/strategy ({missing.unexpected_keys[:3]} ...). "
                              "Delete the folder or use the strategy it was trained with.")
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    set_rng_state(extra["rng"])
    return state


def save_voice(path: Path, model, processor, speaker_embedding: np.ndarray, info: dict) -> Path:
    """A folder ``load_speecht5`` can open: model + processor + ``speaker_embedding.npy`` + ``voice.json``."""
    from .files import atomic_dir, write_json

    with atomic_dir(path) as tmp:
        model.save_pretrained(tmp)
        if processor is not None:
            processor.save_pretrained(tmp)
        np.save(tmp / "speaker_embedding.npy", np.asarray(speaker_embedding, dtype=np.float32))
        write_json(tmp / "voice.json", info)
    return path


def _batches_forever(examples: Sequence[dict], collate: TTSDataCollator, cfg: TrainConfig, seen: int,
                     num_replicas: int, rank: int) -> Iterable[dict]:
    """Yield collated micro-batches epoch after epoch, starting after the first ``seen`` (resume)."""
    lengths = [len(e["labels"]) for e in examples]

    def epoch_batches(epoch: int) -> list[list[int]]:
        if cfg.group_by_length:
            return length_grouped_batches(lengths, cfg.micro_batch_size, cfg.seed, epoch,
                                          num_replicas=num_replicas, rank=rank)
        return random_batches(len(examples), cfg.micro_batch_size, cfg.seed, epoch, num_replicas, rank)

    per_epoch = len(epoch_batches(0))
    if per_epoch == 0:
        raise ValueError(f"{len(examples)} training examples cannot fill one micro-batch on each of "
                         f"{num_replicas} processes: lower micro_batch_size ({cfg.micro_batch_size}) or add data.")
    epoch, offset = divmod(seen, per_epoch)
    while True:
        for batch in epoch_batches(epoch)[offset:]:
            yield collate([examples[i] for i in batch])
        epoch, offset = epoch + 1, 0


def evaluate_loss(module, examples: Sequence[dict], collate: TTSDataCollator, batch_size: int,
                  device, seed: int = 1234) -> float:
    """Mean validation loss. The decoder pre-net's dropout is on even in eval mode (by design), so the RNG
    is forked and seeded: the same weights always give the same number, and training's RNG is untouched."""
    import torch

    if not examples:
        return float("nan")
    module.eval()
    total, count = 0.0, 0
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for start in range(0, len(examples), batch_size):
            chunk = examples[start:start + batch_size]
            batch = {k: v.to(device) for k, v in collate(chunk).items()}
            total += float(module(batch)) * len(chunk)
            count += len(chunk)
    module.train()
    return total / count


def train(model, processor, train_examples: Sequence[dict], val_examples: Sequence[dict],
          speaker_embedding: np.ndarray, out_dir: str | Path, config: TrainConfig | None = None,
          callbacks: Sequence[Callable[[str, dict], None]] = (), resume: bool = True,
          device: str | None = None, progress: bool = True) -> TrainResult:
    """Fine-tune SpeechT5 on ``train_examples``; keep the best weights by validation loss.

    Re-running with the same ``out_dir`` continues from ``out_dir/last`` (weights, optimiser, scheduler,
    RNG, step) — after an interruption, just run it again. ``out_dir/best`` is a model folder
    ``helpers.models.load_speecht5`` can open, with the speaker embedding beside it.
    At the end the in-memory ``model`` holds the best weights. Works unchanged under ``accelerate launch``.
    """
    import torch
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from tqdm.auto import tqdm

    from .config import choose_precision
    from .files import tidy_atomic_leftovers, write_json
    from .training import LossMeter, Prefetcher, make_optimizer

    cfg = config or TrainConfig()
    out_dir = Path(out_dir)
    want_cpu = device == "cpu" or (device is None and not torch.cuda.is_available())
    precision = cfg.precision or choose_precision("cpu" if want_cpu else "cuda")
    mixed = {"fp32": "no"}.get(precision, precision)
    _allow_new_precision(mixed)
    # find_unused_parameters: layer-drop skips whole encoder layers in some steps; under several GPUs
    # (DDP) their parameters then get no gradient, which DDP must be told to expect.
    accelerator = Accelerator(mixed_precision=mixed, cpu=want_cpu,
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    main = accelerator.is_main_process

    torch.manual_seed(cfg.seed)
    if cfg.init == "random":
        reinit_weights(model, cfg.seed)
    model.config.use_cache = False          # no KV cache while training (and required by checkpointing)
    if cfg.gradient_checkpointing:  # transformers >= 5.2x calls it "activation checkpointing"
        getattr(model, "activation_checkpointing_enable", model.gradient_checkpointing_enable)()
    start_fingerprint = weights_fingerprint(model)  # which model this run started from (checked on resume)
    module = make_train_module(model, cfg.strategy, speaker_embedding)
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, cfg.learning_rate, accelerator.device, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear(cfg.warmup_steps, cfg.max_steps))
    module, optimizer = accelerator.prepare(module, optimizer)
    inner = accelerator.unwrap_model(module)

    collate = TTSDataCollator(processor.tokenizer.pad_token_id if processor is not None else 1,
                              speaker_embedding, model.config.reduction_factor)
    state = {"step": 0, "micro_batches_seen": 0, "best_val_loss": None, "best_step": None,
             "history": [], "seconds": 0.0, "config": asdict(cfg), "start_fingerprint": start_fingerprint}
    resumed_from = None
    last_dir, best_dir = out_dir / "last", out_dir / "best"
    if main:  # what a killed run left half-written: temporary folders/files; a checkpoint caught mid-swap is put back
        for leftover in (last_dir, best_dir, best_dir / "trainable.pt", out_dir / "history.json"):
            tidy_atomic_leftovers(leftover)
    if resume and (last_dir / "trainer_state.json").exists():
        saved = _read_checkpoint_file(last_dir, "trainer_state.json", lambda f: json.loads(f.read_text()))
        if saved["config"].get("strategy") != cfg.strategy or saved["config"].get("init") != cfg.init:
            raise ValueError(f"{last_dir} holds a '{saved['config'].get('strategy')}' run; this one is "
                             f"'{cfg.strategy}'. Use another out_dir, or delete that folder to start over.")
        if saved.get("start_fingerprint", start_fingerprint) != start_fingerprint:
            raise ValueError(f"{last_dir} was trained from different starting weights than this model (another base "
                             "model, or a changed one): its checkpoint does not belong to this run. Delete "
                             f"{out_dir} to start over, or pass another out_dir.")
        changed = {k: (v, asdict(cfg)[k]) for k, v in saved["config"].items()
                   if k in asdict(cfg) and k not in ("max_steps", "eval_every", "save_every", "log_every")
                   and v != asdict(cfg)[k]}
        if changed and main:
            print(f"Note: continuing {last_dir} although these settings changed (saved, now): {changed}. "
                  "Delete the folder to start over with the new settings.")
        state = load_checkpoint(last_dir, inner, optimizer, scheduler)
        state["config"] = asdict(cfg)
        state.setdefault("start_fingerprint", start_fingerprint)
        resumed_from = state["step"]
        if main:
            print(f"Resuming from {last_dir} at step {resumed_from}/{cfg.max_steps}.")
    elif not resume and main and last_dir.exists():
        print(f"resume=False: starting over (the checkpoint in {last_dir} will be replaced).")

    best_state = None
    if state["best_step"] is not None and (best_dir / "trainable.pt").exists():
        best_state = _read_checkpoint_file(best_dir, "trainable.pt",
                                           lambda f: torch.load(f, map_location="cpu", weights_only=True))

    def emit(event: str, **info: Any) -> None:
        if main:
            for cb in callbacks:
                cb(event, {"step": state["step"], "max_steps": cfg.max_steps, "model": inner.model,
                           "speaker_embedding": _current_speaker(inner, speaker_embedding), **info})

    def run_eval() -> None:
        nonlocal best_state
        val = evaluate_loss(module, val_examples, collate, cfg.micro_batch_size, accelerator.device)
        is_best = state["best_val_loss"] is None or val < state["best_val_loss"]
        state["history"].append({"step": state["step"], "val_loss": val})
        if is_best and math.isfinite(val):
            state["best_val_loss"], state["best_step"] = val, state["step"]
            best_state = _trainable_state(inner)
            if main:
                save_voice(best_dir, inner.model, processor, _current_speaker(inner, speaker_embedding),
                           {"step": state["step"], "val_loss": val, "strategy": cfg.strategy})
                with atomic_path(best_dir / "trainable.pt") as tmp:
                    torch.save(best_state, tmp)
        emit("eval", val_loss=val, is_best=is_best)

    # The next micro-batches are padded and pinned on a background thread while the GPU works, and the
    # loss stays on the device until it is logged: nothing in a step makes the CPU wait for the GPU.
    batches = Prefetcher(_batches_forever(train_examples, collate, cfg, state["micro_batches_seen"],
                                          accelerator.num_processes, accelerator.process_index),
                         accelerator.device)
    t0 = time.perf_counter() - state["seconds"]
    if state["step"] == 0 and cfg.eval_every > 0 and val_examples:
        run_eval()  # where we start from: the plot's first validation point
    bar = tqdm(total=cfg.max_steps, initial=state["step"], desc=f"train ({cfg.strategy})",
               disable=not (progress and main))
    meter = LossMeter()
    try:
        while state["step"] < cfg.max_steps:
            # ---- one optimiser step = grad_accum micro-batches (on each process) ----
            for micro in range(cfg.grad_accum):
                batch = next(batches)
                sync = accelerator.no_sync(module) if micro < cfg.grad_accum - 1 else _nullcontext()
                with sync:
                    loss = module(batch)
                    accelerator.backward(loss / cfg.grad_accum)
                meter.add(loss)  # on the device: no wait for the GPU here
                state["micro_batches_seen"] += 1
            if cfg.max_grad_norm:
                accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            bar.update(1)
            # ---- log (the one read-back of the loss), evaluate, checkpoint ----
            if state["step"] % cfg.log_every == 0 or state["step"] == cfg.max_steps:
                mean = meter.mean()
                bar.set_postfix(loss=f"{mean:.3f}")
                if not math.isfinite(mean) and main:
                    warnings.warn(f"step {state['step']}: loss is {mean} — training diverged "
                                  "(learning rate too high?).", RuntimeWarning, stacklevel=2)
                state["history"].append({"step": state["step"], "train_loss": mean,
                                         "lr": scheduler.get_last_lr()[0]})
                emit("log", train_loss=mean, lr=scheduler.get_last_lr()[0])
            if cfg.eval_every > 0 and val_examples and (state["step"] % cfg.eval_every == 0
                                                        or state["step"] == cfg.max_steps):
                run_eval()
            state["seconds"] = time.perf_counter() - t0
            if state["step"] % cfg.save_every == 0 or state["step"] == cfg.max_steps:
                accelerator.wait_for_everyone()
                if main:
                    save_checkpoint(last_dir, inner, optimizer, scheduler, state)
                    write_json(out_dir / "history.json", state["history"])
    finally:
        batches.close()
    bar.close()
    accelerator.wait_for_everyone()
    model.config.use_cache = True           # generation wants the cache back
    model.eval()
    if cfg.gradient_checkpointing:
        getattr(model, "activation_checkpointing_disable", model.gradient_checkpointing_disable)()
    if best_state is not None and cfg.keep == "best":
        inner.load_state_dict(best_state, strict=False)
    trainable, _ = count_trainable(inner)
    result = TrainResult(out_dir=out_dir, step=state["step"], best_step=state["best_step"],
                         best_val_loss=state["best_val_loss"], history=state["history"],
                         seconds=state["seconds"], resumed_from=resumed_from, trainable_params=trainable,
                         speaker_embedding=_current_speaker(inner, speaker_embedding))
    emit("end", result=result)
    return result


def _allow_new_precision(mixed: str) -> None:
    """accelerate keeps one process-wide state: a second run in the same Python process (a notebook, a
    benchmark after a Trainer) with another precision would be refused. In a single process nothing
    else depends on that state, so it is reset; under ``accelerate launch`` it is left alone."""
    from accelerate.state import AcceleratorState, GradientState

    shared = AcceleratorState._shared_state
    if shared and shared.get("_mixed_precision") != mixed and AcceleratorState().num_processes == 1:
        AcceleratorState._reset_state()
        GradientState._reset_state()


def _current_speaker(inner, fallback: np.ndarray) -> np.ndarray:
    if getattr(inner, "speaker", None) is not None:
        return inner.speaker.detach().float().cpu().numpy()
    return np.asarray(fallback, dtype=np.float32)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class LiveLossPlot:
    """A training callback that redraws train/validation loss in place in a notebook (d2l's Animator idea).

    ``train(..., callbacks=[LiveLossPlot()])``. Outside a notebook it prints one line per event instead.
    """

    def __init__(self, title: str = "loss", every: int = 1) -> None:
        self.title, self.every = title, every
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self._handle = None
        self._n = 0

    def __call__(self, event: str, info: dict) -> None:
        if event == "log":
            self.train.append((info["step"], info["train_loss"]))
        elif event == "eval":
            self.val.append((info["step"], info["val_loss"]))
        else:
            if event == "end":
                if not self.train and not self.val and "result" in info:  # a finished run, re-run: plot its history
                    self.train = [(h["step"], h["train_loss"]) for h in info["result"].history if "train_loss" in h]
                    self.val = [(h["step"], h["val_loss"]) for h in info["result"].history if "val_loss" in h]
                self.draw()
            return
        self._n += 1
        if self._n % self.every == 0:
            self.draw()

    def figure(self):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3))
        if self.train:
            ax.plot(*zip(*self.train), label="train", color="C0")
        if self.val:
            ax.plot(*zip(*self.val), "o-", label="validation", color="C1")
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("loss (L1 + stop + attention)")
        ax.set_title(self.title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
            in_notebook = get_ipython() is not None and "IPKernelApp" in get_ipython().config
        except ImportError:
            in_notebook = False
        if not in_notebook:
            last_t = f"train {self.train[-1][1]:.3f}" if self.train else ""
            last_v = f"val {self.val[-1][1]:.3f}" if self.val else ""
            print(f"[{self.title}] {last_t} {last_v}".rstrip())
            return
        import matplotlib.pyplot as plt

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)


class AudioSamples:
    """A callback that synthesises fixed sentences at every validation step and shows them (notebook).

    ``every``: only every n-th evaluation (synthesis is slow on CPU). Samples are kept in ``self.samples``
    as ``(step, text, waveform)``.
    """

    def __init__(self, processor, vocoder, sentences: Sequence[str], every: int = 1,
                 max_seconds: float = 6.0, display_audio: bool = True) -> None:
        self.processor, self.vocoder, self.sentences = processor, vocoder, list(sentences)
        self.every, self.max_seconds, self.display_audio = every, max_seconds, display_audio
        self.samples: list[tuple[int, str, np.ndarray]] = []
        self._n = 0

    def __call__(self, event: str, info: dict) -> None:
        if event != "eval":
            return
        self._n += 1
        if (self._n - 1) % self.every:
            return
        model = info["model"]
        for text in self.sentences:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GenerationStopWarning)
                audio, _ = synthesise(model, self.processor, self.vocoder, text, info["speaker_embedding"],
                                      max_seconds=self.max_seconds)
            self.samples.append((info["step"], text, audio))
            if self.display_audio:
                try:
                    from IPython.display import Audio, display
                    print(f"step {info['step']}: {text!r}")
                    display(Audio(audio, rate=SAMPLE_RATE))
                except ImportError:
                    pass


# ----------------------------------------------------------------------------------------------------
# 5. Generation
# ----------------------------------------------------------------------------------------------------

FRAMES_PER_SECOND = SAMPLE_RATE / 256  # SpeechT5's log-mel hop is 16 ms = 256 samples: 62.5 frames/s


def generate_mel(model, input_ids: Sequence[int], speaker_embedding: np.ndarray, threshold: float = 0.5,
                 minlenratio: float = 0.0, maxlenratio: float = 20.0, max_seconds: float = 20.0,
                 seed: int | None = 0, warn: bool = True) -> tuple[np.ndarray, dict]:
    """Log-mel frames ``(frames, 80)`` for one utterance, and ``{"stopped", "frames", "max_frames"}``.

    The decoder runs at most ``min(maxlenratio * tokens, max_seconds * 62.5) / reduction_factor`` steps.
    If the stop probability never crossed ``threshold``, the output was cut at that bound: a
    :class:`GenerationStopWarning` says so (and ``stopped`` is False).
    """
    import torch

    r = model.config.reduction_factor
    n_tok = len(input_ids)
    steps_cap = max(1, int(max_seconds * FRAMES_PER_SECOND / r))
    ratio = min(maxlenratio, steps_cap * r / n_tok)
    max_steps = int(n_tok * ratio / r)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    ids = torch.as_tensor([list(input_ids)], dtype=torch.long, device=device)
    spk = torch.as_tensor(np.asarray(speaker_embedding, dtype=np.float32)[None], device=device, dtype=dtype)
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    # eval mode: layer-drop off (in train mode it skips layers and breaks the KV cache)
    with _eval_mode(model), torch.no_grad(), torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        use_cache, model.config.use_cache = model.config.use_cache, True
        try:
            mel = model.generate_speech(ids, spk, threshold=threshold, minlenratio=minlenratio, maxlenratio=ratio)
        finally:
            model.config.use_cache = use_cache
    mel = mel.float().cpu().numpy()
    frames = mel.shape[0]
    stopped = frames < max(1, max_steps) * r
    info = {"stopped": bool(stopped), "frames": int(frames), "max_frames": int(max(1, max_steps) * r),
            "seconds": frames / FRAMES_PER_SECOND}
    if not stopped and warn:
        warnings.warn(f"The stop token never fired: output cut at {frames} frames ({frames / FRAMES_PER_SECOND:.1f} s, "
                      f"the bound). Expect babble at the end. Lower `threshold` (now {threshold}), train longer, "
                      "or check the text.", GenerationStopWarning, stacklevel=2)
    return mel, info


class _eval_mode:
    """Put every sub-module in eval mode, then restore each one's own flag (a frozen encoder stays in eval)."""

    def __init__(self, model) -> None:
        self.model = model

    def __enter__(self):
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc):
        for m, mode in self.modes:
            m.training = mode
        return False


def vocode(vocoder, mel: np.ndarray) -> np.ndarray:
    """Log-mel frames -> 16 kHz waveform with the HiFi-GAN vocoder."""
    import torch

    p = next(vocoder.parameters())
    with torch.no_grad():
        wav = vocoder(torch.as_tensor(mel, device=p.device, dtype=p.dtype))
    return wav.float().cpu().numpy().reshape(-1)


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str, max_chars: int = 250) -> list[str]:
    """Split long text into sentences (SpeechT5 was trained on single utterances; very long inputs
    drift or stop early). A sentence longer than ``max_chars`` is split again at , ; : or spaces."""
    text = re.sub(r"\s+", " ", text.strip())
    if not text:
        return []
    out: list[str] = []
    for sent in _SENTENCE_END.split(text):
        sent = sent.strip()
        while len(sent) > max_chars:
            cut = max((sent.rfind(c, 0, max_chars) for c in ",;:"), default=-1)
            if cut < max_chars // 3:
                cut = sent.rfind(" ", 0, max_chars)
            if cut <= 0:
                cut = max_chars
            out.append(sent[:cut + 1].strip())
            sent = sent[cut + 1:].strip()
        if sent:
            out.append(sent)
    return out


def synthesise(model, processor, vocoder, text: str, speaker_embedding: np.ndarray, threshold: float = 0.5,
               maxlenratio: float = 20.0, max_seconds: float = 20.0, pause_s: float = 0.15,
               seed: int | None = 0) -> tuple[np.ndarray, list[dict]]:
    """Read any text aloud: normalise, split into sentences, generate each (bounded), vocode, join.

    Returns the waveform (16 kHz float32) and one info dict per sentence
    (``text``, ``text_used``, ``stopped``, ``seconds``, ``mel``). ``max_seconds`` bounds each sentence.
    """
    pieces, infos = [], []
    silence = np.zeros(int(pause_s * SAMPLE_RATE), dtype=np.float32)
    sentences = split_sentences(text)
    if not sentences:
        raise ValueError("Nothing to synthesise: the text is empty.")
    for i, sentence in enumerate(sentences):
        ids, used = text_to_input_ids(processor, sentence)
        mel, info = generate_mel(model, ids, speaker_embedding, threshold=threshold, maxlenratio=maxlenratio,
                                 max_seconds=max_seconds, seed=None if seed is None else seed + i)
        wav = vocode(vocoder, mel) if vocoder is not None else np.zeros(0, np.float32)
        pieces += [wav, silence] if i < len(sentences) - 1 else [wav]
        infos.append({"text": sentence, "text_used": used, "mel": mel, **info})
    return np.concatenate(pieces).astype(np.float32), infos


def synthesise_to_wav(path: str | Path, model, processor, vocoder, text: str, speaker_embedding: np.ndarray,
                      generator: str = "SpeechT5 (Speech Lab notebook 03)", **kwargs: Any) -> tuple[Path, list[dict]]:
    """:func:`synthesise` and write the result atomically as a 16 kHz PCM16 WAV whose RIFF INFO chunk says it is
    synthetic speech made by ``generator`` (:func:`helpers.disclosure.write_synthetic_wav`)."""
    from .disclosure import write_synthetic_wav

    audio, infos = synthesise(model, processor, vocoder, text, speaker_embedding, **kwargs)
    return write_synthetic_wav(path, peak_safe(audio), SAMPLE_RATE, generator=generator, text=text), infos


def peak_safe(audio: np.ndarray) -> np.ndarray:
    """Scale a synthesised clip down to a 0.99 peak if it goes past full scale (a WAV would clip it)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio / peak * 0.99 if peak > 1.0 else audio


# ----------------------------------------------------------------------------------------------------
# Data from notebook 01's dataset folder, and the command line
# ----------------------------------------------------------------------------------------------------

def examples_from_dataset(processor, dataset_dir: str | Path, splits: Sequence[str] = ("train",),
                          **filters: Any) -> tuple[list[dict], list[dict]]:
    """:func:`prepare_examples` for the takes of ``splits`` in a dataset folder (``helpers.prep`` layout)."""
    from .prep import load_manifest

    rows = [r for r in load_manifest(dataset_dir) if r.get("split") in splits]
    if not rows:
        raise ValueError(f"{dataset_dir}/manifest.jsonl has no takes in splits {list(splits)}: "
                         "rebuild the dataset with notebook 01 (helpers.prep.ensure_dataset).")
    return prepare_examples(processor, rows, **filters)


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.tts train ...`` (also under ``accelerate launch -m helpers.tts train ...``)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m helpers.tts", description=main.__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="fine-tune SpeechT5 from a dataset folder + speaker embedding")
    t.add_argument("--dataset", required=True, type=Path, help="notebook 01's dataset folder (manifest.jsonl)")
    t.add_argument("--embedding", required=True, type=Path, help="speaker embedding .npy (512-d x-vector)")
    t.add_argument("--out", required=True, type=Path, help="output folder (checkpoints: last/, best model: best/)")
    t.add_argument("--model", default="microsoft/speecht5_tts", help="hub id, folder, or 'standin'")
    for name, default in asdict(TrainConfig()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            t.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            t.add_argument(flag, type=type(default) if default is not None else str, default=default)
    t.add_argument("--no-resume", action="store_true", help="start over even if OUT/last exists")
    args = ap.parse_args(argv)

    from . import models

    source = str(models.standin("speecht5_tts")) if args.model == "standin" else args.model
    processor, model, _ = models.load_speecht5(source, None, device="cpu")
    spk = np.load(args.embedding).astype(np.float32)
    if spk.shape != (model.config.speaker_embedding_dim,):
        raise ValueError(f"{args.embedding}: shape {spk.shape}, the model wants "
                         f"({model.config.speaker_embedding_dim},). Use the x-vector from notebook 02.")
    cfg = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    train_ex, dropped = examples_from_dataset(processor, args.dataset, ("train",), progress=False)
    val_ex, _ = examples_from_dataset(processor, args.dataset, ("validation",), progress=False)
    result = train(model, processor, train_ex, val_ex, spk, args.out, cfg, callbacks=[LiveLossPlot("cli")],
                   resume=not args.no_resume)
    from accelerate import PartialState

    if PartialState().is_main_process:
        print(json.dumps({"out": str(result.out_dir), "steps": result.step, "best_step": result.best_step,
                          "best_val_loss": result.best_val_loss, "seconds": round(result.seconds, 1),
                          "train_examples": len(train_ex), "dropped": len(dropped)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
