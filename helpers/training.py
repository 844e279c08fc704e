"""Keeping the GPU busy: the parts of a training loop that decide its speed, not its result.

Notebook 03's :func:`helpers.tts.train` and the base voice's :func:`helpers.basevoice.pretrain` share
these. Each one removes a reason for the GPU to sit idle while Python works (issue 17 measured the old
helper at half the speed of a bare loop on the same batches):

* :class:`Prefetcher` — the next batches are padded (the collator) and copied into pinned memory on a
  background thread while the GPU computes the current one; the copy to the GPU is ``non_blocking``.
* :class:`LossMeter` — the running loss stays a tensor on the device. ``float(loss)`` after every step
  makes the CPU wait for the GPU each time, so it can never queue the next step's kernels early; the
  meter reads the value back only when it is logged.
* :func:`make_optimizer` — AdamW with ``fused=True`` on a GPU: one kernel per step instead of a few per
  parameter tensor.

And the two rules that size a GPU run:

* :func:`micro_batch_for_memory` — the largest power-of-two micro-batch whose activations fit the card
  (measured: ~0.27 GB per utterance of up to 9 s for the real-size SpeechT5 in bf16/fp16, no gradient
  checkpointing; a 16 GB T4 gets 32, an 80 GB H100 128, a 141 GB H200 256);
* :func:`scale_schedule` — a bigger batch must not change what the fine-tune learns: the same number of
  utterances is seen (fewer, larger steps), warm-up and evaluation keep their place in utterances, and
  the learning rate grows linearly with the batch, ``lr * B / B0`` (Goyal et al., 2017, "Accurate,
  large minibatch SGD"; the warm-up is what makes it safe). Measured on a CPU (tests/test_training.py's
  set-up, batch 2 -> 4, same utterances): validation loss 8.00 with the reference schedule, 7.57 with
  the linear rule, 9.12 with the square-root rule (``lr * sqrt(B / B0)``, which lags: half the steps,
  each barely larger).
"""

from __future__ import annotations

import math
import queue
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

GB_PER_UTTERANCE = 0.27   # real-size SpeechT5, bf16/fp16, 9 s targets, no checkpointing (bench_speecht5.json)
MEMORY_HEADROOM = 0.70    # share of the card's memory the activations may take (weights, optimiser, fragmentation)


class Prefetcher:
    """Iterate ``batches`` (dicts of CPU tensors) on a background thread, ``depth`` ahead, pinned.

    ``next(prefetcher)`` returns the batch already on ``device``. The order is exactly that of
    ``batches`` (one thread, one queue), so a resumed run sees the same batches. The thread only runs
    Python/NumPy padding code, which releases the GIL often enough to overlap with the GPU's work.
    """

    _END = object()

    def __init__(self, batches: Iterable[dict], device: Any, depth: int = 2) -> None:
        import torch

        self.device = torch.device(device)
        self.pin = self.device.type == "cuda"
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._it = iter(batches)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            for batch in self._it:
                if self.pin:
                    batch = {k: v.pin_memory() for k, v in batch.items()}
                while not self._stop.is_set():
                    try:
                        self._q.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._q.put(self._END)
        except BaseException as e:  # surface collator errors in the training loop, not in a thread
            self._q.put(e)

    def __iter__(self) -> Iterator[dict]:
        return self

    def __next__(self) -> dict:
        item = self._q.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return {k: v.to(self.device, non_blocking=self.pin) for k, v in item.items()}

    def close(self) -> None:
        self._stop.set()
        try:
            while True:
                self._q.get_nowait()
        except queue.Empty:
            pass


class LossMeter:
    """Sum losses on the device; read them back (one host sync) only when asked."""

    def __init__(self) -> None:
        self._sum = None
        self._n = 0

    def add(self, loss) -> None:
        value = loss.detach().float()
        self._sum = value if self._sum is None else self._sum + value
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def mean(self, reset: bool = True) -> float:
        """The mean since the last reset (``nan`` if nothing was added)."""
        out = float(self._sum) / self._n if self._n else float("nan")
        if reset:
            self._sum, self._n = None, 0
        return out


def make_optimizer(params, lr: float, device: Any, **kw):
    """AdamW, fused into one kernel per step on a GPU (PyTorch's default there runs several)."""
    import torch

    fused = str(device).startswith("cuda") and torch.cuda.is_available()
    return torch.optim.AdamW(params, lr=lr, fused=fused or None, **kw)


def micro_batch_for_memory(total_bytes: float, gb_per_utterance: float = GB_PER_UTTERANCE,
                           headroom: float = MEMORY_HEADROOM, cap: int = 256, floor: int = 4) -> int:
    """The largest power of two ``B`` (``floor`` ≤ B ≤ ``cap``) with ``B * gb_per_utterance`` within
    ``headroom`` of the card's memory. 16 GB → 32, 24 GB → 32, 40 GB → 64, 80 GB → 128, 141 GB → 256."""
    fit = headroom * total_bytes / 1e9 / gb_per_utterance
    b = floor
    while b * 2 <= min(cap, fit):
        b *= 2
    return b


def gpu_micro_batch(device: Any = "cuda", **kw) -> int | None:
    """:func:`micro_batch_for_memory` for ``device``'s card; ``None`` on a CPU (the profile decides)."""
    import torch

    if not (str(device).startswith("cuda") and torch.cuda.is_available()):
        return None
    return micro_batch_for_memory(torch.cuda.get_device_properties(torch.device(device)).total_memory, **kw)


@dataclass(frozen=True)
class Schedule:
    """One fine-tuning schedule: ``steps`` optimiser steps of ``batch`` utterances."""

    batch: int
    steps: int
    learning_rate: float
    warmup_steps: int
    eval_every: int

    @property
    def utterances(self) -> int:
        return self.batch * self.steps


def scale_schedule(batch: int, ref_batch: int, ref_steps: int, ref_lr: float, ref_warmup: int,
                   ref_eval_every: int, train_size: int | None = None) -> Schedule:
    """Re-express a schedule tuned at ``ref_batch`` for ``batch`` utterances per step, learning the same.

    * the micro-batch never exceeds the training set (a step cannot see more utterances than exist);
    * steps: ``ceil(ref_steps * ref_batch / batch)`` — the same number of utterances seen;
    * learning rate: ``ref_lr * batch / ref_batch`` (linear scaling, kept safe by the warm-up);
    * warm-up and evaluation interval: the same number of utterances, so at least 1 step each.
    """
    if batch < 1 or ref_batch < 1:
        raise ValueError(f"batch sizes must be ≥ 1 (got {batch}, {ref_batch}).")
    if train_size is not None:
        batch = max(1, min(batch, train_size))
    ratio = ref_batch / batch
    return Schedule(batch=batch, steps=max(1, math.ceil(ref_steps * ratio)),
                    learning_rate=ref_lr * batch / ref_batch,
                    warmup_steps=max(1, round(ref_warmup * ratio)) if ref_warmup else 0,
                    eval_every=max(1, round(ref_eval_every * ratio)) if ref_eval_every else 0)
