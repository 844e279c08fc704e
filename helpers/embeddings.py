"""Speaker embeddings: a voice as a fixed-length vector, checked before anyone trusts it.

Why this module exists
----------------------
SpeechT5 does not learn *who* is speaking from the text: it is told, by a 512-number
*speaker embedding* (an x-vector from SpeechBrain's ``spkrec-xvect-voxceleb``, L2-normalised).
A speaker encoder maps any stretch of speech to such a vector so that two recordings of
the same person point in nearly the same direction (cosine similarity near 1) and two
people point apart. This module gives notebook 02 and the TTS notebook:

* **one interface over several encoders** — :func:`get_encoder` (``"ge2e"``, ``"xvector"``,
  ``"ecapa"``) returns an :class:`Encoder` with ``.dim`` and ``.embed(list_of_waveforms)``
  giving L2-normalised rows, in batches, with a progress bar;
* **the speaker embedding** — :func:`speaker_embedding` (re-normalised mean of per-take
  vectors), saved by :func:`save_speaker_embedding` as ``<work>/embeddings/speaker_<encoder>.npy``
  + ``.json`` and read back by :func:`load_speaker_embedding` / :func:`ensure_speaker_embedding`;
* **checks** — :func:`flag_outliers` (a take unlike the others: noise, another person),
  :func:`pair_scores` + :func:`equal_error_rate` (speaker verification), :func:`voice_margins`
  (is every voice closer to itself than to any other?), :func:`stability_curve` (how many
  seconds of speech make a stable embedding);
* **figures** — the ``plot_*`` functions (matplotlib imported inside them).

Encoders
--------
``ge2e``     resemblyzer's GE2E LSTM (256-d). Its weights ship inside the PyPI package, so it is
             *real* offline: the encoder the ``quick`` profile's measurements mean something with.
``xvector``  SpeechBrain ``speechbrain/spkrec-xvect-voxceleb`` (512-d), what SpeechT5 was trained
             with. Offline (``quick``) a random-weight *stand-in* of the same format is used instead,
             with a loud warning: its vectors have the right shape and nothing else.
``ecapa``    SpeechBrain ``speechbrain/spkrec-ecapa-voxceleb`` (192-d), a stronger verifier; hub only.

Heavy libraries (torch, resemblyzer, speechbrain, matplotlib, scikit-learn) are imported inside
the functions that need them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

SAMPLE_RATE = 16_000
ENCODER_DIMS = {"ge2e": 256, "xvector": 512, "ecapa": 192}
HUB_IDS = {"xvector": "speechbrain/spkrec-xvect-voxceleb", "ecapa": "speechbrain/spkrec-ecapa-voxceleb"}
STANDIN_NAMES = {"xvector": "spkrec-xvect-voxceleb"}
EMBEDDINGS_SUBDIR = "embeddings"

__all__ = [
    "ENCODER_DIMS", "HUB_IDS", "Encoder", "GE2EEncoder", "SpeechBrainEncoder", "get_encoder",
    "read_audio", "l2_normalize", "speaker_embedding", "cosine_matrix", "leave_one_out_similarity",
    "OutlierReport", "flag_outliers", "MIN_JUDGE_S", "STABLE_S", "pair_scores", "equal_error_rate", "voice_margins",
    "project_2d", "stability_curve", "seconds_to_stable", "embed_takes",
    "save_speaker_embedding", "load_speaker_embedding", "ensure_speaker_embedding",
    "load_reference_voices", "learner_takes",
]


# ----------------------------------------------------------------------------------------------------
# Audio
# ----------------------------------------------------------------------------------------------------

def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A mono float32 waveform at ``sample_rate`` (channels averaged, resampled with soxr if needed).

    Only reads: the file itself is never modified.
    """
    from .audio import load_mono

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: audio file missing. Rebuild the dataset (notebook 01, "
                                "helpers.prep.ensure_dataset()) or fix the path in the manifest / voices.csv.")
    return load_mono(path, sample_rate)  # errors (corrupt, empty) name the file and the fix


def _check_wavs(wavs: Sequence[np.ndarray]) -> list[np.ndarray]:
    from .audio import as_clip_list

    out = as_clip_list(wavs, "embed()", SAMPLE_RATE)
    for i, w in enumerate(out):
        if w.size < SAMPLE_RATE // 10:
            raise ValueError(f"waveform {i} is {w.size / SAMPLE_RATE:.3f} s long: a speaker embedding needs at "
                             "least 0.1 s of audio (better: 2 s or more).")
    return out


# ----------------------------------------------------------------------------------------------------
# Encoders: one interface
# ----------------------------------------------------------------------------------------------------

class Encoder:
    """A speaker encoder: ``embed(list_of_16kHz_float32_waveforms) -> (N, dim)`` L2-normalised rows."""

    name: str = "?"
    dim: int = 0
    device: str = "cpu"
    source: str = ""          # the hub id or local path the weights came from
    is_standin: bool = False  # True: random weights, vectors are meaningless

    def _embed_batch(self, wavs: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, wavs: Sequence[np.ndarray], batch_size: int = 16, progress: bool = True,
              desc: str | None = None) -> np.ndarray:
        """Embed each waveform; rows are L2-normalised float32, in the order given.

        Waveforms are batched by similar length (less padding), then put back in order.
        """
        wavs = _check_wavs(wavs)
        out = np.zeros((len(wavs), self.dim), dtype=np.float32)
        if not wavs:
            return out
        order = np.argsort([len(w) for w in wavs], kind="stable")
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        from tqdm.auto import tqdm

        bar = tqdm(total=len(wavs), desc=desc or f"{self.name} embeddings", unit="take",
                   disable=not progress or len(batches) < 2, leave=False)
        for idx in batches:
            vecs = self._embed_batch([wavs[i] for i in idx])
            out[idx] = l2_normalize(vecs)
            bar.update(len(idx))
        bar.close()
        return out

    def __repr__(self) -> str:
        kind = "STAND-IN (random weights)" if self.is_standin else "pretrained"
        return f"<{type(self).__name__} {self.name}: {self.dim}-d, {kind}, {self.device}, from {self.source}>"


class GE2EEncoder(Encoder):
    """resemblyzer's GE2E encoder (Wan et al. 2018), 256-d; weights ship with the package.

    Each utterance is volume-normalised and has long silences cut (resemblyzer's own
    ``preprocess_wav``), is cut into 1.6 s windows (``rate`` windows per second), and its
    embedding is the normalised mean of the window embeddings. Unlike resemblyzer's
    ``embed_utterance`` we run the windows of a whole batch of utterances through the LSTM together.
    """

    name = "ge2e"
    dim = 256

    def __init__(self, device: str = "cpu", weights: str | Path | None = None, rate: float = 1.3,
                 max_windows: int = 256):
        from resemblyzer import VoiceEncoder

        if weights is None:
            from .models import packaged

            weights = packaged("resemblyzer-ge2e")
        self.source = str(weights)
        self.device = device
        self.rate = rate
        self.max_windows = max_windows
        self.model = VoiceEncoder(device=device, verbose=False, weights_fpath=weights)
        self.model.eval()

    def _windows(self, wav: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav
        from resemblyzer.audio import wav_to_mel_spectrogram

        pre = preprocess_wav(wav)
        if pre.size < SAMPLE_RATE // 10:  # the VAD cut nearly everything (noise only?): use the raw audio
            pre = wav
        wav_slices, mel_slices = self.model.compute_partial_slices(len(pre), self.rate, 0.75)
        need = wav_slices[-1].stop
        if need >= len(pre):
            pre = np.pad(pre, (0, need - len(pre)))
        mel = wav_to_mel_spectrogram(pre)
        return np.stack([mel[s] for s in mel_slices]).astype(np.float32)

    def _embed_batch(self, wavs: list[np.ndarray]) -> np.ndarray:
        import torch

        windows = [self._windows(w) for w in wavs]
        counts = [len(w) for w in windows]
        mels = np.concatenate(windows)
        parts = []
        with torch.inference_mode():
            for i in range(0, len(mels), self.max_windows):
                x = torch.from_numpy(mels[i:i + self.max_windows]).to(self.device)
                parts.append(self.model(x).float().cpu().numpy())
        partial = np.concatenate(parts)
        bounds = np.cumsum([0] + counts)
        return np.stack([partial[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])


class SpeechBrainEncoder(Encoder):
    """A SpeechBrain ``EncoderClassifier`` (x-vector or ECAPA): ``encode_batch`` on padded batches."""

    def __init__(self, name: str, source: str | Path, device: str = "cpu", savedir: str | Path | None = None):
        from .models import is_standin, load_speaker_encoder_sb

        self.name = name
        self.dim = ENCODER_DIMS[name]
        self.source = str(source)
        self.device = device
        self.is_standin = bool(is_standin(source))
        # savedir None: helpers.models picks <work>/models/speechbrain/<name>
        self.model = load_speaker_encoder_sb(str(source), savedir, device=device)
        self.model.mods.eval()

    def _embed_batch(self, wavs: list[np.ndarray]) -> np.ndarray:
        import torch

        longest = max(len(w) for w in wavs)
        batch = np.zeros((len(wavs), longest), dtype=np.float32)
        for i, w in enumerate(wavs):
            batch[i, :len(w)] = w
        lens = torch.tensor([len(w) / longest for w in wavs], dtype=torch.float32)
        with torch.inference_mode():
            emb = self.model.encode_batch(torch.from_numpy(batch).to(self.device), lens.to(self.device))
        emb = emb.reshape(len(wavs), -1).float().cpu().numpy()
        if emb.shape[1] != self.dim:
            raise ValueError(f"{self.source}: the encoder gives {emb.shape[1]}-d vectors, expected {self.dim} "
                             f"for {self.name!r}. Is this the right model?")
        return emb


def get_encoder(name: str, device: str = "cpu", source: str | Path | None = None,
                allow_standin: bool = True) -> Encoder:
    """The speaker encoder ``name`` (``"ge2e"``, ``"xvector"``, ``"ecapa"``) on ``device``.

    ``source``: a local folder or hub id to load instead of the default. For ``xvector``, when
    the hub is unreachable (offline, ``quick``) and ``allow_standin`` is true, the offline
    stand-in is used (``.is_standin`` is then true, and the loader prints
    :func:`helpers.models.warn_if_standin`'s banner). ``ecapa`` has no stand-in: offline it
    raises ``ModelUnavailableError``, which says what to do.
    """
    if name not in ENCODER_DIMS:
        raise ValueError(f"Unknown encoder {name!r}: choose one of {sorted(ENCODER_DIMS)}.")
    if name == "ge2e":
        return GE2EEncoder(device=device, weights=source)
    from . import models

    if source is None:
        try:
            source = models.resolve(HUB_IDS[name])
        except models.ModelUnavailableError:
            if not (allow_standin and name in STANDIN_NAMES):
                raise
            source = models.standin(STANDIN_NAMES[name])
    return SpeechBrainEncoder(name, source, device=device)


# ----------------------------------------------------------------------------------------------------
# Vectors: normalise, average, compare
# ----------------------------------------------------------------------------------------------------

def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Scale to unit length along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def speaker_embedding(vectors: np.ndarray) -> np.ndarray:
    """The speaker's embedding: the mean of the L2-normalised per-take vectors, normalised again.

    Normalising each take first gives every take one vote, however loud or long it was.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError(f"expected per-take vectors of shape (n_takes, dim) with n_takes >= 1, got {vectors.shape}")
    return l2_normalize(l2_normalize(vectors).mean(axis=0))


def cosine_matrix(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (default: ``a`` itself)."""
    a = l2_normalize(a)
    b = a if b is None else l2_normalize(b)
    return a @ b.T


def leave_one_out_similarity(vectors: np.ndarray) -> np.ndarray:
    """Each take's cosine similarity to the centroid of *the other* takes.

    Leaving the take out matters: with few takes an odd one pulls the plain centroid
    towards itself and hides how odd it is.
    """
    v = l2_normalize(vectors)
    n = len(v)
    if n < 3:
        raise ValueError(f"need at least 3 takes to compare each with the others, got {n}")
    total = v.sum(axis=0)
    others = l2_normalize(total[None, :] - v)
    return np.sum(v * others, axis=1)


#: Takes shorter than this are "too short to judge": a speaker encoder's vector of a second of speech wobbles as
#: much between two takes of one person as between two people (measured: GE2E, real speakers). They are
#: reported, never flagged as another speaker, and never dropped by the check.
MIN_JUDGE_S = 1.5
#: Takes at least this long are "stable": the yardstick (median and MAD of similarities) is taken from them.
STABLE_S = 3.0


@dataclass
class OutlierReport:
    """Per-take similarity to the others' centroid, its robust z-score, and which takes are flagged.

    ``too_short`` marks the takes too short to judge (never flagged); ``verdicts`` says, per take,
    ``"ok"``, ``"unlike the others"`` (flagged) or ``"too short to judge"``.
    """

    ids: list[str]
    similarity: np.ndarray
    z: np.ndarray
    flagged: np.ndarray
    median: float
    mad: float
    z_threshold: float
    too_short: np.ndarray | None = None
    durations: np.ndarray | None = None

    @property
    def flagged_ids(self) -> list[str]:
        return [i for i, f in zip(self.ids, self.flagged) if f]

    @property
    def too_short_ids(self) -> list[str]:
        return [] if self.too_short is None else [i for i, f in zip(self.ids, self.too_short) if f]

    @property
    def verdicts(self) -> list[str]:
        short = self.too_short if self.too_short is not None else np.zeros(len(self.ids), bool)
        return ["too short to judge" if t else "unlike the others" if f else "ok" for f, t in zip(self.flagged, short)]

    def table(self):
        """A pandas DataFrame, most suspicious take first."""
        import pandas as pd

        df = pd.DataFrame({"id": self.ids, "similarity": self.similarity, "robust_z": self.z, "flagged": self.flagged,
                           "verdict": self.verdicts})
        if self.durations is not None:
            df.insert(1, "seconds", np.round(self.durations, 2))
        return df.sort_values("similarity").reset_index(drop=True)


def flag_outliers(vectors: np.ndarray, ids: Sequence[str] | None = None, z_threshold: float = 3.5,
                  min_mad: float = 0.02, durations: Sequence[float] | None = None,
                  min_judge_s: float = MIN_JUDGE_S, stable_s: float = STABLE_S,
                  short_power: float = 1.5) -> OutlierReport:
    """Flag takes that sound unlike the rest (noise, clipping, another person) — judging duration first.

    For each take: ``s`` = cosine similarity to the leave-one-out centroid. Robust z-score
    ``z = 0.6745 (s - median) / MAD`` (Iglewicz & Hoaglin's modified z-score: median and
    median absolute deviation, so the outliers themselves cannot drag the yardstick); a take
    is flagged when ``z < -z_threshold`` (only *low* similarity is suspicious). ``min_mad``
    keeps a very consistent set from flagging takes that differ by a hair.

    With ``durations`` (seconds of speech per take) the check respects how much a short take can say:

    * a take shorter than ``min_judge_s`` is **too short to judge**: reported, never flagged, and
      left out of the centroid and the yardstick;
    * the yardstick (median, MAD) comes from the *stable* takes (``>= stable_s``) when there are at
      least 4 of them;
    * a take shorter than the yardstick's takes is judged with a wider yardstick, ``MAD * (d_ref / d) **
      short_power`` with ``d_ref`` = the yardstick takes' median duration, at most ``stable_s``: an own
      take of 1.5 s sits well below the long takes' median (its vector wobbles), a foreign speaker's take
      far below it. A set whose takes are all short (2 s digit strings) sets its own yardstick, whose MAD
      already holds that wobble, and is not widened a second time (measured on FSDD: planted foreign
      strings caught 464/480 instead of 431/480, no genuine string flagged).

    Without ``durations`` every take is judged alike (the old behaviour).
    """
    vectors = np.asarray(vectors)
    ids = [str(i) for i in (ids if ids is not None else range(len(vectors)))]
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if len(vectors) < 4:
        raise ValueError(f"outlier flagging needs at least 4 takes, got {len(vectors)}: record more takes.")
    n = len(vectors)
    if durations is None:
        d = np.full(n, np.inf)
    else:
        d = np.asarray(durations, dtype=np.float64)
        if d.shape != (n,):
            raise ValueError(f"{d.size} durations for {n} vectors")
    short = d < min_judge_s
    judged = np.flatnonzero(~short)
    s = np.full(n, np.nan)
    z = np.zeros(n)
    flagged = np.zeros(n, dtype=bool)
    if len(judged) < 3:  # nothing long enough to compare with: judge nobody, report everything as too short
        v = l2_normalize(vectors)
        s = np.sum(v * l2_normalize(v.sum(axis=0) - v), axis=1)
        return OutlierReport(ids, s, z, flagged, float(np.median(s)), 0.0, z_threshold, np.ones(n, bool),
                             None if durations is None else d)
    v = l2_normalize(vectors)
    total = v[judged].sum(axis=0)
    # judged takes: leave themselves out; too-short takes: compared with all judged takes
    others = np.where((~short)[:, None], total[None, :] - v, total[None, :])
    s = np.sum(v * l2_normalize(others), axis=1)
    stable = judged[d[judged] >= stable_s]
    ref = stable if len(stable) >= 4 else judged
    med = float(np.median(s[ref]))
    mad = float(np.median(np.abs(s[ref] - med)))
    # the yardstick's own duration: its MAD already holds the wobble of takes that long, so a take is widened only
    # for being shorter than the takes that set it (all-short sets, e.g. 2 s digit strings, are not widened twice)
    ref_s = min(stable_s, float(np.median(d[ref]))) if np.all(np.isfinite(d[ref])) else stable_s
    widen = np.where(np.isfinite(d), np.maximum(1.0, ref_s / np.maximum(d, 1e-3)) ** short_power, 1.0)
    z = 0.6745 * (s - med) / (max(mad, min_mad) * widen)
    flagged = (z < -z_threshold) & ~short
    z = np.where(short, 0.0, z)
    return OutlierReport(ids=ids, similarity=s, z=z, flagged=flagged, median=med, mad=mad, z_threshold=z_threshold,
                         too_short=short, durations=None if durations is None else d)


def pair_scores(vectors: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of every pair of distinct utterances: (same-speaker scores, different-speaker scores)."""
    labels = np.asarray(labels)
    if len(labels) != len(vectors):
        raise ValueError(f"{len(labels)} labels for {len(vectors)} vectors")
    sim = cosine_matrix(vectors)
    iu = np.triu_indices(len(labels), k=1)
    same = labels[iu[0]] == labels[iu[1]]
    return sim[iu][same], sim[iu][~same]


def equal_error_rate(same: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """Equal error rate and its threshold, from same-speaker and different-speaker scores.

    A verifier accepts a pair when its score >= threshold. False acceptance rate
    ``FAR(t) = mean(diff >= t)``; false rejection rate ``FRR(t) = mean(same < t)``. Raising
    ``t`` trades one for the other; the EER is where they are equal (the mean of the two at the
    threshold where they are closest). 0 = perfectly separated, 0.5 = a coin toss.
    """
    same = np.asarray(same, dtype=np.float64)
    diff = np.asarray(diff, dtype=np.float64)
    if len(same) == 0 or len(diff) == 0:
        raise ValueError("EER needs at least one same-speaker and one different-speaker score")
    scores = np.unique(np.concatenate([same, diff]))
    # candidate thresholds: every score, and just above the highest one
    thresholds = np.concatenate([scores, [scores[-1] + 1e-9]])
    diff_sorted = np.sort(diff)
    same_sorted = np.sort(same)
    far = 1.0 - np.searchsorted(diff_sorted, thresholds, side="left") / len(diff)
    frr = np.searchsorted(same_sorted, thresholds, side="left") / len(same)
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2), float(thresholds[i])


def voice_margins(vectors: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For each voice: mean same-voice similarity, the nearest *other* voice and the margin between them.

    ``same`` averages the similarities of distinct utterance pairs of the voice; ``to_other[v]`` the
    similarities between its utterances and voice ``v``'s. ``margin = same - max(to_other)``:
    positive means the voice is, on average, closer to itself than to any other voice.

    A voice with a single take has no pair to compare with itself: its ``same`` and ``margin`` are NaN
    (``single_take`` True), but it is still the *other* voice of everyone else's margins.
    """
    labels = np.asarray(labels)
    if len(labels) != len(vectors):
        raise ValueError(f"{len(labels)} labels for {len(vectors)} vectors")
    sim = cosine_matrix(vectors)
    voices = list(dict.fromkeys(labels.tolist()))
    out: dict[str, dict[str, Any]] = {}
    for v in voices:
        m = labels == v
        k = int(m.sum())
        block = sim[np.ix_(m, m)]
        same = float(block[~np.eye(k, dtype=bool)].mean()) if k >= 2 else float("nan")
        to_other = {o: float(sim[np.ix_(m, labels == o)].mean()) for o in voices if o != v}
        nearest = max(to_other, key=to_other.get) if to_other else None
        out[v] = {"same": same, "nearest_other": nearest,
                  "nearest_other_sim": to_other.get(nearest, float("nan")) if nearest else float("nan"),
                  "margin": same - to_other[nearest] if nearest and k >= 2 else float("nan"), "to_other": to_other,
                  "n": k, "single_take": k == 1}
    return out


def project_2d(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates for a scatter plot: ``"pca"`` (linear, distances honest along the axes) or
    ``"tsne"`` (non-linear, keeps neighbours together; cluster sizes and gaps are not meaningful)."""
    x = l2_normalize(vectors)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                    random_state=seed).fit_transform(x)
    raise ValueError(f"Unknown projection {method!r}: use 'pca' or 'tsne'.")


# ----------------------------------------------------------------------------------------------------
# How much audio makes a stable embedding?
# ----------------------------------------------------------------------------------------------------

def stability_curve(encoder: Encoder, wavs: Sequence[np.ndarray], reference: np.ndarray,
                    seconds: Sequence[float] | None = None, orders: int = 3, seed: int = 0,
                    progress: bool = True) -> dict[str, np.ndarray]:
    """Similarity to ``reference`` of embeddings made from the first ``s`` seconds of speech.

    The takes are joined, in ``orders`` random orders, into one stream; for each ``s`` the first
    ``s`` seconds are embedded as one utterance and compared with ``reference`` (usually the
    speaker embedding from all takes). Returns ``seconds``, and per length the ``mean``, ``min``
    and ``max`` over the orders.
    """
    wavs = _check_wavs(wavs)
    total = sum(len(w) for w in wavs) / SAMPLE_RATE
    if seconds is None:
        seconds = [s for s in (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128) if s < total] + [total]
    seconds = np.array(sorted(s for s in seconds if s <= total + 1e-6), dtype=np.float64)
    if len(seconds) == 0:
        raise ValueError(f"all requested lengths exceed the {total:.1f} s of audio available")
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(orders):
        stream = np.concatenate([wavs[i] for i in rng.permutation(len(wavs))])
        clips += [stream[:int(round(s * SAMPLE_RATE))] for s in seconds]
    vecs = encoder.embed(clips, progress=progress, desc="stability")
    sims = (vecs @ l2_normalize(reference)).reshape(orders, len(seconds))
    return {"seconds": seconds, "mean": sims.mean(axis=0), "min": sims.min(axis=0), "max": sims.max(axis=0),
            "all": sims}


def seconds_to_stable(curve: dict[str, np.ndarray], threshold: float = 0.95, use: str = "min") -> float | None:
    """The shortest length from which the curve (``use``: ``"min"`` over orders, or ``"mean"``)
    stays at or above ``threshold``; ``None`` if it never gets there."""
    values = curve[use]
    ok = values >= threshold
    for i in range(len(ok)):
        if ok[i:].all():
            return float(curve["seconds"][i])
    return None


# ----------------------------------------------------------------------------------------------------
# Data: the learner's takes, the reference voices, cached per-take embeddings
# ----------------------------------------------------------------------------------------------------

def load_reference_voices(sample_data: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows of ``sample_data/voices/voices.csv`` (voice, path, transcript, engine) with an absolute ``audio_path``."""
    import csv

    if sample_data is None:
        from .config import SAMPLE_DATA

        sample_data = SAMPLE_DATA
    voices_dir = Path(sample_data) / "voices"
    index = voices_dir / "voices.csv"
    if not index.exists():
        raise FileNotFoundError(f"{index}: reference voices missing. Regenerate them with "
                                "`make sample-data` (scripts/make_sample_data.py).")
    with index.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    need = {"voice", "path"}
    if not rows or not need <= set(rows[0]):
        raise ValueError(f"{index}: expected columns {sorted(need)} (+ transcript, engine); "
                         f"found {sorted(rows[0]) if rows else 'no rows'}. Regenerate it with `make sample-data`.")
    for r in rows:
        p = Path(r["path"])
        r["audio_path"] = str(p if p.is_absolute() else (voices_dir / p if (voices_dir / p).exists() else Path(sample_data) / p))
        r["id"] = Path(r["path"]).stem if "id" not in r else r["id"]
    return rows


def learner_takes(work: str | Path | None = None, splits: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The learner's usable takes from notebook 01's dataset (:func:`helpers.prep.ensure_dataset`).

    Rows of ``manifest.jsonl`` with an absolute ``audio_path``; ``splits`` keeps only those splits. The dataset is
    built from ``sample_data`` only when the learner asked for the sample (no ``SPEECHLAB_RAW_DIR`` and nothing of
    the learner's in ``<work>/dataset``); a missing or empty dataset of the learner's own stops with the reason.
    """
    from .prep import ensure_dataset, load_manifest

    rows = load_manifest(ensure_dataset(work))
    if splits is not None:
        keep = set(splits)
        rows = [r for r in rows if r.get("split") in keep]
    if not rows:
        raise ValueError("the dataset has no usable takes" + (f" in splits {sorted(set(splits))}" if splits else "")
                         + ": re-run notebook 01 on your recordings (its report.csv says why takes were excluded).")
    return rows


def _file_key(path: str | Path) -> str:
    st = Path(path).stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def embed_takes(encoder: Encoder, rows: Sequence[dict[str, Any]], cache: str | Path | None = None,
                batch_size: int = 16, progress: bool = True) -> np.ndarray:
    """Per-take vectors for ``rows`` (each with ``id`` and ``audio_path``), cached in ``cache`` (.npz).

    The cache remembers, per take, the encoder's source and the audio file's size and
    modification time: only new or changed takes are embedded again, so a re-run (or a
    run interrupted half-way) costs only what is missing.
    """
    keys = [f"{r['id']}|{_file_key(r['audio_path'])}|{encoder.source}" for r in rows]
    known: dict[str, np.ndarray] = {}
    cache = Path(cache) if cache else None
    if cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                if int(z["dim"]) == encoder.dim:
                    known = dict(zip(z["keys"].tolist(), z["vectors"]))
        except Exception:  # a damaged cache is only a cache: recompute
            known = {}
    todo = [i for i, k in enumerate(keys) if k not in known]
    if todo:
        vecs = encoder.embed([read_audio(rows[i]["audio_path"]) for i in todo], batch_size=batch_size,
                             progress=progress, desc=f"{encoder.name} embeddings")
        for i, v in zip(todo, vecs):
            known[keys[i]] = v
    out = np.stack([known[k] for k in keys]).astype(np.float32)
    if cache and todo:
        from .files import atomic_path

        with atomic_path(cache, suffix=".npz") as tmp:
            np.savez(tmp, keys=np.array(keys), vectors=out, ids=np.array([r["id"] for r in rows]),
                     dim=encoder.dim, encoder=encoder.name, source=encoder.source)
    return out


# ----------------------------------------------------------------------------------------------------
# The file the TTS notebook loads
# ----------------------------------------------------------------------------------------------------

def _paths(work: str | Path | None, encoder: str) -> tuple[Path, Path]:
    if work is None:
        from .config import work_dir

        work = work_dir()
    folder = Path(work) / EMBEDDINGS_SUBDIR
    return folder / f"speaker_{encoder}.npy", folder / f"speaker_{encoder}.json"


def save_speaker_embedding(work: str | Path | None, encoder: Encoder | str, vector: np.ndarray,
                           takes: Sequence[str], source_dataset: str | Path, **extra: Any) -> Path:
    """Write ``speaker_<encoder>.npy`` (float32, shape (dim,), L2-normalised) + ``.json`` metadata, atomically."""
    from .files import atomic_path, write_json

    name = encoder if isinstance(encoder, str) else encoder.name
    vector = l2_normalize(np.asarray(vector, dtype=np.float32).reshape(-1))
    if name in ENCODER_DIMS and vector.shape != (ENCODER_DIMS[name],):
        raise ValueError(f"a {name} embedding must have shape ({ENCODER_DIMS[name]},), got {vector.shape}")
    npy, meta_path = _paths(work, name)
    meta = {"encoder": name, "dim": int(vector.shape[0]), "n_takes": len(takes), "takes": list(takes),
            "source_dataset": str(source_dataset),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if not isinstance(encoder, str):
        meta.update({"model": encoder.source, "standin": encoder.is_standin,
                     "meaningful": not encoder.is_standin})
    meta.update(extra)
    with atomic_path(npy, suffix=".npy") as tmp:
        np.save(tmp, vector)
    write_json(meta_path, meta)
    return npy


def load_speaker_embedding(work: str | Path | None = None, encoder: str = "xvector") -> tuple[np.ndarray, dict]:
    """Read ``<work>/embeddings/speaker_<encoder>.npy`` and its metadata; check shape and norm."""
    npy, meta_path = _paths(work, encoder)
    if not npy.exists():
        raise FileNotFoundError(f"{npy}: no {encoder} speaker embedding yet. Run notebook 02 "
                                f"(or helpers.embeddings.ensure_speaker_embedding(work, {encoder!r})).")
    vec = np.load(npy, allow_pickle=False)
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {"encoder": encoder}
    dim = ENCODER_DIMS.get(encoder, vec.shape[-1])
    if vec.shape != (dim,) or vec.dtype != np.float32 or not np.isfinite(vec).all() \
            or abs(float(np.linalg.norm(vec)) - 1) > 1e-3:
        raise ValueError(f"{npy}: expected an L2-normalised float32 vector of shape ({dim},), got "
                         f"{vec.dtype} {vec.shape}. Delete it and re-run notebook 02.")
    return vec, meta


def ensure_speaker_embedding(work: str | Path | None = None, encoder: str = "xvector", device: str = "cpu",
                             splits: Iterable[str] = ("train", "validation"), progress: bool = True) -> tuple[np.ndarray, dict]:
    """Load the speaker embedding, computing it first from the learner's dataset if it is missing.

    Takes from ``splits`` are embedded; takes flagged as outliers by GE2E (the offline encoder
    whose vectors mean something) are left out, as notebook 02 does.
    """
    try:
        return load_speaker_embedding(work, encoder)
    except FileNotFoundError:
        pass
    from .config import work_dir

    work = Path(work) if work is not None else work_dir()
    rows = learner_takes(work, splits=splits)
    emb_dir = work / EMBEDDINGS_SUBDIR
    exclude: list[str] = []
    enc = get_encoder(encoder, device=device)
    if len(rows) >= 4:  # leave out takes that GE2E (meaningful offline) finds unlike the rest
        judge = enc if encoder == "ge2e" else get_encoder("ge2e", device=device)
        g = embed_takes(judge, rows, emb_dir / "takes_ge2e.npz", progress=progress)
        durations = [float(r.get("duration_s") or len(read_audio(r["audio_path"])) / SAMPLE_RATE) for r in rows]
        exclude = flag_outliers(g, [r["id"] for r in rows], durations=durations).flagged_ids  # short takes: kept
    vecs = embed_takes(enc, rows, emb_dir / f"takes_{encoder}.npz", progress=progress)
    keep = [i for i, r in enumerate(rows) if r["id"] not in set(exclude)]
    vec = speaker_embedding(vecs[keep])
    dataset_dir = Path(rows[0]["audio_path"]).parent.parent
    save_speaker_embedding(work, enc, vec, [rows[i]["id"] for i in keep], dataset_dir,
                           excluded_outliers=exclude, splits=list(splits))
    return load_speaker_embedding(work, encoder)


# ----------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------

def _ax(ax, figsize=(6, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_similarity_matrix(sim: np.ndarray, labels: Sequence[str] | None = None, ax=None,
                           title: str = "Cosine similarity between takes", vmin: float | None = None):
    """A heat map of a similarity matrix; a dark row/column is a take unlike the others."""
    ax = _ax(ax)
    off = sim[~np.eye(len(sim), dtype=bool)] if len(sim) > 1 else sim.ravel()
    im = ax.imshow(sim, cmap="viridis", vmin=vmin if vmin is not None else float(np.floor(off.min() * 20) / 20), vmax=1.0)
    if labels is not None and len(labels) <= 40:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity")
    return ax


def plot_projection(xy: np.ndarray, labels: Sequence[str], highlight: str | None = None, ax=None,
                    title: str = "Takes in 2-D", marked: Sequence[int] = ()):
    """Scatter of 2-D coordinates coloured by voice; ``highlight`` drawn as large stars, ``marked`` circled."""
    import matplotlib.pyplot as plt

    ax = _ax(ax, (6.5, 5))
    labels = np.asarray(labels)
    voices = list(dict.fromkeys(labels.tolist()))
    cmap = plt.get_cmap("tab10" if len(voices) <= 10 else "tab20")
    for i, v in enumerate(voices):
        m = labels == v
        big = v == highlight
        ax.scatter(xy[m, 0], xy[m, 1], s=140 if big else 35, marker="*" if big else "o", color=cmap(i % cmap.N),
                   edgecolor="black" if big else "none", linewidth=0.6, label=v, zorder=3 if big else 2)
    for j in marked:
        ax.scatter(xy[j, 0], xy[j, 1], s=300, facecolor="none", edgecolor="red", linewidth=1.5, zorder=4)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_take_similarity(report: OutlierReport, ax=None, title: str = "Each take vs the others' centroid"):
    """Bars of per-take similarity to the leave-one-out centroid; flagged takes in red, with the cut-off."""
    ax = _ax(ax, (max(6, 0.25 * len(report.ids)), 3.5))
    colors = ["tab:red" if f else "tab:blue" for f in report.flagged]
    ax.bar(range(len(report.ids)), report.similarity, color=colors)
    cut = report.median - report.z_threshold * max(report.mad, 0.02) / 0.6745
    ax.axhline(report.median, color="gray", lw=1, label=f"median {report.median:.3f}")
    ax.axhline(cut, color="tab:red", lw=1, ls="--", label=f"flag below {cut:.3f} (robust z < -{report.z_threshold})")
    lo = min(float(report.similarity.min()), cut) - 0.05
    ax.set_ylim(max(-1.0, lo), 1.0)
    if len(report.ids) <= 60:
        ax.set_xticks(range(len(report.ids)), report.ids, rotation=90, fontsize=7)
    ax.set_ylabel("cosine similarity")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_verification(same: np.ndarray, diff: np.ndarray, eer: float, threshold: float, ax=None,
                      title: str = "Speaker verification on the reference voices"):
    """Histograms of same-voice and different-voice pair scores, with the EER threshold."""
    ax = _ax(ax, (6.5, 3.8))
    bins = np.linspace(min(same.min(), diff.min()), 1.0, 40)
    ax.hist(diff, bins=bins, alpha=0.6, density=True, label=f"different voice ({len(diff)} pairs)", color="tab:orange")
    ax.hist(same, bins=bins, alpha=0.6, density=True, label=f"same voice ({len(same)} pairs)", color="tab:blue")
    ax.axvline(threshold, color="black", ls="--", lw=1, label=f"EER threshold {threshold:.3f} (EER {eer:.1%})")
    ax.set_xlabel("cosine similarity of a pair of utterances")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def plot_stability(curve: dict[str, np.ndarray], threshold: float = 0.95, ax=None,
                   title: str = "How much speech makes a stable embedding?"):
    """Similarity to the all-takes embedding vs seconds of speech used (band: min-max over orders)."""
    ax = _ax(ax, (6.5, 3.8))
    s = curve["seconds"]
    ax.fill_between(s, curve["min"], curve["max"], alpha=0.25, label="range over take orders")
    ax.plot(s, curve["mean"], marker="o", label="mean")
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"stable: ≥ {threshold}")
    stable = seconds_to_stable(curve, threshold)
    if stable is not None:
        ax.axvline(stable, color="tab:green", ls=":", lw=1.5, label=f"stable from {stable:g} s")
    ax.set_xscale("log")
    ax.set_xlabel("seconds of speech")
    ax.set_ylabel("cosine similarity to all-takes embedding")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return ax
