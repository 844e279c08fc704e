"""helpers.asr: the offline recognisers really recognise, are timed, and fail fast and clearly."""

import time

import numpy as np
import pytest

from helpers import asr, metrics
from helpers.models import ModelUnavailableError

from _asr_audio import piper_speech

TEXTS = ("The quick brown fox jumps over the lazy dog.",
         "Please call Stella and ask her to bring these things.",
         "We bought 3 red apples at the market.")


@pytest.fixture(scope="module")
def speech():
    return list(piper_speech(TEXTS))


@pytest.fixture(scope="module")
def whisper():
    return asr.get_backend("whisper-tiny.en")


def test_whisper_tiny_recognises_clear_speech(whisper, speech):
    hyps = whisper.transcribe(speech)
    assert len(hyps) == len(TEXTS)
    assert metrics.wer(list(TEXTS), hyps) < 0.15, hyps
    t = whisper.last_timing
    assert t.audio_s == pytest.approx(sum(len(a) for a in speech) / 16000)
    assert 0 < t.rtf < 2.0                              # tiny.en int8 is faster than real time on a CPU
    assert 50 < whisper.size_mb < 200                    # the CTranslate2 folder (~78 MB)


def test_whisper_base_recognises_clear_speech(speech):
    base = asr.get_backend("whisper-base", cpu_threads=2)
    hyps = base.transcribe(speech)
    assert metrics.wer(list(TEXTS), hyps) < 0.15, hyps
    assert base.name == "whisper-base" and "Whisper base" in base.description
    assert 100 < base.size_mb < 200                      # the joined CTranslate2 folder (~148 MB)


def test_pocketsphinx_recognises_something_and_is_worse_than_whisper(whisper, speech):
    ps = asr.get_backend("pocketsphinx")
    ps_summary, rows = asr.evaluate(ps, speech, list(TEXTS), ids=["a", "b", "c"])
    wh_summary, _ = asr.evaluate(whisper, speech, list(TEXTS))
    assert ps_summary["wer"] < 0.7                        # it hears most words
    assert ps_summary["cer"] < 0.4
    assert ps_summary["system"] == "pocketsphinx" and ps_summary["rtf"] > 0 and ps_summary["size_mb"] > 10
    assert [r["id"] for r in rows] == ["a", "b", "c"] and all(r["hyp"] == r["hyp"].strip() for r in rows)
    assert wh_summary["wer"] <= ps_summary["wer"]
    assert ps_summary["substitutions"] + ps_summary["deletions"] + ps_summary["insertions"] == \
        pytest.approx(ps_summary["wer"] * ps_summary["ref_words"])


def test_silence_gives_no_words(whisper):
    ps = asr.get_backend("pocketsphinx")
    silence = np.zeros(16000, dtype=np.float32)
    assert len(ps.transcribe([silence])[0].split()) <= 1
    assert whisper.transcribe([]) == []


def test_bad_audio_shape_is_explained(whisper):
    with pytest.raises(TypeError, match="LIST"):
        whisper.transcribe(np.zeros(16000, dtype=np.float32))
    with pytest.raises(ValueError, match="mono"):
        whisper.transcribe([np.zeros((16000, 2), dtype=np.float32)])
    with pytest.raises(ValueError, match="unknown ASR backend"):
        asr.get_backend("nope")


def test_whisper_decoding_settings_are_parameters(speech):
    """Beam size and timestamps are visible settings (notebook 04's parameters cell); both decode clear speech."""
    beam5 = asr.get_backend("whisper-tiny.en", beam_size=5, timestamps=True)
    assert (beam5.beam_size, beam5.timestamps) == (5, True) and "beam 5" in beam5.description
    hyps = beam5.transcribe(speech[:2])
    assert metrics.wer(list(TEXTS[:2]), hyps) < 0.15, hyps
    default = asr.get_backend("whisper-tiny.en")
    assert (default.beam_size, default.timestamps) == (1, False)
    with pytest.raises(ValueError, match="beam_size"):
        asr.get_backend("whisper-tiny.en", beam_size=0)
    with pytest.raises(ValueError, match="only the Whisper backends"):
        asr.get_backend("pocketsphinx", beam_size=5)


def test_hub_backends_fail_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in asr.HUB_BACKENDS:
        start = time.perf_counter()
        with pytest.raises(ModelUnavailableError):
            asr.get_backend(name)
        assert time.perf_counter() - start < 10, name
