"""Real speech for the ASR tests (engineer 04): short sentences spoken by the packaged Piper "joe" voice.

Piper ships inside a pip package, so the tests need no network and no sample data; its output is
real, intelligible speech, which is what a recogniser test needs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def piper_speech(texts: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """16 kHz mono float32 arrays, one per text."""
    import soxr
    from piper import PiperVoice

    from helpers import models

    voice = PiperVoice.load(str(models.packaged("piper-joe")))
    out = []
    for text in texts:
        chunks = list(voice.synthesize(text))
        audio = np.concatenate([c.audio_float_array for c in chunks])
        out.append(soxr.resample(audio, chunks[0].sample_rate, 16000).astype(np.float32))
    return tuple(out)
