"""SampleRNN (Mehri et al., ICLR 2017): unconditional audio generation, one sample at a time.

What is in here, in the order notebook 05 explains it
------------------------------------------------------
1. **Quantisation** — audio in [-1, 1] becomes one of 256 integer codes (``linear_quantize`` as in the
   paper, or ``mu_law_quantize``, which spends more codes on quiet sounds) and back.
2. **The model** — a stack of *tiers*. Every frame-level tier is an RNN (GRU, or LSTM) that reads the
   previous frame of samples, adds the conditioning from the tier above, and *upsamples* its state into
   one conditioning vector per frame of the tier below. The sample-level tier is an MLP that reads a
   learned embedding of the last ``frame_sizes[0]`` samples plus its conditioning vector and outputs a
   256-way softmax for the next sample. Learned initial hidden state, weight normalisation.
3. **Training** — truncated back-propagation through time (TBPTT): long segments are cut into chunks of
   ``seq_len`` samples, the RNN state is carried (detached) from one chunk to the next, gradients are
   clipped element-wise to ±1, Adam. The loss is reported as NLL in **bits per sample** (8 bits = no better
   than guessing among 256 codes). Checkpoints hold everything, RNG and carried state included, so a
   resumed run continues *identically*.
4. **Generation** — :class:`Generator` keeps everything on the device: the per-sample step is a handful
   of small tensor ops on static buffers (no ``.item()``, no host round trip). One *top frame* of samples
   (all tiers' RNN steps and every sample-MLP step in it) is a single function; on a GPU it is captured
   once as a CUDA graph and replayed, so Python runs once per frame, not once per sample. On a CPU the very
   same function runs eagerly. Batched, per-sequence temperature, optional priming with a real clip.

``frame_sizes`` follows the public PyTorch port (deepsound-project/samplernn-pytorch): listed bottom-up,
each entry is the upsampling ratio of one frame tier. ``(16, 4)`` = a bottom tier over frames of 16 samples
and a top tier over frames of 16·4 = 64 samples, plus the sample MLP (3 tiers in the paper's count). The
paper's best 2-tier model is ``frame_sizes=(16,), n_rnn=3``; its best 3-tier model (frames of 8 and 2)
is ``frame_sizes=(2, 4), n_rnn=1``.

Only numpy is imported at module top (``torch`` inside functions; the ``nn.Module`` classes are built on
first use), so ``benchmarks/bench_samplernn.py`` can use this module on a machine that has torch only.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

SAMPLE_RATE = 16_000
LN2 = math.log(2.0)

# Test NLL in bits per sample reported by the paper (Table 1) — what the notebook compares against.
PAPER_NLL_BITS = {
    "Blizzard 2-tier": 1.392,
    "Blizzard 3-tier": 1.387,
    "Blizzard RNN baseline": 1.434,
    "Blizzard WaveNet (their re-impl.)": 1.480,
    "Music 2-tier": 1.076,
    "Music 3-tier": 1.159,
}
# The public PyTorch port on an H100 (frame sizes 16,4; 2 GRU layers; dim 1024; batch 128; TBPTT 1024).
PORT_H100 = {"train_samples_per_s": 2.1e6, "gen_samples_per_s_b1": 1.6e3, "gen_samples_per_s_b128": 20.5e3}
GOALS_H100 = {"train_samples_per_s": 4.3e6, "gen_samples_per_s_b1": 16e3, "gen_samples_per_s_b128": 500e3}


# ---------------------------------------------------------------------------------------------------
# 1. Quantisation
# ---------------------------------------------------------------------------------------------------

def _is_np(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic, float, int, list))


def linear_quantize(x, q_levels: int = 256):
    """Samples in [-1, 1] -> integer codes 0..q_levels-1, equal-width bins (the paper's quantiser).

    Values outside [-1, 1] are clipped. Works on NumPy arrays (returns int64) and torch tensors (returns long).
    Round-trip error with :func:`linear_dequantize` is at most half a bin: ``1 / q_levels``.
    """
    if _is_np(x):
        x = np.asarray(x, dtype=np.float64)
        return np.clip(np.floor((x + 1.0) * 0.5 * q_levels), 0, q_levels - 1).astype(np.int64)
    import torch

    return torch.clamp(torch.floor((x.double() + 1.0) * 0.5 * q_levels), 0, q_levels - 1).long()


def linear_dequantize(codes, q_levels: int = 256):
    """Codes -> the centre of their bin in [-1, 1] (float32)."""
    if _is_np(codes):
        return ((np.asarray(codes, dtype=np.float64) + 0.5) / q_levels * 2.0 - 1.0).astype(np.float32)
    return ((codes.double() + 0.5) / q_levels * 2.0 - 1.0).float()


def mu_law_quantize(x, q_levels: int = 256):
    """Mu-law companding (mu = q_levels - 1) then equal bins: fine steps near 0, coarse steps when loud.

    Speech spends most of its time quiet, so mu-law spends more of the 256 codes where the samples are.
    """
    mu = q_levels - 1
    if _is_np(x):
        x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
        y = np.sign(x) * np.log1p(mu * np.abs(x)) / math.log1p(mu)
        return np.clip(np.floor((y + 1.0) * 0.5 * mu + 0.5), 0, mu).astype(np.int64)
    import torch

    x = torch.clamp(x.double(), -1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.clamp(torch.floor((y + 1.0) * 0.5 * mu + 0.5), 0, mu).long()


def mu_law_dequantize(codes, q_levels: int = 256):
    """Inverse of :func:`mu_law_quantize` (float32 in [-1, 1])."""
    mu = q_levels - 1
    if _is_np(codes):
        y = np.asarray(codes, dtype=np.float64) / mu * 2.0 - 1.0
        return (np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu).astype(np.float32)
    import torch

    y = codes.double() / mu * 2.0 - 1.0
    return (torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu).float()


QUANTIZERS = {"linear": (linear_quantize, linear_dequantize), "mu-law": (mu_law_quantize, mu_law_dequantize)}


def quantize(x, method: str = "linear", q_levels: int = 256):
    """``method`` is ``"linear"`` (the paper) or ``"mu-law"``."""
    if method not in QUANTIZERS:
        raise ValueError(f"Unknown quantisation {method!r}: use one of {sorted(QUANTIZERS)}.")
    return QUANTIZERS[method][0](x, q_levels)


def dequantize(codes, method: str = "linear", q_levels: int = 256):
    if method not in QUANTIZERS:
        raise ValueError(f"Unknown quantisation {method!r}: use one of {sorted(QUANTIZERS)}.")
    return QUANTIZERS[method][1](codes, q_levels)


def zero_code(method: str = "linear", q_levels: int = 256) -> int:
    """The code of silence (what an empty history is filled with)."""
    return int(quantize(np.zeros(1), method, q_levels)[0])


# ---------------------------------------------------------------------------------------------------
# 2. The model
# ---------------------------------------------------------------------------------------------------

@dataclass
class SampleRNNConfig:
    """Everything that fixes the model's shape. Defaults: the public port's (paper-sized) configuration."""

    frame_sizes: tuple[int, ...] = (16, 4)   # bottom-up upsampling ratios; frame_sizes[0] = samples the MLP sees
    n_rnn: int = 2                           # RNN layers per frame tier
    dim: int = 1024                          # RNN and MLP width
    q_levels: int = 256                      # quantisation levels
    rnn_type: str = "gru"                    # "gru" (paper) or "lstm"
    learn_h0: bool = True                    # learned initial hidden state (paper)
    weight_norm: bool = True                 # weight normalisation on the linear maps (paper)
    emb_dim: int = 256                       # size of the learned embedding of each input sample
    quantization: str = "linear"             # "linear" (paper) or "mu-law"

    def __post_init__(self) -> None:
        self.frame_sizes = tuple(int(f) for f in self.frame_sizes)
        if not self.frame_sizes or any(f < 1 for f in self.frame_sizes):
            raise ValueError(f"frame_sizes must be positive integers, got {self.frame_sizes}.")
        if self.rnn_type not in ("gru", "lstm"):
            raise ValueError(f"rnn_type must be 'gru' or 'lstm', got {self.rnn_type!r}.")
        if self.quantization not in QUANTIZERS:
            raise ValueError(f"quantization must be one of {sorted(QUANTIZERS)}, got {self.quantization!r}.")

    @property
    def n_tiers(self) -> int:
        """Frame tiers + the sample tier (the paper's "2-tier" has one frame tier)."""
        return len(self.frame_sizes) + 1

    @property
    def frame_samples(self) -> list[int]:
        """Samples per frame of each frame tier, bottom-up: (16, 4) -> [16, 64]."""
        return [int(v) for v in np.cumprod(self.frame_sizes)]

    @property
    def lookback(self) -> int:
        """Samples of history the model needs before its first prediction (the top tier's frame)."""
        return self.frame_samples[-1]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["frame_sizes"] = list(self.frame_sizes)
        return d


_CLASSES: dict[str, type] = {}


def _classes() -> dict[str, type]:
    """Define the ``nn.Module`` classes on first use (keeps ``import helpers.samplernn`` torch-free)."""
    if _CLASSES:
        return _CLASSES
    import torch
    import torch.nn.functional as F
    from torch import nn

    def wn(module: nn.Module, enabled: bool) -> nn.Module:
        return nn.utils.parametrizations.weight_norm(module) if enabled else module

    class FrameTier(nn.Module):
        """One frame-level tier: previous frame (n samples) -> RNN -> ``ratio`` conditioning vectors.

        ``input_expand`` maps the frame's n samples to ``dim``; the conditioning from the tier above is
        added; a GRU/LSTM runs over the frames (cuDNN over the whole chunk in training); ``upsample`` is a
        linear map dim -> ratio·dim (the same as a transposed convolution with kernel = stride = ratio).
        """

        def __init__(self, frame_samples: int, ratio: int, cfg: SampleRNNConfig):
            super().__init__()
            self.frame_samples, self.ratio, self.dim, self.rnn_type = frame_samples, ratio, cfg.dim, cfg.rnn_type
            self.input_expand = wn(nn.Linear(frame_samples, cfg.dim), cfg.weight_norm)
            rnn_cls = nn.GRU if cfg.rnn_type == "gru" else nn.LSTM
            self.rnn = rnn_cls(cfg.dim, cfg.dim, num_layers=cfg.n_rnn, batch_first=True)
            n_states = 1 if cfg.rnn_type == "gru" else 2
            self.h0 = nn.Parameter(torch.zeros(n_states, cfg.n_rnn, cfg.dim), requires_grad=cfg.learn_h0)
            self.upsample = wn(nn.Linear(cfg.dim, ratio * cfg.dim), cfg.weight_norm)
            self._init_rnn()

        def _init_rnn(self) -> None:
            # The port's init: input weights LeCun-uniform, recurrent weights orthogonal, per gate.
            n_gates = 3 if self.rnn_type == "gru" else 4
            for name, p in self.rnn.named_parameters():
                if name.startswith("weight_ih"):
                    for chunk in p.data.chunk(n_gates, 0):
                        nn.init.uniform_(chunk, -math.sqrt(3 / chunk.shape[1]), math.sqrt(3 / chunk.shape[1]))
                elif name.startswith("weight_hh"):
                    for chunk in p.data.chunk(n_gates, 0):
                        nn.init.orthogonal_(chunk)
                elif name.startswith("bias"):
                    nn.init.zeros_(p)

        def initial_hidden(self, batch: int):
            h = self.h0.unsqueeze(2).expand(-1, -1, batch, -1).contiguous()  # (states, layers, B, dim)
            return h[0] if self.rnn_type == "gru" else (h[0], h[1])

        def forward(self, frames, upper, hidden):
            """frames (B, F, n) floats in [-1, 1]; upper (B, F, dim) or None -> (B, F·ratio, dim), hidden."""
            x = self.input_expand(frames)
            if upper is not None:
                x = x + upper
            out, hidden = self.rnn(x, hidden)
            b, f, _ = out.shape
            return self.upsample(out).reshape(b, f * self.ratio, self.dim), hidden

    class SampleTier(nn.Module):
        """The sample-level MLP: embeddings of the last ``frame_size`` samples + conditioning -> 256 logits.

        ``input`` is a convolution with kernel = frame_size over the embedded samples, so output t sees
        exactly samples t-frame_size .. t-1 (never sample t itself).
        """

        def __init__(self, cfg: SampleRNNConfig):
            super().__init__()
            self.frame_size = cfg.frame_sizes[0]
            self.embedding = nn.Embedding(cfg.q_levels, cfg.emb_dim)
            self.input = wn(nn.Conv1d(cfg.emb_dim, cfg.dim, self.frame_size, bias=False), cfg.weight_norm)
            self.hidden = wn(nn.Linear(cfg.dim, cfg.dim), cfg.weight_norm)
            self.output = wn(nn.Linear(cfg.dim, cfg.q_levels), cfg.weight_norm)

        def forward(self, codes, cond):
            """codes (B, T + frame_size - 1) long; cond (B, T, dim) -> logits (B, T, q_levels)."""
            x = self.embedding(codes).transpose(1, 2)          # (B, emb, T + fs - 1)
            x = self.input(x).transpose(1, 2)                   # (B, T, dim)
            x = F.relu(x + cond)
            x = F.relu(self.hidden(x))
            return self.output(x)

    class SampleRNN(nn.Module):
        """Frame tiers (top first) feeding the sample tier. See the module docstring."""

        def __init__(self, cfg: SampleRNNConfig):
            super().__init__()
            self.cfg = cfg
            ns, rs = cfg.frame_samples, cfg.frame_sizes
            self.frame_tiers = nn.ModuleList(FrameTier(ns[k], rs[k], cfg) for k in reversed(range(len(rs))))
            self.sample_tier = SampleTier(cfg)

        def initial_hidden(self, batch: int) -> list:
            return [t.initial_hidden(batch) for t in self.frame_tiers]

        def forward(self, codes, hidden=None):
            """codes (B, lookback + T) long, T a multiple of the top frame -> logits (B, T, q), new hidden.

            The first ``lookback`` codes are history only; logits[:, t] predicts codes[:, lookback + t].
            """
            cfg, lb = self.cfg, self.cfg.lookback
            b, total = codes.shape
            t_len = total - lb
            if t_len <= 0 or t_len % lb:
                raise ValueError(f"codes must be lookback ({lb}) + a multiple of {lb} long, got {total}.")
            if hidden is None:
                hidden = self.initial_hidden(b)
            unit = codes.to(torch.float32) * (2.0 / (cfg.q_levels - 1)) - 1.0   # codes as floats in [-1, 1]
            cond, new_hidden = None, []
            for tier, h in zip(self.frame_tiers, hidden):
                n = tier.frame_samples
                frames = unit[:, lb - n: lb - n + t_len].reshape(b, t_len // n, n)
                cond, h = tier(frames, cond, h)
                new_hidden.append(h)
            fs = self.sample_tier.frame_size
            logits = self.sample_tier(codes[:, lb - fs: total - 1], cond)
            return logits, new_hidden

    _CLASSES.update(FrameTier=FrameTier, SampleTier=SampleTier, SampleRNN=SampleRNN)
    return _CLASSES


def __getattr__(name: str):  # PEP 562: helpers.samplernn.SampleRNN etc. are built on first access
    if name in ("FrameTier", "SampleTier", "SampleRNN"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(cfg: SampleRNNConfig | None = None, device: str = "cpu", **overrides):
    """A fresh :class:`SampleRNN` (``build_model(frame_sizes=(16,), n_rnn=3)`` overrides the defaults)."""
    cfg = cfg or SampleRNNConfig(**overrides)
    if cfg and overrides:
        cfg = SampleRNNConfig(**{**cfg.to_dict(), **overrides})
    return _classes()["SampleRNN"](cfg).to(device)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def tier_summary(cfg: SampleRNNConfig) -> list[dict[str, Any]]:
    """One row per tier, top first: what it reads, how often it runs, what it hands down."""
    rows = []
    for k in reversed(range(len(cfg.frame_sizes))):
        n, r = cfg.frame_samples[k], cfg.frame_sizes[k]
        rows.append({"tier": f"frame tier {k + 1}", "reads (samples)": n, "runs every (samples)": n,
                     "RNN": f"{cfg.n_rnn}×{cfg.rnn_type.upper()} {cfg.dim}",
                     "hands down": f"{r} vectors (one per {'sample' if k == 0 else f'{n // r}-sample frame'})"})
    fs = cfg.frame_sizes[0]
    rows.append({"tier": "sample MLP", "reads (samples)": fs, "runs every (samples)": 1,
                 "RNN": "— (3-layer MLP)", "hands down": f"{cfg.q_levels}-way softmax"})
    return rows


# ---------------------------------------------------------------------------------------------------
# 3. Data and training
# ---------------------------------------------------------------------------------------------------

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read a file (WAV/FLAC/OGG via soundfile), mix to mono, resample to ``sample_rate`` (soxr): float32."""
    from .audio import load_mono

    return load_mono(path, sample_rate)


def audio_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Audio folder {folder} does not exist: set DATA to a folder of WAV/FLAC files, "
                                "or leave it empty to use notebook 01's dataset.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if len(files) < 2:
        raise ValueError(f"{folder} holds {len(files)} audio file(s) ({', '.join(AUDIO_SUFFIXES)}): at least 2 are "
                         "needed (training and validation are split by file). Add recordings or point DATA elsewhere.")
    return files


def split_by_file(files: Sequence[Path], valid_fraction: float = 0.1, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """Hold out whole files for validation (at least one), so validation audio is never trained on."""
    files = list(files)
    order = np.random.default_rng(seed).permutation(len(files))
    n_valid = max(1, int(round(valid_fraction * len(files))))
    valid = sorted(files[i] for i in order[:n_valid])
    train = sorted(files[i] for i in order[n_valid:])
    return train, valid


def load_takes(data: str | Path | None = None, work: str | Path | None = None,
               valid_fraction: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """The audio to train on: ``{"train": [arrays], "validation": [arrays], "source": str, "files": {...}}``.

    ``data=None``: notebook 01's processed takes (``helpers.prep.ensure_dataset``), split as its manifest says
    (the ``test`` split is left alone). A folder: every WAV/FLAC/OGG in it, split by file.
    """
    if data in (None, ""):
        from . import prep

        dataset = prep.ensure_dataset(work)
        rows = prep.load_manifest(dataset)
        split = {"train": [r for r in rows if r["split"] == "train"],
                 "validation": [r for r in rows if r["split"] == "validation"]}
        if not split["train"] or not split["validation"]:
            raise ValueError(f"{dataset}/manifest.jsonl needs takes in both 'train' and 'validation' splits "
                             f"(has {len(split['train'])} and {len(split['validation'])}). Re-run notebook 01.")
        return {"source": str(dataset),
                "files": {k: [r["audio_path"] for r in v] for k, v in split.items()},
                **{k: [load_audio(r["audio_path"]) for r in v] for k, v in split.items()}}
    train, valid = split_by_file(audio_files(data), valid_fraction, seed)
    return {"source": str(data), "files": {"train": [str(p) for p in train], "validation": [str(p) for p in valid]},
            "train": [load_audio(p) for p in train], "validation": [load_audio(p) for p in valid]}


def encode_stream(arrays: Sequence[np.ndarray], method: str = "linear", q_levels: int = 256,
                  gap_s: float = 0.05) -> np.ndarray:
    """Quantise takes and join them into one stream of codes (uint8), with a short silence between takes."""
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for a in arrays:
        parts += [np.asarray(a, dtype=np.float32), gap]
    if not parts:
        raise ValueError("No audio to encode: the list of takes is empty.")
    return quantize(np.concatenate(parts), method, q_levels).astype(np.uint8 if q_levels <= 256 else np.int64)


@dataclass
class TrainConfig:
    """Training settings. Defaults: the paper's (batch 128, TBPTT 1024, 8 s segments, Adam 1e-3, clip ±1)."""

    batch_size: int = 128
    seq_len: int = 1024          # TBPTT chunk: gradients flow back at most this many samples
    segment_len: int = 128_000   # a training sequence (8 s); its chunks carry the RNN state forward
    lr: float = 1e-3
    clip: float = 1.0            # element-wise gradient clip (paper)
    amp: bool = True             # mixed precision on CUDA (ignored on CPU)
    amp_dtype: str = "bf16"      # "bf16" (Ampere and newer) or "fp16" (e.g. Colab's T4; uses a gradient scaler)
    seed: int = 0


def bits(nats: float) -> float:
    return nats / LN2


class Trainer:
    """TBPTT training of a :class:`SampleRNN` on a stream of codes, resumable to the bit.

    Each *segment* is ``batch_size`` random windows of ``lookback + segment_len`` codes; it is consumed in
    ``segment_len // seq_len`` chunks, carrying the (detached) RNN state from chunk to chunk; a new segment
    starts from the learned h0. One :meth:`train_step` = one chunk = one Adam update.
    """

    def __init__(self, model, train_codes: np.ndarray, valid_codes: np.ndarray | None = None,
                 cfg: TrainConfig | None = None, device: str = "cpu"):
        import torch

        self.model, self.cfg, self.device = model, cfg or TrainConfig(), device
        c, mc = self.cfg, model.cfg
        if c.seq_len % mc.lookback:
            raise ValueError(f"seq_len ({c.seq_len}) must be a multiple of the top frame ({mc.lookback} samples).")
        self.n_chunks = max(1, c.segment_len // c.seq_len)
        need = mc.lookback + self.n_chunks * c.seq_len
        if len(train_codes) < need:
            raise ValueError(f"The training audio is {len(train_codes) / SAMPLE_RATE:.2f} s, shorter than one "
                             f"segment ({need / SAMPLE_RATE:.2f} s): lower SEGMENT_S / SEQ_LEN or add recordings.")
        self.train_codes = torch.as_tensor(np.asarray(train_codes).astype(np.int64))
        self.valid_codes = None if valid_codes is None else torch.as_tensor(np.asarray(valid_codes).astype(np.int64))
        self.optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
        self.data_gen = torch.Generator().manual_seed(c.seed)   # draws segment offsets (saved in checkpoints)
        self.step, self.samples_seen, self.chunk = 0, 0, 0
        self.segment = None      # (B, lookback + n_chunks*seq_len) long, on the device
        self.hidden = None       # carried RNN state
        self.history: list[dict[str, float]] = []
        self.train_time_s = 0.0
        self.use_amp = c.amp and str(device).startswith("cuda")
        self.amp_dtype = torch.float16 if c.amp_dtype == "fp16" else torch.bfloat16
        self.scaler = torch.amp.GradScaler("cuda") if self.use_amp and c.amp_dtype == "fp16" else None
        if str(device).startswith("cuda"):
            torch.backends.cudnn.benchmark = True     # fixed shapes: let cuDNN pick its fastest kernels

    # -- data -------------------------------------------------------------------------------------------
    def _new_segment(self):
        import torch

        c, lb = self.cfg, self.model.cfg.lookback
        length = lb + self.n_chunks * c.seq_len
        starts = torch.randint(0, len(self.train_codes) - length + 1, (c.batch_size,), generator=self.data_gen)
        idx = starts[:, None] + torch.arange(length)[None, :]
        return self.train_codes[idx].to(self.device, non_blocking=True)

    # -- one TBPTT step ---------------------------------------------------------------------------------
    def train_step(self, sync: bool = True):
        """One chunk: forward, NLL, backward, clip each gradient element to ±clip, Adam. Returns bits/sample.

        ``sync=False`` returns the loss as a device tensor (no host round trip: the benchmark's way).
        """
        import torch
        import torch.nn.functional as F

        t0 = time.perf_counter()
        c, lb = self.cfg, self.model.cfg.lookback
        if self.chunk == 0:                                   # a new segment starts from the learned h0
            self.segment, self.hidden = self._new_segment(), None
        codes = self.segment[:, self.chunk * c.seq_len: self.chunk * c.seq_len + lb + c.seq_len]
        self.model.train()
        with torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.use_amp):
            logits, hidden = self.model(codes, self.hidden)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), codes[:, lb:].reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            torch.nn.utils.clip_grad_value_(self.model.parameters(), c.clip)
            self.optimizer.step()
        else:                                                 # fp16: scale the loss, unscale before clipping
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_value_(self.model.parameters(), c.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        # carry the state to the next chunk, cut from the graph (that is the "truncated" in TBPTT)
        self.hidden = [tuple(x.detach().float() for x in h) if isinstance(h, tuple) else h.detach().float()
                       for h in hidden]
        self.chunk = (self.chunk + 1) % self.n_chunks
        self.step += 1
        self.samples_seen += codes.shape[0] * c.seq_len
        if not sync:
            return loss.detach() / LN2
        value = bits(loss.item())
        self.train_time_s += time.perf_counter() - t0
        return value

    # -- validation -------------------------------------------------------------------------------------
    def evaluate(self, max_samples: int | None = None, rows: int = 8) -> float:
        """NLL (bits/sample) on the validation stream: cut into ``rows`` parallel sequences, TBPTT-style."""
        import torch
        import torch.nn.functional as F

        if self.valid_codes is None:
            raise ValueError("No validation codes were given to the Trainer.")
        c, lb = self.cfg, self.model.cfg.lookback
        codes = self.valid_codes if max_samples is None else self.valid_codes[: max_samples + lb]
        per_row = (len(codes) - lb) // rows // c.seq_len * c.seq_len
        if per_row == 0:
            rows, per_row = 1, (len(codes) - lb) // lb * lb
        if per_row <= 0:
            raise ValueError(f"The validation audio is too short ({len(codes)} samples) for one frame of {lb}.")
        chunk = min(c.seq_len, per_row)
        starts = torch.arange(rows) * per_row
        batch = codes[starts[:, None] + torch.arange(lb + per_row)[None, :]].to(self.device)
        self.model.eval()
        total, count, hidden = 0.0, 0, None
        with torch.no_grad(), torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.use_amp):
            for k in range(0, per_row - chunk + 1, chunk):
                x = batch[:, k: k + lb + chunk]
                logits, hidden = self.model(x, hidden)
                total += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, lb:].reshape(-1),
                                         reduction="sum").item()
                count += x[:, lb:].numel()
        return bits(total / count)

    def log(self, train_bits: float, valid_bits: float | None) -> dict[str, float]:
        row = {"step": self.step, "samples_seen": self.samples_seen, "train_time_s": round(self.train_time_s, 3),
               "train_bits": train_bits, "valid_bits": valid_bits}
        self.history.append(row)
        return row

    # -- checkpoints ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        import torch

        return {"model_cfg": self.model.cfg.to_dict(), "train_cfg": asdict(self.cfg),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": None if self.scaler is None else self.scaler.state_dict(),
                "step": self.step, "samples_seen": self.samples_seen, "chunk": self.chunk,
                "train_time_s": self.train_time_s, "history": self.history,
                "segment": None if self.segment is None else self.segment.cpu(),
                "hidden": None if self.hidden is None else _to_cpu(self.hidden),
                "data_gen": self.data_gen.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.samples_seen, self.chunk = state["step"], state["samples_seen"], state["chunk"]
        self.train_time_s, self.history = state["train_time_s"], list(state["history"])
        self.segment = None if state["segment"] is None else state["segment"].to(self.device)
        self.hidden = None if state["hidden"] is None else _to_device(state["hidden"], self.device)
        self.data_gen.set_state(state["data_gen"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (an interrupted save never leaves a broken file)."""
        import torch

        from .files import atomic_path

        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(self.state_dict(), tmp)
        return Path(path)

    def load(self, path: str | Path) -> None:
        import torch

        from .files import tidy_atomic_leftovers

        path = Path(path)
        tidy_atomic_leftovers(path)  # temporary files a killed save left behind
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValueError(f"Checkpoint {path} cannot be read ({err}). Delete it to start training afresh.") from None
        saved = SampleRNNConfig(**state["model_cfg"])
        if saved != self.model.cfg:
            raise ValueError(f"Checkpoint {path} was trained with a different model ({saved}); delete it or "
                             f"set the notebook's parameters back to match.")
        self.load_state_dict(state)


def _to_cpu(hidden):
    return [tuple(x.cpu() for x in h) if isinstance(h, tuple) else h.cpu() for h in hidden]


def _to_device(hidden, device):
    return [tuple(x.to(device) for x in h) if isinstance(h, tuple) else h.to(device) for h in hidden]


def load_model(path: str | Path, device: str = "cpu"):
    """Rebuild the model from a :class:`Trainer` checkpoint (for generation)."""
    import torch

    state = torch.load(Path(path), map_location="cpu", weights_only=False)
    model = build_model(SampleRNNConfig(**state["model_cfg"]), device)
    model.load_state_dict(state["model"])
    return model.eval()


# ---------------------------------------------------------------------------------------------------
# 4. Generation, on the device
# ---------------------------------------------------------------------------------------------------

class Generator:
    """Batched sample-by-sample generation with everything on the device.

    Weight-normalised weights are computed once into plain tensors, and the sample MLP's first layer
    (embedding then a convolution over ``frame_size`` samples) is folded into one table of
    ``frame_size·q_levels`` rows: its input at each step is the *sum* of ``frame_size`` table rows
    (``embedding_bag``) — the same numbers, one small kernel. Sampling is Gumbel-max with noise drawn
    once per top frame: ``argmax(logits + T·g)`` samples from ``softmax(logits / T)``; T = 0 is greedy.

    :meth:`_frame_step` produces one top frame (``lookback`` samples) from static buffers; with
    ``use_graph`` (the default on CUDA) it is captured once as a CUDA graph and replayed.
    """

    def __init__(self, model, batch_size: int = 1, use_graph: bool | None = None, dtype=None):
        import torch

        self.model, self.cfg = model.eval(), model.cfg
        self.device = next(model.parameters()).device
        self.batch_size = batch_size
        self.use_graph = (self.device.type == "cuda") if use_graph is None else use_graph
        self.dtype = dtype or torch.float32
        cfg, dev, dt, b = self.cfg, self.device, self.dtype, batch_size
        L = cfg.lookback
        with torch.no_grad():
            self.tiers = []
            for tier in model.frame_tiers:
                w = {"n": tier.frame_samples, "r": tier.ratio,
                     "w_in": tier.input_expand.weight.detach().to(dt).t().contiguous(),
                     "b_in": tier.input_expand.bias.detach().to(dt),
                     "w_up": tier.upsample.weight.detach().to(dt).t().contiguous(),
                     "b_up": tier.upsample.bias.detach().to(dt), "layers": []}
                for l in range(cfg.n_rnn):
                    w["layers"].append(tuple(getattr(tier.rnn, f"{k}_l{l}").detach().to(dt)
                                             for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
                self.tiers.append(w)
            st = model.sample_tier
            fs, q = st.frame_size, cfg.q_levels
            conv_w = st.input.weight.detach().to(torch.float32)                  # (dim, emb, fs)
            emb = st.embedding.weight.detach().to(torch.float32)                 # (q, emb)
            self.table = torch.einsum("qe,dej->jqd", emb, conv_w).reshape(fs * q, cfg.dim).to(dt).contiguous()
            self.offsets = (torch.arange(fs, device=dev) * q).view(1, fs)
            self.w_h = st.hidden.weight.detach().to(dt).t().contiguous()
            self.b_h = st.hidden.bias.detach().to(dt)
            self.w_o = st.output.weight.detach().to(dt).t().contiguous()
            self.b_o = st.output.bias.detach().to(dt)
            self.lut = (torch.arange(q, device=dev, dtype=torch.float32) * (2.0 / (q - 1)) - 1.0).to(dt)
            # static state: [previous top frame | frame being generated], RNN states, noise, temperature
            self.buf = torch.full((b, 2 * L), zero_code(cfg.quantization, q), dtype=torch.long, device=dev)
            self.hidden = [self._h0(tier) for tier in model.frame_tiers]
            self.uniform = torch.full((b, L, q), 0.5, device=dev, dtype=torch.float32)
            self.temp = torch.ones(b, 1, 1, device=dev, dtype=torch.float32)
        self._graph = None

    def _h0(self, tier):
        h = tier.h0.detach().to(self.dtype).unsqueeze(2).expand(-1, -1, self.batch_size, -1).clone()
        return [h[0]] if tier.rnn_type == "gru" else [h[0], h[1]]

    # -- the step ---------------------------------------------------------------------------------------
    def _rnn_step(self, k: int, x):
        """One step of tier k's RNN on input x (B, dim); updates the static state in place."""
        import torch

        state = self.hidden[k]
        for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.tiers[k]["layers"]):
            if len(state) == 1:
                h = torch.gru_cell(x, state[0][l], w_ih, w_hh, b_ih, b_hh)
                state[0][l].copy_(h)
            else:
                h, c = torch.lstm_cell(x, (state[0][l], state[1][l]), w_ih, w_hh, b_ih, b_hh)
                state[0][l].copy_(h)
                state[1][l].copy_(c)
            x = h
        return x

    def _frame_step(self) -> None:
        """Generate one top frame into ``buf[:, L:]``, reading ``buf[:, :L]`` and the RNN states."""
        import torch
        import torch.nn.functional as F

        L, b, dim = self.cfg.lookback, self.batch_size, self.cfg.dim
        noise = -torch.log(-torch.log(self.uniform.clamp(1e-12, 1 - 1e-7))) * self.temp   # Gumbel · T
        fs = self.cfg.frame_sizes[0]

        def run_tier(k: int, start: int, upper):       # frame of tier k begins at buf position L + start
            tier = self.tiers[k]
            n, r = tier["n"], tier["r"]
            frame = self.lut[self.buf[:, L + start - n: L + start]]                # previous n samples
            x = torch.addmm(tier["b_in"], frame, tier["w_in"])
            if upper is not None:
                x = x + upper
            h = self._rnn_step(k, x)
            cond = torch.addmm(tier["b_up"], h, tier["w_up"]).view(b, r, dim)
            step = n // r
            for m in range(r):
                pos = start + m * step
                if k + 1 < len(self.tiers):
                    run_tier(k + 1, pos, cond[:, m])
                else:
                    sample_step(pos, cond[:, m])

        def sample_step(pos: int, cond):                # the sample MLP for buf position L + pos
            idx = self.buf[:, L + pos - fs: L + pos] + self.offsets
            x = F.embedding_bag(idx, self.table, mode="sum")
            x = torch.relu_(x + cond)
            x = torch.relu_(torch.addmm(self.b_h, x, self.w_h))
            logits = torch.addmm(self.b_o, x, self.w_o)
            self.buf[:, L + pos].copy_(torch.argmax(logits.float() + noise[:, pos], dim=-1))

        run_tier(0, 0, None)

    def _run_frame(self) -> None:
        import torch

        if not self.use_graph:
            self._frame_step()
            return
        if self._graph is None:                          # warm up on a side stream, then capture once
            saved = [self.buf.clone()] + [[s.clone() for s in st] for st in self.hidden]
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._frame_step()
            torch.cuda.current_stream().wait_stream(side)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                self._frame_step()
            self.buf.copy_(saved[0])                     # capture and warm-up ran the step: undo them
            for st, sv in zip(self.hidden, saved[1:]):
                for s, v in zip(st, sv):
                    s.copy_(v)
        self._graph.replay()

    # -- public -----------------------------------------------------------------------------------------
    def reset(self, prime=None) -> None:
        """Start from silence and h0, or from a real clip ``prime`` (codes, (B, n) or (n,)), read by the tiers."""
        import torch

        L = self.cfg.lookback
        with torch.no_grad():
            for st, tier in zip(self.hidden, self.model.frame_tiers):
                for s, v in zip(st, self._h0(tier)):
                    s.copy_(v)
            self.buf.fill_(zero_code(self.cfg.quantization, self.cfg.q_levels))
            if prime is None:
                return
            prime = torch.as_tensor(prime).long().to(self.device)
            if prime.dim() == 1:
                prime = prime.unsqueeze(0).expand(self.batch_size, -1)
            n = prime.shape[1] // L * L
            if n < L:
                raise ValueError(f"A priming clip needs at least {L} samples ({L / SAMPLE_RATE * 1000:.0f} ms).")
            prime = prime[:, prime.shape[1] - n:]
            if n >= 2 * L:                               # let the tiers read the clip: their state after it
                _, hidden = self.model(prime, None)
                for st, h in zip(self.hidden, hidden):
                    for s, v in zip(st, h if isinstance(h, tuple) else (h,)):
                        s.copy_(v.to(self.dtype))
            self.buf[:, :L].copy_(prime[:, n - L:])

    def generate(self, n_samples: int, temperature: float | Sequence[float] = 1.0, prime=None,
                 seed: int | None = 0, progress: bool = False):
        """Return codes (B, n_samples) long on the device. ``temperature`` may be one value per sequence.

        ``n_samples`` is rounded up to whole top frames, then cut. Nothing is copied to the host until the end.
        """
        import torch

        L = self.cfg.lookback
        temps = torch.as_tensor(temperature, dtype=torch.float32).reshape(-1)
        if temps.numel() not in (1, self.batch_size) or bool((temps < 0).any()):
            raise ValueError(f"temperature: one value >= 0, or one per sequence ({self.batch_size}); got {temperature}.")
        self.temp.copy_(temps.view(-1, 1, 1).expand(self.batch_size, 1, 1).to(self.device))
        self.reset(prime)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(0 if seed is None else seed)
        n_frames = -(-n_samples // L)
        out = torch.empty(self.batch_size, n_frames * L, dtype=torch.long, device=self.device)
        frames = range(n_frames)
        if progress:
            from tqdm.auto import tqdm

            frames = tqdm(frames, desc="generating", unit="frame")
        threads = torch.get_num_threads()
        if self.device.type == "cpu":
            torch.set_num_threads(1)    # per-sample ops are tiny: extra threads only add contention
        try:
            with torch.no_grad():
                for f in frames:
                    torch.rand(self.uniform.shape, generator=gen, device=self.device, out=self.uniform)
                    self._run_frame()
                    out[:, f * L:(f + 1) * L].copy_(self.buf[:, L:])
                    self.buf[:, :L].copy_(self.buf[:, L:])
        finally:
            torch.set_num_threads(threads)
        return out[:, :n_samples]


def generate_audio(model, seconds: float = 1.0, batch_size: int = 1, temperature: float | Sequence[float] = 1.0,
                   prime: np.ndarray | None = None, seed: int = 0, progress: bool = True) -> np.ndarray:
    """Convenience: ``batch_size`` waveforms (float32, (B, n)) of ``seconds`` each, dequantised."""
    gen = Generator(model, batch_size)
    prime_codes = None if prime is None else quantize(prime, model.cfg.quantization, model.cfg.q_levels)
    codes = gen.generate(int(seconds * SAMPLE_RATE), temperature, prime=prime_codes, seed=seed, progress=progress)
    return dequantize(codes.cpu().numpy(), model.cfg.quantization, model.cfg.q_levels)
