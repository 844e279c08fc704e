"""A machine listens to every take: does each one say what the prompts table says?

Why this module exists
----------------------
A take read differently from its prompt ("the" for "a", a skipped word, the wrong line of the table) teaches
SpeechT5 the wrong text for that sound, and no level meter can hear it. Here an offline Whisper base
(:mod:`helpers.asr`, shipped in pip packages) transcribes each kept take, both texts go through the series'
one WER normaliser (:func:`helpers.metrics.normalize_for_wer`), and the differences are shown as a word diff.

What a flag means
-----------------
Whisper itself gets words of *correctly read* real speech wrong (``debtors`` -> "daptors", ``latter`` ->
"letter"): base ~9 %, tiny.en 10-16 % on the home reader's takes. So "the words differ" cannot be the flag: it
would flag many good takes. A flag must mean **the audio supports what Whisper heard clearly better than what
the table says**. For every place where the two texts differ we ask Whisper tiny.en, listening to the same
audio, how likely each version is (teacher forcing: the log-probability of the prompt's words given the sound,
:meth:`Listener.logprob`):

    evidence = log P(prompt with this difference replaced by what was heard | audio) - log P(prompt | audio)

A mishearing of a word that *was* read ("daptors" for "debtors") costs little evidence: the prompt's word is
also a plausible reading of the sound. A word the reader said that the table lacks, or a word in the table
that was never said, costs a lot. Two kinds of place, two thresholds (natural-log units, "nats"):

* a word **missing or extra** (one side of the place is empty): :data:`FLAG_NATS_INDEL` = 3.5 nats, i.e. the
  audio makes Whisper's version about 30x likelier. Whisper rarely invents or drops a word with that
  much evidence on correctly read takes;
* a **different word** in the same place: :data:`FLAG_NATS_SUB` = 9 nats (~8000x), because Whisper's own
  substitutions on correctly read takes — "not" as "no", "of" as "and" — sometimes come with that much
  evidence from its language model;
* a different word **spelled like the prompt's** (:func:`similarity` >= :data:`NEAR_SIM` = 0.5: "hulks" /
  "hawks", "space" / "state", "limits" / "limitations", "the" / "their"): :data:`FLAG_NATS_NEAR` = 12.5 nats.
  These are Whisper tiny.en mishearing a word that *was* read, and its language model can back them
  strongly; a word of the table that was really read differently rarely sounds like the one printed.

Whisper often hears a missing or extra word *together with* a mishearing next to it (the table lacks "to";
Whisper heard "space to" as "state to"). Scoring that place only as heard mixes the two, so touching places
are also scored with **one word more** than the prompt (each heard word, at each position: only where Whisper
heard at least as many words) or **one word less** (each prompt word left out: only where it heard fewer),
all else as the prompt says; those variants count as missing/extra words (3.5 nats).

A take is also flagged when the texts share almost nothing (WER >= :data:`SWAP_WER` on a prompt of at least
:data:`SWAP_MIN_WORDS` words, or a take heard with that many: the wrong prompt). Per-place evidence
cannot see a swap well: fixing one place of a wrong sentence leaves the rest wrong. Every threshold was set on a fixed *dev* third of the home
reader's takes (:func:`dev_ids`, 42 ids) and measured on the other two thirds (99 ids, ``benchmarks/bench_takecheck.py``).
What a flag cannot see: one short function word changed into another ("a" for "the") is within Whisper's
own noise on real speech.

Which Whisper listens, and how
------------------------------
The takes checked are prep's *processed* ones, trimmed to 0.1 s before the first word; Whisper hears such a first
word worse ("Two committed" as "to commit it"), so each take is heard with :data:`CHECK_PAD_S` = 0.5 s of silence
before and after it. Whisper *base* transcribes and tiny.en weighs. On the dev takes (processed, padded; thresholds
by the benchmark's rule, at most one false flag) base hearing and tiny.en hearing catch the same share of edits,
96.8 % (without the padding: 96.0 %), and base weighing as well only 92 %; base hearing is kept for its better
transcripts (WER 9.3 % vs 10.0 % on the dev takes as recorded), which make the word diffs and the suggested prompts
easier to read, and because its thresholds are the ones that moved least.

Measured on dev and not kept: subtracting the decoder's own language-model preference (the same texts scored
against 3 s of silence) raises dev false flags from 1 to 10 of 42 when subtracted in full; confirming each
flagged place with a second listener (PocketSphinx forced-alignment scores of both texts) cannot judge the dev
false flag (a word its dictionary lacks) and disagrees with 2 of the 39 planted changes it catches; Whisper
base both hearing and scoring (above).

By default a flagged take is kept, with a warning and its diff; ``exclude=True`` (``--exclude-misread``)
leaves it out of the manifest. Takes without a transcript get Whisper's text in a *suggested* prompts file
(``prompts.suggested.csv`` in the output folder) for you to read and correct: it is never used on its own.

    python -m helpers.takecheck --dataset work/dataset [--raw my_takes/] [--exclude-misread]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .files import write_json, write_text

__all__ = ["CHECK_HEARING", "CHECK_SCORING", "CHECK_PAD_S", "check_listener", "FLAG_NATS_INDEL", "FLAG_NATS_SUB", "FLAG_NATS_NEAR", "NEAR_SIM", "similarity", "SWAP_WER", "is_flagged", "Listener", "TakeCheck", "word_diff", "check_take", "check_takes",
           "check_dataset", "suggest_prompts", "dev_ids", "main"]

FLAG_NATS_INDEL = 3.5  # evidence (nats) for a word missing/extra ...    (all set on dev_ids() of the home reader)
FLAG_NATS_SUB = 9.0    # ... and for a different word in the same place
FLAG_NATS_NEAR = 12.5  # ... and for a different word spelled like the prompt's (a mishearing, most often) ...
NEAR_SIM = 0.5         # ... i.e. with similarity() at least this (both: the middle of the dev plateau)
SWAP_WER = 0.6        # the texts share almost nothing: the wrong prompt, whatever the evidence ...
SWAP_MIN_WORDS = 8    # ... when the prompt or the take has this many words (else: on evidence alone)
_TOKEN_FLOOR = 1e-6   # a token's probability is floored here, so one impossible token counts at most ~14 nats
_MAX_REGIONS = 12     # more differing places than this: only the largest are scored (the rest are noise anyway)
_MAX_PLACE_WORDS = 3  # a place with more words than this on a side is only scored as heard (no one-word variants)
CHECK_HEARING = "whisper-base"    # the reading check transcribes with this model ... (helpers.asr.CT2_WHISPER)
CHECK_SCORING = "whisper-tiny.en"  # ... and weighs each differing place with this one (see Listener)
CHECK_PAD_S = 0.5   # silence added before and after a take: Whisper mishears a first word that starts at once
CHECK_FILE = "reading_check.csv"
SUGGESTED_FILE = "prompts.suggested.csv"


def dev_ids(ids: Iterable[str], share: float = 1 / 3) -> list[str]:
    """The fixed dev subset used to set the flag thresholds: ids whose sha1 falls in the first ``share``.

    Everything else is the measurement set. Deterministic on every machine.
    """
    return sorted(i for i in ids if int(hashlib.sha1(i.encode()).hexdigest()[:8], 16) / 16 ** 8 < share)


# --------------------------------------------------------------------------------------- the listener

def listener_name(model: str, hearing: str | None = None, pad_s: float = 0.0) -> str:
    """A listener's name (checks are cached under it): which model hears, which scores, the padding."""
    name = f"{hearing} hears, {model} scores" if hearing and hearing != model else model
    return name + (f", {pad_s:g} s of silence each side" if pad_s else "")


class Listener:
    """An offline Whisper (CTranslate2) that can both *transcribe* a take and *score* a given text on it.

    ``model`` (a :data:`helpers.asr.CT2_WHISPER` name) scores texts (teacher forcing, :meth:`logprob`) and, unless
    ``hearing`` names another model, also transcribes; ``pad_s`` of silence goes before and after every clip
    :meth:`encode` hears. The reading check (:func:`check_listener`) hears with Whisper base, scores with tiny.en
    and pads 0.5 s (why: the module docstring; figures: ``benchmarks/bench_takecheck.py``).
    Models are loaded once; the audio is encoded once per take and reused for every text scored.
    """

    def __init__(self, cpu_threads: int = 0, device: str = "cpu", model: str = "whisper-tiny.en",
                 hearing: str | None = None, pad_s: float = 0.0) -> None:
        from faster_whisper.tokenizer import Tokenizer

        from . import asr

        def english(whisper: Any) -> Any:
            return Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language="en")

        self.backend = asr.get_backend(model, device=device, cpu_threads=cpu_threads)
        self.model = self.backend.model
        self.tok = english(self.model)
        self.hearing = None
        self._same_features = False  # the hearing model reads the scoring model's log-mels (tiny.en and base do)
        if hearing and hearing != model:
            hb = asr.get_backend(hearing, device=device, cpu_threads=cpu_threads)
            self.hearing = (hb.model, english(hb.model))
            mine, other = self.model.feature_extractor, hb.model.feature_extractor
            self._same_features = bool(np.array_equal(other.mel_filters, mine.mel_filters)
                                       and other.hop_length == mine.hop_length)
        self.pad_s = float(pad_s)
        self.name = listener_name(model, hearing, self.pad_s)

    @staticmethod
    def _features(whisper: Any, audio: np.ndarray) -> tuple[np.ndarray, int]:
        feats = whisper.feature_extractor(np.asarray(audio, dtype=np.float32))
        frames = min(int(feats.shape[-1]), 3000)
        return np.pad(feats, ((0, 0), (0, max(0, 3000 - feats.shape[-1]))))[:, :3000], frames

    def encode(self, audio: np.ndarray) -> tuple[Any, int]:
        """Encoder output(s) for one 16 kHz mono clip (at most 30 s are heard) and its number of mel frames,
        with ``pad_s`` of silence added before and after it. Pass the first item on as it is to
        :meth:`transcribe` and :meth:`logprob`."""
        audio = np.asarray(audio, dtype=np.float32)
        if self.pad_s:
            pad = np.zeros(int(round(self.pad_s * 16000)), np.float32)
            audio = np.concatenate([pad, audio, pad])
        feats, frames = self._features(self.model, audio)
        heard = None
        if self.hearing is not None:
            heard = self.hearing[0].encode(feats if self._same_features else self._features(self.hearing[0], audio)[0])
        return (self.model.encode(feats), heard), frames

    def transcribe(self, enc: Any) -> str:
        """Greedy text (beam 1, no timestamps) from :meth:`encode`'s output, by the hearing model."""
        whisper, t = self.hearing if self.hearing is not None else (self.model, self.tok)
        res = whisper.model.generate(enc[1] if self.hearing is not None else enc[0],
                                     [t.sot_sequence + [t.no_timestamps]], beam_size=1, max_length=224,
                                     suppress_blank=True, suppress_tokens=[-1])[0]
        return t.decode([i for i in res.sequences_ids[0] if i < t.eot]).strip()

    def words(self, audio: np.ndarray) -> list[tuple[float, float, str]]:
        """(start_s, end_s, word) of every word Whisper hears in 16 kHz mono ``audio`` of any length (word
        timestamps, beam 1, no VAD, no conditioning on earlier text)."""
        segments, _ = self.model.transcribe(np.asarray(audio, dtype=np.float32), language="en", beam_size=1,
                                            word_timestamps=True, condition_on_previous_text=False, vad_filter=False)
        return [(w.start, w.end, w.word) for seg in segments for w in (seg.words or [])]

    def logprob(self, enc: Any, frames: int, words: Sequence[str]) -> float:
        """log P(words | audio), teacher-forced, written as normalised words followed by "." (the "." says
        the sentence is over: a prompt missing its last word gets a very unlikely ".")."""
        toks = self.tok.encode(" " + " ".join(words) + ".") if words else self.tok.encode(".")
        p = np.asarray(self.model.model.align(enc[0], self.tok.sot_sequence, [toks], frames)[0].text_token_probs)
        return float(np.log(np.maximum(p, _TOKEN_FLOOR)).sum())


def check_listener(cpu_threads: int = 0, device: str = "cpu") -> Listener:
    """The reading check's listener: :data:`CHECK_HEARING` transcribes, :data:`CHECK_SCORING` scores, each take
    heard with :data:`CHECK_PAD_S` of silence before and after it."""
    return Listener(cpu_threads=cpu_threads, device=device, model=CHECK_SCORING, hearing=CHECK_HEARING,
                    pad_s=CHECK_PAD_S)


# --------------------------------------------------------------------------------------- comparing texts

def _regions(ref: list[str], hyp: list[str]) -> list[tuple[int, int, int, int]]:
    """(ref_start, ref_end, hyp_start, hyp_end) of every place where the word sequences differ."""
    import jiwer

    if not ref or not hyp:
        return [(0, len(ref), 0, len(hyp))] if (ref or hyp) else []
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return [(a.ref_start_idx, a.ref_end_idx, a.hyp_start_idx, a.hyp_end_idx)
            for a in out.alignments[0] if a.type != "equal"]


def _merged(regions: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Touching places joined: "space" -> "state" next to [+to] is one place, "space" -> "state to"."""
    out: list[tuple[int, int, int, int]] = []
    for r in regions:
        if out and out[-1][1] == r[0] and out[-1][3] == r[2]:
            out[-1] = (out[-1][0], r[1], out[-1][2], r[3])
        else:
            out.append(r)
    return out


def word_diff(prompt: str, heard: str) -> str:
    """The prompt's normalised words with every difference marked: ``[prompt -> heard]``, ``[-missing]``,
    ``[+extra]``. Empty string when the normalised texts are the same."""
    from .metrics import normalize_for_wer

    ref, hyp = normalize_for_wer(prompt).split(), normalize_for_wer(heard).split()
    regions = _regions(ref, hyp)
    if not regions:
        return ""
    parts, i = [], 0
    for rs, re_, hs, he in regions:
        parts += ref[i:rs]
        said, got = " ".join(ref[rs:re_]), " ".join(hyp[hs:he])
        parts.append(f"[{said} -> {got}]" if said and got else f"[-{said}]" if said else f"[+{got}]")
        i = re_
    parts += ref[i:]
    return " ".join(parts)


@dataclass
class TakeCheck:
    """What the machine heard in one take and whether it disagrees with the prompt."""

    id: str
    prompt: str
    heard: str
    wer: float
    diff: str
    evidence_nats: float                      # the largest evidence over the differing places (0: none)
    flagged: bool
    reason: str = ""                          # why flagged: "misread: ..." / "wrong prompt?" / "nothing heard"
    places: list[dict[str, Any]] = field(default_factory=list)  # each differing place: said, heard, nats

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d["places"] = "; ".join(f"{p['prompt'] or '-'} -> {p['heard'] or '-'} ({p['nats']:.1f})" for p in self.places)
        return d


def similarity(said: str, heard: str) -> float:
    """How alike two spellings are (0..1, difflib's ratio on the letters, spaces ignored): "hulks"/"hawks" 0.6,
    "limits"/"limitations" 0.75, "to"/"particularly" 0.14. Whisper's own mishearings sound like the word read."""
    import difflib

    a, b = said.replace(" ", ""), heard.replace(" ", "")
    return difflib.SequenceMatcher(None, a, b).ratio() if (a and b) else 0.0


def _candidates(ref: list[str], hyp: list[str], rs: int, re_: int, hs: int, he: int
                ) -> list[tuple[str, str, str, list[str]]]:
    """The one-word-more / one-word-less texts scored for one place of touching edits: (kind, said, heard, words).

    Whisper often hears a missing or extra word together with a mishearing next to it ("space" -> "state
    to"): scoring the place only as heard mixes the two. So the place is also scored as the prompt with *one
    word more* (each heard word, at each position of the place: the reader said a word the table lacks; where
    Whisper heard at least as many words as the table has) or *one word less* (each of the prompt's words
    left out; where Whisper heard fewer), all else as the prompt says (kind ``"indel"``).
    """
    said, got = ref[rs:re_], hyp[hs:he]
    out: list[tuple[str, str, str, list[str]]] = []
    if said and got and len(said) <= _MAX_PLACE_WORDS and len(got) <= _MAX_PLACE_WORDS:
        seen = set()
        if len(got) >= len(said):        # a word the table lacks: only where Whisper heard at least as many
            for w in dict.fromkeys(got):
                for k in range(len(said) + 1):
                    words = said[:k] + [w] + said[k:]
                    if tuple(words) not in seen:
                        seen.add(tuple(words))
                        out.append(("indel", "", w, ref[:rs] + words + ref[re_:]))
        else:                            # a word never said: only where Whisper heard fewer
            for k in range(len(said)):
                out.append(("indel", said[k], "", ref[:rs] + said[:k] + said[k + 1:] + ref[re_:]))
    return out


def check_take(listener: Listener, audio: np.ndarray, prompt: str, take_id: str = "",
               thresholds: tuple[float, float] = (FLAG_NATS_INDEL, FLAG_NATS_SUB), heard: str | None = None, encoded: tuple[Any, int] | None = None
               ) -> TakeCheck:
    """Transcribe one take (16 kHz mono) and judge it against ``prompt`` (see the module docstring).

    ``heard`` and ``encoded`` (from :meth:`Listener.encode`) may pass what was already made for this audio,
    to judge several prompts against one take without listening again.
    """
    from .metrics import normalize_for_wer

    enc, frames = encoded if encoded is not None else listener.encode(audio)
    if heard is None:
        heard = listener.transcribe(enc)
    ref, hyp = normalize_for_wer(prompt).split(), normalize_for_wer(heard).split()
    if not ref:
        raise ValueError(f"take {take_id or '?'}: the prompt {prompt!r} has no words to compare with; "
                         "give it a transcript (or use suggest_prompts for takes without one).")
    regions = _regions(ref, hyp)
    errors = sum(max(re_ - rs, he - hs) for rs, re_, hs, he in regions)
    wer = min(1.0, errors / len(ref)) if regions else 0.0
    diff = word_diff(prompt, heard)
    if not hyp:
        return TakeCheck(take_id, prompt, heard, 1.0, diff, float("inf"), True, "nothing heard: silent, "
                         "or not speech Whisper knows", [])
    places = []
    swapped = wer >= SWAP_WER and max(len(ref), len(hyp)) >= SWAP_MIN_WORDS
    if regions and not swapped:
        base = listener.logprob(enc, frames, ref)
        scored = sorted(regions, key=lambda r: -max(r[1] - r[0], r[3] - r[2]))[:_MAX_REGIONS]
        for rs, re_, hs, he in sorted(scored):     # each place as Whisper heard it
            fixed = ref[:rs] + hyp[hs:he] + ref[re_:]
            said, got = " ".join(ref[rs:re_]), " ".join(hyp[hs:he])
            nats = round(listener.logprob(enc, frames, fixed) - base, 2) if fixed else 0.0
            places.append({"prompt": said, "heard": got, "nats": nats, "kind": "indel" if not said or not got
                           else "sub", "sim": round(similarity(said, got), 2)})
        for rs, re_, hs, he in _merged(sorted(scored)):   # ... and touching places with one word more or less
            best = None
            for kind, said, got, fixed in _candidates(ref, hyp, rs, re_, hs, he):
                nats = round(listener.logprob(enc, frames, fixed) - base, 2)
                if best is None or nats > best["nats"]:
                    best = {"prompt": said, "heard": got, "nats": nats, "kind": kind, "sim": 0.0, "variant": True}
            if best is not None:
                places.append(best)
    evidence = max((p["nats"] for p in places), default=0.0)
    if regions and swapped:
        return TakeCheck(take_id, prompt, heard, round(wer, 3), diff, float("inf"), True,
                         f"wrong prompt? the take and the table share few words (WER {wer:.0%})", places)
    over = [p for p in places if p["nats"] >= place_threshold(p, thresholds)]
    flagged = bool(over)
    reason = ""
    if flagged:
        worst = max(over, key=lambda p: p["nats"])
        reason = f"misread: table says {worst['prompt'] or '(nothing)'!r}, the take says {worst['heard'] or '(nothing)'!r}"
    return TakeCheck(take_id, prompt, heard, round(wer, 3), diff, round(evidence, 2), flagged, reason, places)


def place_threshold(place: dict[str, Any], thresholds: tuple[float, ...] = (FLAG_NATS_INDEL, FLAG_NATS_SUB)) -> float:
    """The evidence a differing place needs to flag its take: a missing/extra word; a different word; a
    different word that sounds like the prompt's (spelled alike, :func:`similarity` >= :data:`NEAR_SIM`):
    Whisper tiny.en's own mishearings of a word that *was* read, which its language model can back strongly."""
    indel, sub = thresholds[0], thresholds[1]
    near = thresholds[2] if len(thresholds) > 2 else FLAG_NATS_NEAR
    near_sim = thresholds[3] if len(thresholds) > 3 else NEAR_SIM
    if place.get("kind", "indel" if not place["prompt"] or not place["heard"] else "sub") == "indel":
        return indel
    return near if place.get("sim", similarity(place["prompt"], place["heard"])) >= near_sim else sub


def is_flagged(check: TakeCheck, thresholds: tuple[float, ...]) -> bool:
    """Re-decide a check at other thresholds from its stored evidence (for tuning and the benchmark)."""
    if check.reason.startswith(("wrong prompt", "nothing heard")):
        return True
    return any(p["nats"] >= place_threshold(p, thresholds) for p in check.places)


def check_takes(items: Sequence[tuple[str, np.ndarray, str]], listener: Listener | None = None,
                thresholds: tuple[float, float] = (FLAG_NATS_INDEL, FLAG_NATS_SUB), progress: bool = True) -> list[TakeCheck]:
    """:func:`check_take` over ``(id, audio_16k, prompt)`` items, with a progress bar."""
    from tqdm.auto import tqdm

    listener = listener or check_listener()
    return [check_take(listener, a, p, i, thresholds) for i, a, p in tqdm(items, desc="listening", unit="take",
                                                                          disable=not progress)]


# --------------------------------------------------------------------------------------- on a dataset

def _cache_key(path: Path, text: str, thresholds: tuple[float, float], model: str) -> str:
    h = hashlib.sha1(path.read_bytes())
    h.update(json.dumps([text, list(thresholds), FLAG_NATS_NEAR, NEAR_SIM, SWAP_WER, SWAP_MIN_WORDS, model, "v3"]).encode())
    return h.hexdigest()[:16]


def check_dataset(dataset_dir: str | Path, thresholds: tuple[float, float] = (FLAG_NATS_INDEL, FLAG_NATS_SUB), exclude: bool = False,
                  listener: Listener | None = None, progress: bool = True) -> list[TakeCheck]:
    """Check every take of a prepared dataset (``manifest.jsonl``); write ``reading_check.csv`` beside it.

    Results are cached per take in ``.reading/`` (keyed by the WAV's bytes, the prompt and the settings), so a
    re-run only listens to new or changed takes. With ``exclude=True`` flagged takes are removed from
    ``manifest.jsonl`` (and ``hf/``), and marked ``excluded`` / ``misread`` in ``report.csv``; without it they
    stay, with a warning in ``report.csv``. The WAVs themselves are never changed.
    """
    from . import audio as A
    from . import prep

    dataset_dir = Path(dataset_dir)
    manifest = prep.load_manifest(dataset_dir)
    cache_dir = dataset_dir / ".reading"
    checks: list[TakeCheck] = []
    from tqdm.auto import tqdm

    for m in tqdm(manifest, desc="listening", unit="take", disable=not progress):
        path = Path(m["audio_path"])
        key = _cache_key(path, m["text"], thresholds, listener.name if listener else
                         listener_name(CHECK_SCORING, CHECK_HEARING, CHECK_PAD_S))
        cached = cache_dir / f"{m['id']}.json"
        if cached.is_file():
            state = json.loads(cached.read_text(encoding="utf-8"))
            if state.get("key") == key:
                checks.append(TakeCheck(**state["check"]))
                continue
        if listener is None:
            listener = check_listener()
        c = check_take(listener, A.load_mono(path), m["text"], m["id"], thresholds)
        write_json(cached, {"key": key, "check": asdict(c)})
        checks.append(c)
    _write_checks(dataset_dir / CHECK_FILE, checks)
    _apply(dataset_dir, checks, exclude)
    return checks


def _write_checks(dest: Path, checks: Sequence[TakeCheck]) -> None:
    cols = ["id", "flagged", "reason", "wer", "evidence_nats", "prompt", "heard", "diff", "places"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for c in checks:
        w.writerow(c.row())
    write_text(dest, buf.getvalue())


def _apply(dataset_dir: Path, checks: Sequence[TakeCheck], exclude: bool) -> None:
    """Note flags in report.csv; with ``exclude`` also drop flagged takes from manifest.jsonl and hf/."""
    from . import prep

    flagged = {c.id: c for c in checks if c.flagged}
    report_path = dataset_dir / "report.csv"
    if report_path.is_file():
        with report_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            cols, rows = list(reader.fieldnames or []), list(reader)
        for r in rows:
            c = flagged.get(r.get("id", ""))
            if c is None:
                continue
            note = f"reading check: {c.reason} ({c.diff})"
            if exclude:
                r.update(verdict="excluded", reason="misread", split="")
            if note not in r.get("warnings", ""):
                r["warnings"] = "; ".join(x for x in (r.get("warnings", ""), note) if x)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        write_text(report_path, buf.getvalue())
    if exclude and flagged:
        lines = (dataset_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
        kept = [ln for ln in lines if ln.strip() and json.loads(ln)["id"] not in flagged]
        write_text(dataset_dir / "manifest.jsonl", "".join(ln + "\n" for ln in kept))
        if (dataset_dir / "hf").is_dir() and hasattr(prep, "_write_hf"):
            manifest = [json.loads(ln) for ln in kept]
            prep._write_hf(dataset_dir, manifest, 16000)


def suggest_prompts(audio_paths: Sequence[str | Path], dest: str | Path, listener: Listener | None = None,
                    progress: bool = True) -> Path | None:
    """Whisper's text for takes that have no transcript, written to ``dest`` (``filename,transcript``) for the
    learner to review and copy into their own table. Nothing is ever used from it automatically.
    Returns ``dest``, or None when there was nothing to suggest. The audio files are only read."""
    from tqdm.auto import tqdm

    from . import audio as A

    paths = [Path(p) for p in audio_paths]
    if not paths:
        return None
    listener = listener or check_listener()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["filename", "transcript"])
    for p in tqdm(paths, desc="suggesting", unit="take", disable=not progress):
        try:
            y = A.load_mono(p)
        except Exception:  # unreadable takes are reported by prep; nothing to suggest for them
            continue
        enc, _ = listener.encode(y)
        w.writerow([p.name, listener.transcribe(enc)])
    return write_text(dest, buf.getvalue())


def untranscribed_takes(dataset_dir: str | Path, raw_dir: str | Path) -> list[Path]:
    """Raw files prep excluded for ``missing_transcript`` (from ``report.csv``)."""
    from . import prep

    rows = prep.read_report(dataset_dir)
    return [Path(raw_dir) / r["file"] for r in rows
            if r.get("reason") == "missing_transcript" and (Path(raw_dir) / r["file"]).is_file()]


def summary(checks: Sequence[TakeCheck]) -> str:
    n = sum(c.flagged for c in checks)
    return f"{n} of {len(checks)} takes flagged as read differently from the prompt"


# --------------------------------------------------------------------------------------- CLI

def run_on_dataset(dataset_dir: str | Path, raw_dir: str | Path | None = None, exclude: bool = False,
                   thresholds: tuple[float, float] = (FLAG_NATS_INDEL, FLAG_NATS_SUB), progress: bool = True) -> list[TakeCheck]:
    """The whole check as the CLI and ``helpers.prep --check-reading`` run it: listen, report, suggest."""
    checks = check_dataset(dataset_dir, thresholds, exclude, None, progress)
    for c in checks:
        if c.flagged:
            print(f"  {'excluded' if exclude else 'kept, but check'} {c.id}: {c.reason}\n      {c.diff}")
    print(summary(checks) + (" (excluded)" if exclude else " (kept; --exclude-misread leaves them out)"))
    if raw_dir is not None:
        missing = untranscribed_takes(dataset_dir, raw_dir)
        dest = suggest_prompts(missing, Path(dataset_dir) / SUGGESTED_FILE, None, progress)
        if dest:
            print(f"  {len(missing)} take(s) have no transcript: Whisper's suggestions are in {dest}. Read them, "
                  "correct them, and copy the rows into your prompts table (they are never used on their own).")
    return checks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.takecheck",
                                 description="Does each take say what the prompts table says? (Whisper base hears, tiny.en weighs; offline)")
    ap.add_argument("--dataset", required=True, help="a prepared dataset folder (python -m helpers.prep --out ...)")
    ap.add_argument("--raw", default=None, help="the raw takes folder: takes without a transcript get suggestions")
    ap.add_argument("--exclude-misread", action="store_true", help="leave flagged takes out of the manifest")
    ap.add_argument("--indel-nats", type=float, default=FLAG_NATS_INDEL, help="evidence to flag a missing/extra word")
    ap.add_argument("--sub-nats", type=float, default=FLAG_NATS_SUB, help="evidence to flag a different word")
    args = ap.parse_args(argv)
    from .prep import PrepError

    try:
        run_on_dataset(args.dataset, args.raw, args.exclude_misread, (args.indel_nats, args.sub_nats))
    except PrepError as err:
        print(f"error: {err}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
