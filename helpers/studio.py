"""An in-notebook recording studio: read a prompt, record it, hear it, keep it or redo it.

Why this module exists
----------------------
Recording in Audacity and renaming ``take_017.wav`` by hand is where home TTS datasets go wrong:
a take saved under the wrong name, an old take overwritten, a clipped sentence noticed a week
later. The studio shows the next prompt of ``prompts.csv`` (``filename,transcript``), records it
from the browser's microphone, plays it back, draws its waveform, and checks it at once (too
quiet, clipped, too much silence, too short or long). A kept take is written as a 16-bit WAV
named after its prompt (``take_017.flac`` in the CSV -> ``take_017.wav``) into your raw folder.

How the audio travels (no FFmpeg anywhere)
------------------------------------------
The browser captures raw PCM with the Web Audio API (``getUserMedia`` -> an ``AudioWorklet``,
or a ``ScriptProcessor`` where worklets are missing) with echo cancellation, noise suppression
and automatic gain **off** (you want your voice, not the browser's idea of it). When you press
*Stop* it sends the samples to the kernel as one binary message of 16-bit integers. The kernel
resamples them with ``soxr`` to ``sample_rate`` (44.1 kHz, like the Audacity takes) and checks
them. ``MediaRecorder`` would hand over WebM/Opus, which needs FFmpeg to decode — so it is not used.

Safety and resuming
-------------------
* A take that already exists (any ``take_017.*`` in the raw folder) is never overwritten without
  asking: :meth:`Studio.keep` raises :class:`TakeExistsError` and the widget asks "Replace?".
  A replaced take is moved to ``<raw>/.replaced/`` rather than deleted.
* What is done is read from the raw folder itself, so you can stop at any time, restart the
  kernel, and the studio opens on the first prompt that has no take yet.
* Files are written atomically (:mod:`helpers.files`): a crash never leaves half a WAV.

Consent
-------
``Studio(..., consent_name="Ana Li", consent_purpose="...")`` puts the **consent statement** first ("I, Ana Li,
agree that my recordings may be used to train a synthetic voice of me, for ..."), saved as ``consent.wav``
(:data:`helpers.prompts.CONSENT_FILE`; a table may also list that row itself). Prep keeps it out of the training
data; notebook 02 checks it is the same speaker as the takes (:mod:`helpers.consent`).

Without a browser (papermill, nbval, CI) the widget cannot record; :meth:`Studio.show` says so
and the notebook goes on with the takes it was given (``continuing_with``).

The kernel-side logic (:class:`Studio`, :func:`assess_take`) is plain Python and is what
``tests/test_studio.py`` tests; ``tests/test_studio_browser.py`` records through the widget in a
real headless Chromium with a fake microphone.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .files import write_wav

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif")
STUDIO_MARKER = "speechlab-studio"  # CSS class of the widget's root element (the browser test finds it by this)


class TakeExistsError(FileExistsError):
    """Raised by :meth:`Studio.keep` when the prompt already has a take and ``overwrite`` was not given."""


# --------------------------------------------------------------------------------------------
# Quality checks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TakeLimits:
    """Thresholds of the per-take checks. The defaults suit TTS training data recorded at home.

    Levels are dBFS (0 = the loudest a 16-bit file can hold). Speech level is the RMS of the
    frames the energy detector counts as speech, so pauses do not drag it down.
    """

    quiet_dbfs: float = -35.0          # speech RMS below this: too quiet (noise and hiss will dominate)
    clip_level: float = 0.999          # |sample| at or above this fraction of full scale counts as clipped
    clip_fraction: float = 1e-3        # more than this share of clipped samples: clipped (as helpers.prep)
    max_lead_s: float = 1.0            # silence before the first word
    max_trail_s: float = 1.0           # silence after the last word
    max_silence_fraction: float = 0.5  # share of the take without speech
    min_speech_s: float = 0.5          # less speech than this: too short (as helpers.prep)
    max_duration_s: float = 15.0       # longer takes are hard to align; TTS recipes and helpers.prep drop them
    chars_per_s: float = 14.0          # typical read-speech rate, to compare speech length with the text
    min_text_ratio: float = 0.4        # speech shorter than this x the length the text suggests: cut short?


@dataclass
class Problem:
    code: str        # "clipped" | "too_quiet" | "no_speech" | "too_short" | "too_long" | "too_much_silence" | "cut_short"
    severity: str    # "redo" (record again) or "check" (listen, then decide)
    message: str     # what is wrong and what to do about it


@dataclass
class TakeReport:
    """What :func:`assess_take` measured, and its verdict: ``good``, ``check`` or ``redo``."""

    duration_s: float
    speech_s: float
    lead_s: float
    trail_s: float
    peak_dbfs: float
    speech_dbfs: float
    clipped_fraction: float
    problems: list[Problem] = field(default_factory=list)
    prep: dict[str, Any] | None = None   # notebook 01's verdict on this take (helpers.prep.process_take), if run

    @property
    def verdict(self) -> str:
        if any(p.severity == "redo" for p in self.problems):
            return "redo"
        return "check" if self.problems else "good"

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}

    def summary(self) -> str:
        head = {"good": "Good take.", "check": "Listen before you keep it:", "redo": "Record this one again:"}[self.verdict]
        lines = [head] + [f"  - {p.message}" for p in self.problems]
        lines.append(f"  ({self.duration_s:.1f} s, speech {self.speech_s:.1f} s, level {self.speech_dbfs:.0f} dBFS, "
                     f"peak {self.peak_dbfs:.1f} dBFS)")
        if self.prep:
            p = self.prep
            said = "keeps it" if p.get("verdict") == "ok" else f"leaves it out ({p.get('reason')})"
            snr = f", SNR {p['snr_db']:.0f} dB" if isinstance(p.get("snr_db"), (int, float)) else ""
            lines.append(f"  Notebook 01's prep {said}{snr}.")
        return "\n".join(lines)


def _db(x: float) -> float:
    return float(20.0 * np.log10(max(float(x), 1e-10)))


def speech_frames(audio: np.ndarray, sample_rate: int, frame_s: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Frame RMS levels (dBFS) and a boolean mask of frames that hold speech.

    A simple energy detector, good enough for a quiet room: a frame is speech when it is at least
    12 dB above the noise floor (the 10th percentile of frame levels; at most 25 dB below the
    loudest frame), louder than -55 dBFS, and within 40 dB of the loudest frame.
    """
    hop = max(1, int(round(frame_s * sample_rate)))
    n = len(audio) // hop
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    frames = audio[: n * hop].reshape(n, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    level = 20.0 * np.log10(np.maximum(rms, 1e-10))
    floor = float(np.percentile(level, 10))
    loudest = float(level.max())
    # floor + 12 dB, but never above loudest - 25 dB: a take that is nearly all speech has its
    # 10th percentile inside the speech, and soft consonants sit 20-30 dB below the vowels.
    threshold = max(min(floor + 12.0, loudest - 25.0), -55.0, loudest - 40.0)
    return level, level > threshold


def assess_take(audio: np.ndarray, sample_rate: int, text: str | None = None,
                limits: TakeLimits = TakeLimits()) -> TakeReport:
    """Check one take (mono float samples in [-1, 1]) the moment it is recorded.

    >>> assess_take(np.zeros(16000, np.float32), 16000).verdict
    'redo'
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"assess_take expects mono samples (1-D), got shape {audio.shape}")
    frame_s = 0.02
    duration = len(audio) / float(sample_rate)
    level, is_speech = speech_frames(audio, sample_rate, frame_s)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    clipped = float(np.mean(np.abs(audio) >= limits.clip_level)) if len(audio) else 0.0
    if is_speech.any():
        idx = np.flatnonzero(is_speech)
        lead = idx[0] * frame_s
        trail = max(0.0, duration - (idx[-1] + 1) * frame_s)
        speech_s = float(is_speech.sum() * frame_s)
        speech_db = 10.0 * np.log10(np.mean(10.0 ** (level[is_speech] / 10.0)))  # energy mean of speech frames
    else:
        lead, trail, speech_s, speech_db = duration, 0.0, 0.0, _db(0.0)
    rep = TakeReport(duration_s=duration, speech_s=speech_s, lead_s=float(lead), trail_s=float(trail),
                     peak_dbfs=_db(peak), speech_dbfs=float(speech_db), clipped_fraction=clipped)
    add = rep.problems.append
    if speech_s < 0.1:
        add(Problem("no_speech", "redo", "No speech heard. Is the right microphone selected and unmuted?"))
    else:
        if clipped > limits.clip_fraction:
            add(Problem("clipped", "redo", f"Clipped: {clipped * 100:.2f}% of samples hit full scale (distortion you "
                                             "cannot remove). Turn the input gain down or move back a little."))
        if speech_db < limits.quiet_dbfs:
            add(Problem("too_quiet", "redo", f"Too quiet: speech at {speech_db:.0f} dBFS (aim for -25 to -12). "
                                               "Move closer or raise the input gain."))
        if speech_s < limits.min_speech_s:
            add(Problem("too_short", "redo", f"Too short: only {speech_s:.2f} s of speech."))
        elif text and speech_s < limits.min_text_ratio * len(text) / limits.chars_per_s:
            expect = len(text) / limits.chars_per_s
            add(Problem("cut_short", "check", f"Shorter than the text suggests ({speech_s:.1f} s of speech for about "
                                                f"{expect:.0f} s of text): did you read all of it?"))
        if lead > limits.max_lead_s or trail > limits.max_trail_s:
            add(Problem("too_much_silence", "check", f"Long silence ({lead:.1f} s before, {trail:.1f} s after the speech). "
                                                       "Start speaking sooner / stop sooner; prep trims it, but it costs time."))
        elif speech_s >= limits.min_speech_s and 1.0 - speech_s / duration > limits.max_silence_fraction:
            silence = (1 - speech_s / duration) * 100
            add(Problem("too_much_silence", "check", f"Mostly silence ({silence:.0f}% of the take)."))
    if duration > limits.max_duration_s:
        add(Problem("too_long", "check", f"Long take ({duration:.1f} s > {limits.max_duration_s:.0f} s): TTS recipes drop "
                                          "long utterances; split the sentence into two prompts."))
    return rep


_PREP_SAME = {"clipped": "clipped", "too_short": "too_short", "silent": "no_speech", "too_long": "too_long"}
_PREP_ADVICE = {
    "transcript_mismatch": "the speaking rate does not fit the text: did you read the prompt as written?",
    "missing_transcript": "the prompt has no transcript.",
}


def prep_check(audio: np.ndarray, sample_rate: int, text: str, report: TakeReport | None = None,
               settings: Any = None) -> dict[str, Any] | None:
    """Run notebook 01's own pipeline (:func:`helpers.prep.process_take`) on a take, as prep will later.

    ``settings``: the notebook's :class:`helpers.prep.PrepSettings` (trim method, limits); None: prep's defaults.

    Adds its exclusion reason and warnings to ``report`` (without repeating what :func:`assess_take`
    already said) and returns its report row; None if ``helpers.prep`` cannot be used here.
    """
    import tempfile

    try:
        import soundfile as sf

        from . import prep
    except Exception:  # prep or its dependencies missing: the studio's own checks still apply
        return None
    with tempfile.TemporaryDirectory(prefix="speechlab-studio-") as d:
        path = Path(d) / "take.wav"
        sf.write(path, audio, sample_rate, subtype="PCM_16")
        row, _ = prep.process_take(path, text, settings if settings is not None else prep.PrepSettings())
    keep = {k: row.get(k) for k in ("verdict", "reason", "warnings", "snr_db", "chars_per_s", "speech_s") if k in row}
    if report is not None:
        report.prep = keep
        reason = row.get("reason") or ""
        if row.get("verdict") != "ok" and _PREP_SAME.get(reason) not in report.codes:
            advice = _PREP_ADVICE.get(reason, "")
            why = f"Notebook 01's prep would leave this take out ({reason})" + (f": {advice}" if advice else ".")
            report.problems.append(Problem(f"prep_{reason}", "redo", why))
        if row.get("warnings"):
            report.problems.append(Problem("prep_warning", "check", f"Notebook 01's prep notes: {row['warnings']}."))
    return keep


# --------------------------------------------------------------------------------------------
# Prompts and the raw folder
# --------------------------------------------------------------------------------------------
@dataclass
class Prompt:
    filename: str      # as written in prompts.csv, e.g. "take_017.flac"
    text: str

    @property
    def stem(self) -> str:
        return Path(self.filename).stem

    @property
    def save_name(self) -> str:
        """The studio always writes WAV (no encoder needed): ``take_017.flac`` -> ``take_017.wav``."""
        return self.stem + ".wav"


def read_prompts(prompts_csv: str | Path) -> tuple[list[Prompt], list[str]]:
    """The prompts to record, read by the series' one table reader (:func:`helpers.prompts.read_prompts`: the
    same layouts, encodings and checks as notebook 01's prep). Returns (prompts with text, names skipped for an
    empty transcript). Raises ``FileNotFoundError`` / ``ValueError`` (:class:`helpers.prompts.PromptsError`) with the fix."""
    from .prompts import PromptsError, read_prompts as read_table

    table = read_table(prompts_csv)
    prompts = [Prompt(p.name, p.text) for p in table if p.text]
    skipped = [p.name for p in table if not p.text]
    if not prompts:
        raise PromptsError(f"{table.path} has no row with a transcript: nothing to record.")
    return prompts, skipped


def existing_take(raw_dir: Path, stem: str) -> Path | None:
    """The file in ``raw_dir`` holding the take ``stem`` (any audio extension, any Unicode form or case of the
    extension, as :func:`helpers.prompts.take_key` matches them), or None."""
    from .prompts import take_key

    if not raw_dir.is_dir():
        return None
    key = take_key(stem)
    for cand in sorted(raw_dir.iterdir()):
        if (cand.is_file() and not cand.name.startswith(".") and cand.suffix.lower() in AUDIO_EXTS
                and take_key(cand.name) == key):
            return cand
    return None


def frontend_attached() -> bool:
    """Best guess whether a person's browser renders this kernel's widgets.

    True under JupyterLab / Notebook (the server sets ``JPY_SESSION_NAME`` in the kernel's
    environment), Colab and VS Code; False under papermill, nbval and plain Python. Override with
    ``SPEECHLAB_FRONTEND=browser`` or ``=none``.
    """
    forced = os.environ.get("SPEECHLAB_FRONTEND", "").strip().lower()
    if forced in ("browser", "none"):
        return forced == "browser"
    import sys

    if "google.colab" in sys.modules:
        return True
    try:
        from IPython import get_ipython

        if get_ipython() is None or "IPKernelApp" not in get_ipython().config:
            return False
    except ImportError:
        return False
    return bool(os.environ.get("JPY_SESSION_NAME") or os.environ.get("VSCODE_PID") or os.environ.get("VSCODE_CWD"))


# --------------------------------------------------------------------------------------------
# The studio (kernel side)
# --------------------------------------------------------------------------------------------
class Studio:
    """Record ``prompts_csv`` into ``raw_dir``, one take per prompt, resuming where you stopped.

    >>> studio = Studio(prompts_csv="sample_data/prompts.csv", raw_dir="work/my_recordings")
    >>> studio.show()          # the widget (in JupyterLab or Colab)

    Everything the widget does is a method here, so it can be used (and tested) without a browser:
    ``receive_take(samples, sr)`` -> a :class:`TakeReport`; ``keep()`` / ``redo()`` / ``skip()``.
    """

    def __init__(self, prompts_csv: str | Path, raw_dir: str | Path, sample_rate: int | None = 44100,
                 limits: TakeLimits = TakeLimits(), use_prep: bool = True, prep_settings: Any = None,
                 consent_name: str | None = None, consent_purpose: str | None = None):
        self.prompts_csv = Path(prompts_csv)
        self.raw_dir = Path(raw_dir).expanduser()
        if self.raw_dir.exists() and not self.raw_dir.is_dir():
            raise NotADirectoryError(f"raw_dir {self.raw_dir} is a file; give the studio a folder for your takes.")
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        self.prompts, self.skipped = read_prompts(self.prompts_csv)
        # The consent statement (helpers.consent): offered first, saved as consent.wav, never training data.
        # A table may list it itself (a row named consent.wav); else consent_name adds it.
        from .prompts import CONSENT_FILE, consent_text, is_consent

        if consent_name is not None and not any(is_consent(p.filename) for p in self.prompts):
            text = consent_text(consent_name, consent_purpose or "a Speech Lab tutorial exercise, kept on my own computer")
            self.prompts.insert(0, Prompt(CONSENT_FILE, text))
        self.sample_rate = sample_rate
        self.limits = limits
        self.use_prep = use_prep          # also ask notebook 01's pipeline (helpers.prep) for its verdict
        self.prep_settings = prep_settings  # ... with the notebook's PrepSettings (None: prep's defaults)
        self.index = self.next_undone(0)
        if self.index is None:
            self.index = len(self.prompts) - 1
        self.pending: np.ndarray | None = None       # the last take, resampled, not yet kept
        self.pending_rate: int | None = None
        self.report: TakeReport | None = None
        self.frontend_seen = False                    # set when a browser rendered the widget
        self.microphone: str | None = None            # what the browser said about the microphone
        self.log: list[str] = []
        self._widget = None

    # ---- progress ------------------------------------------------------------------------
    def consent_take(self) -> Path | None:
        """The recorded consent statement (``consent.wav`` in the raw folder), or None."""
        from .prompts import CONSENT_ID

        return existing_take(self.raw_dir, CONSENT_ID)

    def done(self, i: int) -> bool:
        return existing_take(self.raw_dir, self.prompts[i].stem) is not None

    def next_undone(self, start: int = 0) -> int | None:
        """First prompt from ``start`` on (wrapping round) without a take, or None when all are done."""
        n = len(self.prompts)
        for k in range(n):
            i = (start + k) % n
            if not self.done(i):
                return i
        return None

    def status(self) -> list[dict[str, Any]]:
        """One row per prompt: filename, text, done, and the file holding the take (if any)."""
        rows = []
        for p in self.prompts:
            f = existing_take(self.raw_dir, p.stem)
            rows.append({"filename": p.filename, "text": p.text, "done": f is not None, "take": str(f) if f else ""})
        return rows

    @property
    def n_done(self) -> int:
        return sum(self.done(i) for i in range(len(self.prompts)))

    @property
    def current(self) -> Prompt:
        return self.prompts[self.index]

    def progress(self) -> str:
        """``"12 / 40"``: the position of the prompt on screen, and how many are done."""
        return f"{self.index + 1} / {len(self.prompts)}"

    # ---- takes ---------------------------------------------------------------------------
    def receive_take(self, samples: np.ndarray, sample_rate: int) -> TakeReport:
        """Accept a recording for the current prompt (float in [-1, 1] or int16), check it, hold it as pending."""
        x = np.asarray(samples)
        if x.dtype == np.int16:
            x = x.astype(np.float32) / 32768.0
        x = x.astype(np.float32)
        if x.ndim == 2:                       # (samples, channels) -> mono
            x = x.mean(axis=1)
        if x.ndim != 1 or len(x) == 0:
            raise ValueError(f"a take must be mono samples with at least one sample, got shape {np.shape(samples)}")
        rate = int(sample_rate)
        if self.sample_rate and rate != self.sample_rate:
            import soxr

            x = soxr.resample(x, rate, self.sample_rate, quality="HQ").astype(np.float32)
            rate = self.sample_rate
        self.pending, self.pending_rate = x, rate
        self.report = assess_take(x, rate, text=self.current.text, limits=self.limits)
        if self.use_prep:
            prep_check(x, rate, self.current.text, self.report, self.prep_settings)
        return self.report

    def target(self) -> Path:
        return self.raw_dir / self.current.save_name

    def keep(self, overwrite: bool = False) -> Path:
        """Save the pending take as ``<raw_dir>/<take>.wav`` and move on to the next prompt without a take.

        If the prompt already has a take, raise :class:`TakeExistsError` unless ``overwrite=True``;
        then the old file is moved to ``<raw_dir>/.replaced/`` (never deleted).
        """
        if self.pending is None:
            raise RuntimeError("No take to keep: record one first (receive_take).")
        dest = self.target()
        old = existing_take(self.raw_dir, self.current.stem)
        if old is not None:
            if not overwrite:
                raise TakeExistsError(f"{old} already exists. Keep it (press Skip / call skip()), or replace it: "
                                      "press Replace / call keep(overwrite=True); the old file then moves to "
                                      f"{self.raw_dir / '.replaced'}.")
            backup = self.raw_dir / ".replaced" / f"{old.stem}.{time.strftime('%Y%m%d-%H%M%S')}{old.suffix}"
            backup.parent.mkdir(exist_ok=True)
            shutil.move(str(old), str(backup))
            self.log.append(f"moved {old.name} to {backup}")
        write_wav(dest, self.pending, int(self.pending_rate), subtype="PCM_16")
        self.log.append(f"saved {dest}")
        self.pending, self.report = None, None
        nxt = self.next_undone(self.index + 1)
        if nxt is not None:
            self.index = nxt
        return dest

    def redo(self) -> None:
        """Throw the pending take away; the prompt stays on screen."""
        self.pending, self.report = None, None

    def skip(self, step: int = 1) -> Prompt:
        """Go to another prompt (``step=-1``: back) without saving; returns it."""
        self.redo()
        self.index = (self.index + step) % len(self.prompts)
        return self.current

    # ---- the widget ----------------------------------------------------------------------
    def _prompt_state(self) -> dict[str, Any]:
        p = self.current
        done = [self.done(i) for i in range(len(self.prompts))]
        return {"index": self.index, "number": self.index + 1, "total": len(self.prompts), "n_done": sum(done),
                "progress": self.progress(), "filename": p.filename, "save_name": p.save_name, "text": p.text,
                "done": done[self.index], "all_done": all(done), "raw_dir": str(self.raw_dir), "done_list": done}

    def widget(self):
        """The anywidget view of this studio (created once)."""
        if self._widget is None:
            cls = _widget_class()
            w = cls(prompt=self._prompt_state(), target_rate=int(self.sample_rate or 0))
            w.on_msg(self._on_msg)
            self._widget = w
        return self._widget

    def show(self, continuing_with: str | Path | None = None):
        """Display the studio. Without a browser (papermill, nbval, CI) it says so; the notebook goes on.

        ``continuing_with``: the takes the notebook goes on with (its ``RAW_DIR``), named in that message.
        """
        from IPython.display import display

        goes_on = (f"The notebook continues with the takes in {continuing_with}." if continuing_with is not None
                   else "The notebook continues without recording.")
        try:
            w = self.widget()
        except ImportError as err:
            print(f"The recording studio needs the 'anywidget' package ({err}). Install it: pip install anywidget. "
                  + goes_on)
            return None
        print(f"Recording studio: {len(self.prompts)} prompts from {self.prompts_csv}, "
              f"{self.n_done} already recorded in {self.raw_dir}.")
        if self.skipped:
            print(f"  ({len(self.skipped)} row(s) without a transcript are not offered: {', '.join(self.skipped)})")
        if not frontend_attached():
            print("No browser or microphone is attached to this kernel (papermill / nbval / CI): nothing can be "
                  f"recorded here. {goes_on} Open it in JupyterLab or Colab to record.")
        display(w)
        return None

    def _sync(self, message: str = "", state: str | None = None) -> None:
        w = self._widget
        if w is None:
            return
        w.prompt = self._prompt_state()
        rep = self.report
        w.review = {"verdict": rep.verdict, "summary": rep.summary(), **rep.to_dict()} if rep else {}
        if state is not None:
            w.state = state
        w.message = message
        w.saved = list(self.log[-1:])

    def _on_msg(self, widget, content: dict, buffers: Sequence[Any]) -> None:
        kind = content.get("type")
        try:
            if kind == "hello":
                self.frontend_seen = True
                self._sync(message=self._widget.message if self._widget is not None else "")
            elif kind == "microphone":
                self.microphone = str(content.get("detail", ""))
                self._sync(message=self.microphone, state="nomic")
            elif kind == "take":
                data = np.frombuffer(bytes(buffers[0]), dtype="<i2")
                rep = self.receive_take(data, int(content["sample_rate"]))
                self._sync(state="review", message=rep.summary())
            elif kind in ("keep", "replace"):
                try:
                    path = self.keep(overwrite=(kind == "replace"))
                except TakeExistsError as err:
                    self._sync(state="confirm", message=str(err))
                    return
                st = "finished" if self.next_undone(0) is None else "idle"
                nxt = "All prompts are recorded." if st == "finished" else f"Next: prompt {self.index + 1}."
                self._sync(state=st, message=f"Saved {path}. {nxt}")
            elif kind == "redo":
                self.redo()
                self._sync(state="idle", message="Take discarded: record it again.")
            elif kind == "goto":
                self.redo()
                self.index = int(content["index"]) % len(self.prompts)
                self._sync(state="idle")
            elif kind in ("skip", "back"):
                self.skip(-1 if kind == "back" else 1)
                self._sync(state="idle")
        except Exception as err:  # a comm handler's exception would vanish into the server log: show it
            self._sync(state="idle", message=f"Error: {type(err).__name__}: {err}")


_WIDGET_CLS = None


def _widget_class():
    """Build the anywidget class on first use, so ``import helpers.studio`` stays light."""
    global _WIDGET_CLS
    if _WIDGET_CLS is None:
        import anywidget
        import traitlets as t

        class StudioWidget(anywidget.AnyWidget):
            _esm = _ESM
            _css = _CSS
            prompt = t.Dict().tag(sync=True)
            review = t.Dict().tag(sync=True)
            state = t.Unicode("idle").tag(sync=True)
            message = t.Unicode("").tag(sync=True)
            saved = t.List().tag(sync=True)
            target_rate = t.Int(0).tag(sync=True)

            def __repr__(self) -> str:  # the text shown where no browser renders the widget
                p = self.prompt or {}
                return (f"[recording studio: prompt {p.get('progress', '?')}, {p.get('n_done', 0)} recorded in "
                        f"{p.get('raw_dir', '?')}; it needs JupyterLab or Colab to show]")

        _WIDGET_CLS = StudioWidget
    return _WIDGET_CLS


_CSS = """
.speechlab-studio { font-family: system-ui, sans-serif; border: 1px solid #ccc; border-radius: 8px; padding: 12px;
  max-width: 820px; background: #fafafa; color: #222; }
.speechlab-studio .sl-head { display: flex; justify-content: space-between; font-size: 14px; color: #555; }
.speechlab-studio .sl-progress { font-weight: 600; font-size: 16px; color: #222; }
.speechlab-studio .sl-text { font-size: 26px; line-height: 1.35; margin: 14px 0; min-height: 2.7em; }
.speechlab-studio .sl-buttons button { font-size: 15px; margin: 0 6px 6px 0; padding: 6px 14px; border-radius: 6px;
  border: 1px solid #888; background: white; cursor: pointer; }
.speechlab-studio .sl-buttons button:disabled { opacity: 0.35; cursor: default; }
.speechlab-studio .sl-buttons button.sl-rec { background: #c62828; color: white; border-color: #c62828; }
.speechlab-studio .sl-meter { height: 10px; background: #e0e0e0; border-radius: 5px; overflow: hidden; margin: 6px 0; }
.speechlab-studio .sl-meter > div { height: 100%; width: 0%; background: #43a047; transition: width 60ms; }
.speechlab-studio .sl-clip { color: #c62828; font-weight: 600; min-height: 1.2em; }
.speechlab-studio canvas { width: 100%; height: 90px; background: white; border: 1px solid #ddd; border-radius: 4px; }
.speechlab-studio .sl-feedback { white-space: pre-wrap; font-size: 14px; padding: 6px 8px; border-radius: 4px; margin-top: 6px; }
.speechlab-studio .sl-good { background: #e8f5e9; } .speechlab-studio .sl-check { background: #fff8e1; }
.speechlab-studio .sl-redo { background: #ffebee; }
.speechlab-studio .sl-list { max-height: 58px; overflow-y: auto; margin: 4px 0 8px; }
.speechlab-studio .sl-list span { display: inline-block; min-width: 22px; text-align: center; font-size: 11px; margin: 1px;
  padding: 1px 3px; border-radius: 3px; background: #eee; color: #666; cursor: pointer; }
.speechlab-studio .sl-list span.sl-done { background: #a5d6a7; color: #1b5e20; }
.speechlab-studio .sl-list span.sl-current { outline: 2px solid #1565c0; }
.speechlab-studio .sl-msg { font-size: 13px; color: #444; white-space: pre-wrap; margin-top: 6px; }
"""

_ESM = r"""
const WORKLET = `
class SpeechLabTap extends AudioWorkletProcessor {
  process(inputs) { const ch = inputs[0] && inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
}
registerProcessor('speechlab-tap', SpeechLabTap);`;

function wavBlob(f32, sr) {            // 16-bit PCM WAV, for playback in an <audio> element
  const buf = new ArrayBuffer(44 + f32.length * 2), v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); v.setUint32(4, 36 + f32.length * 2, true); str(8, 'WAVE'); str(12, 'fmt ');
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, sr, true);
  v.setUint32(28, sr * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true); str(36, 'data');
  v.setUint32(40, f32.length * 2, true);
  for (let i = 0; i < f32.length; i++) v.setInt16(44 + i * 2, Math.max(-1, Math.min(1, f32[i])) * 32767, true);
  return new Blob([buf], { type: 'audio/wav' });
}

function drawWave(canvas, f32) {       // min/max per pixel column; clipped columns in red
  const w = canvas.width = canvas.clientWidth || 800, h = canvas.height = 90, g = canvas.getContext('2d');
  g.clearRect(0, 0, w, h); g.fillStyle = '#1565c0';
  const per = Math.max(1, Math.floor(f32.length / w));
  for (let x = 0; x < w; x++) {
    let lo = 1, hi = -1;
    for (let i = x * per; i < Math.min(f32.length, (x + 1) * per); i++) { if (f32[i] < lo) lo = f32[i]; if (f32[i] > hi) hi = f32[i]; }
    if (hi < lo) continue;
    g.fillStyle = (hi >= 0.999 || lo <= -0.999) ? '#c62828' : '#1565c0';
    g.fillRect(x, (1 - hi) * h / 2, 1, Math.max(1, (hi - lo) * h / 2));
  }
}

function render({ model, el }) {
  el.classList.add('speechlab-studio');
  el.innerHTML = `
    <div class="sl-head"><span class="sl-progress"></span><span class="sl-file"></span></div>
    <div class="sl-text"></div>
    <div class="sl-buttons">
      <button class="sl-rec">&#9679; Record</button><button class="sl-stop">&#9632; Stop</button>
      <button class="sl-play">&#9654; Play</button><button class="sl-keep">&#10003; Keep</button>
      <button class="sl-replace">Replace existing take</button><button class="sl-redo">&#8634; Redo</button>
      <button class="sl-back">&#8592; Back</button><button class="sl-skip">Skip &#8594;</button>
    </div>
    <div class="sl-meter"><div></div></div><div class="sl-clip"></div>
    <div class="sl-list" title="Prompts: green = recorded; click one to go to it"></div>
    <canvas></canvas><audio controls style="width:100%;margin-top:4px"></audio>
    <div class="sl-feedback"></div><div class="sl-msg"></div>`;
  const $ = (s) => el.querySelector(s);
  const btn = { rec: $('.sl-rec'), stop: $('.sl-stop'), play: $('.sl-play'), keep: $('.sl-keep'), replace: $('.sl-replace'),
                redo: $('.sl-redo'), back: $('.sl-back'), skip: $('.sl-skip') };
  const audioEl = $('audio'), canvas = $('canvas'), meter = $('.sl-meter > div'), clip = $('.sl-clip');
  let local = null;                     // 'starting' | 'recording' | 'sending' while the browser owns the state
  let rec = null;                       // {stream, ctx, node, chunks, peak}
  el.dataset.recordedSeconds = '';

  function enable() {
    const s = local || model.get('state');
    el.dataset.state = s;
    const busy = s === 'starting' || s === 'recording' || s === 'sending';
    btn.rec.disabled = busy;
    btn.stop.disabled = s !== 'recording';
    btn.play.disabled = busy || !audioEl.src;
    btn.keep.disabled = s !== 'review';
    btn.redo.disabled = !(s === 'review' || s === 'confirm');
    btn.replace.style.display = s === 'confirm' ? '' : 'none';
    btn.back.disabled = busy; btn.skip.disabled = busy;
  }
  let shownIndex = null;
  function showPrompt() {
    const p = model.get('prompt') || {};
    if (shownIndex !== null && p.index !== shownIndex) {   // a new prompt: forget the last take's picture and sound
      canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
      if (audioEl.src) { URL.revokeObjectURL(audioEl.src); audioEl.removeAttribute('src'); audioEl.load(); }
      $('.sl-feedback').textContent = ''; $('.sl-feedback').className = 'sl-feedback';
    }
    shownIndex = p.index;
    $('.sl-progress').textContent = `${p.progress || ''}   ·   ${p.n_done || 0} recorded`;
    $('.sl-file').textContent = `${p.save_name || ''}${p.done ? '  (has a take)' : ''}`;
    el.dataset.saveName = p.save_name || '';
    const list = $('.sl-list'), done = p.done_list || [];
    if (list.children.length !== done.length) {
      list.innerHTML = '';
      done.forEach((_, i) => { const c = document.createElement('span'); c.textContent = i + 1;
        c.onclick = () => { if (!local) model.send({ type: 'goto', index: i }); }; list.appendChild(c); });
    }
    done.forEach((d, i) => { list.children[i].className = (d ? 'sl-done' : '') + (i === p.index ? ' sl-current' : ''); });
    const finished = p.all_done && model.get('state') === 'finished';
    $('.sl-text').textContent = finished ? 'All prompts are recorded. Well done!' : (p.text || '');
  }
  function showReview() {
    const r = model.get('review') || {}, fb = $('.sl-feedback');
    fb.className = 'sl-feedback' + (r.verdict ? ' sl-' + r.verdict : '');
    fb.textContent = r.summary || '';
    el.dataset.verdict = r.verdict || '';
  }
  function showMessage() {             // in review the feedback box already says it all
    $('.sl-msg').textContent = model.get('state') === 'review' ? '' : (model.get('message') || '');
  }

  function onChunk(ch) {
    rec.chunks.push(ch);
    let pk = 0; for (let i = 0; i < ch.length; i++) { const a = Math.abs(ch[i]); if (a > pk) pk = a; }
    rec.peak = Math.max(rec.peak, pk);
    meter.style.width = Math.min(100, 100 * pk) + '%';
    meter.style.background = pk >= 0.99 ? '#c62828' : pk > 0.7 ? '#f9a825' : '#43a047';
    if (pk >= 0.99) clip.textContent = 'CLIPPING: too loud. Turn the input gain down or move back.';
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      model.send({ type: 'microphone', detail: 'This browser gives the page no microphone (getUserMedia is missing; '
                   + 'pages must come from https or localhost). Continue with the sample data.' });
      return;
    }
    local = 'starting'; enable(); clip.textContent = '';
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false,
                                                                    noiseSuppression: false, autoGainControl: false } });
    } catch (e) {
      local = null;
      model.send({ type: 'microphone', detail: `No microphone: ${e.name}: ${e.message}. Allow microphone access `
                   + 'for this page (the icon in the address bar) and press Record again, or continue with the sample data.' });
      enable(); return;
    }
    const ctx = new AudioContext();
    await ctx.resume();
    rec = { stream, ctx, node: null, chunks: [], peak: 0 };
    const src = ctx.createMediaStreamSource(stream);
    try {
      const url = URL.createObjectURL(new Blob([WORKLET], { type: 'application/javascript' }));
      await ctx.audioWorklet.addModule(url);
      rec.node = new AudioWorkletNode(ctx, 'speechlab-tap');
      rec.node.port.onmessage = (e) => { if (local === 'recording') onChunk(e.data); };
      el.dataset.capture = 'audioworklet';
    } catch (e) {                       // no AudioWorklet (old browser, odd iframe): the deprecated ScriptProcessor
      rec.node = ctx.createScriptProcessor(4096, 1, 1);
      rec.node.onaudioprocess = (e) => { if (local === 'recording') onChunk(new Float32Array(e.inputBuffer.getChannelData(0))); };
      el.dataset.capture = 'scriptprocessor';
    }
    const mute = ctx.createGain(); mute.gain.value = 0;
    src.connect(rec.node); rec.node.connect(mute); mute.connect(ctx.destination);
    rec.t0 = performance.now();
    local = 'recording'; $('.sl-msg').textContent = 'Recording... press Stop when you have read the sentence.'; enable();
  }

  async function stop() {
    if (!rec) return;
    local = 'sending'; enable();
    const r = rec; rec = null;
    el.dataset.recordedSeconds = ((performance.now() - r.t0) / 1000).toFixed(3);
    r.stream.getTracks().forEach((t) => t.stop());
    try { r.node.disconnect(); } catch (e) {}
    const sr = r.ctx.sampleRate; await r.ctx.close();
    const n = r.chunks.reduce((a, c) => a + c.length, 0), f32 = new Float32Array(n);
    let o = 0; for (const c of r.chunks) { f32.set(c, o); o += c.length; }
    const i16 = new Int16Array(n);
    for (let i = 0; i < n; i++) i16[i] = Math.max(-32768, Math.min(32767, Math.round(f32[i] * 32767)));
    drawWave(canvas, f32);
    if (audioEl.src) URL.revokeObjectURL(audioEl.src);
    audioEl.src = URL.createObjectURL(wavBlob(f32, sr));
    meter.style.width = '0%';
    el.dataset.browserRate = String(sr);
    $('.sl-msg').textContent = `Checking the take (${(n / sr).toFixed(1)} s at ${sr} Hz)...`;
    model.send({ type: 'take', sample_rate: sr, n }, undefined, [i16.buffer]);
    local = null; el.dataset.state = 'sending';
  }

  btn.rec.onclick = start; btn.stop.onclick = stop;
  btn.play.onclick = () => audioEl.play();
  btn.keep.onclick = () => model.send({ type: 'keep' });
  btn.replace.onclick = () => model.send({ type: 'replace' });
  btn.redo.onclick = () => { model.send({ type: 'redo' }); canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height); };
  btn.skip.onclick = () => model.send({ type: 'skip' });
  btn.back.onclick = () => model.send({ type: 'back' });

  const refresh = () => { showPrompt(); showReview(); showMessage(); enable(); };
  model.on('change:prompt', refresh); model.on('change:review', refresh);
  model.on('change:state', refresh); model.on('change:message', refresh);
  refresh();
  btn.stop.disabled = true;
  model.send({ type: 'hello' });
  return () => { if (rec) { rec.stream.getTracks().forEach((t) => t.stop()); rec.ctx.close(); } };
}
export default { render };
"""
