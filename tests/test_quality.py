"""helpers.quality: DNSMOS (speechmos's ONNX models, offline) on real speech — a real take vs the same take in noise.

Real speech: one of the home reader's takes (helpers.realspeech; skipped, saying why, when the corpus is absent).
About 10 s on 2 busy cores (the models load once; each clip is at most 3 windows of 9 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import quality as Q
from helpers import realspeech as RS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def take():
    """A home-reader take of 4.6-5.4 s, as recorded (44.1 kHz: resampling is dnsmos()'s job). Repeated to fill
    DNSMOS's 9.01 s input it makes exactly one window, so the test costs three model runs in all."""
    if RS.root() is None:
        pytest.skip(RS.SKIP_REASON)
    import soundfile as sf

    rows = [r for r in RS.homereader_rows() if 4.6 <= sf.info(r["path"]).duration <= 5.4]
    row = min(rows, key=lambda r: r["id"])
    audio, sr = sf.read(row["path"], dtype="float32")
    return audio, sr


@pytest.fixture(scope="module")
def scores(take):
    """DNSMOS of the take and of the same take with white noise at 0 dB SNR (as loud as the speech)."""
    audio, sr = take
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    noisy = audio + np.random.default_rng(0).standard_normal(audio.size).astype(np.float32) * rms
    noisy = noisy / max(1.0, float(np.abs(noisy).max()))
    clean_s, noisy_s = Q.dnsmos_many([(audio, sr), (noisy, sr)], progress=False)
    return clean_s, noisy_s


def test_real_speech_scores_higher_than_the_same_take_in_noise(scores):
    clean, noisy = scores
    for s in (clean, noisy):
        assert set(s) == set(Q.KEYS) and all(isinstance(v, float) for v in s.values())
        assert all(1.0 <= v <= 5.0 for v in s.values()), s
    # the noise is what BAK and OVRL are about: the real take must win on both, clearly
    assert clean["bak"] - noisy["bak"] >= 1.0, (clean, noisy)
    assert clean["ovrl"] - noisy["ovrl"] >= 0.5, (clean, noisy)
    assert clean["p808"] > noisy["p808"], (clean, noisy)


def test_scores_are_speechmos_own(take, scores):
    """The same models and arithmetic as ``speechmos.dnsmos.run`` (one window here, so nothing is left out)."""
    from speechmos import dnsmos as SM

    audio, sr = take
    x = Q._prepare(audio, sr)
    assert len(Q._windows(x, None)) == 1
    ref = SM.run(x, Q.SAMPLE_RATE)
    for k in Q.KEYS:
        assert abs(scores[0][k] - float(ref[f"{k}_mos"])) < 1e-4, (k, scores[0], ref)


def test_long_clips_score_at_most_three_evenly_spaced_windows():
    x = np.zeros(int(8.4 * Q.SAMPLE_RATE), np.float32)  # repeated to 16.8 s: speechmos scores 7 windows
    every = Q._windows(x, None)
    three = Q._windows(x, Q.MAX_WINDOWS)
    assert len(every) == 7 and len(three) == 3
    assert all(w.size == int(Q.WINDOW_S * Q.SAMPLE_RATE) for w in every)
    ramp = np.arange(int(20 * Q.SAMPLE_RATE), dtype=np.float32)  # each window's first sample says where it starts
    all_starts = [int(w[0]) for w in Q._windows(ramp, None)]
    starts = [int(w[0]) for w in Q._windows(ramp, 3)]
    assert len(starts) == 3 and set(starts) <= set(all_starts)
    assert starts[0] == all_starts[0] == 0 and starts[-1] == all_starts[-1]


def test_short_or_empty_audio_is_refused_with_the_reason():
    with pytest.raises(Q.QualityError, match="empty"):
        Q.dnsmos(np.zeros(0, np.float32), 16000)
    with pytest.raises(Q.QualityError, match="at least 1 s.*0.50 s"):
        Q.dnsmos(np.zeros(22050, np.float32), 44100)
    with pytest.raises(Q.QualityError, match="item 1"):
        Q.dnsmos_many([(np.zeros(16000, np.float32), 16000), (np.zeros(100, np.float32), 16000)])
    with pytest.raises(Q.QualityError, match="NaN"):
        Q.dnsmos(np.full(16000, np.nan, np.float32), 16000)
    assert Q.dnsmos_many([]) == []


def test_docstring_says_what_dnsmos_does_not_measure():
    doc = Q.__doc__.lower()
    for words in ("intelligibility", "speaker similarity", "prosody", "synthetic speech", "dns"):
        assert words in doc, words


def test_import_is_light():
    code = ("import sys, helpers.quality; heavy = [m for m in ('speechmos', 'onnxruntime', 'librosa', 'torch') "
            "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
