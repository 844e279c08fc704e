"""Word and character error rates, with ONE text normaliser for references and hypotheses.

Why a normaliser matters
------------------------
WER counts word edits between a reference and a hypothesis. Before counting, both texts
must be written the same way, or the score measures spelling conventions instead of
hearing: Whisper writes ``"It's 25%."`` where the prompt said ``"it's twenty five percent"``;
PocketSphinx writes everything in lowercase with no punctuation. :func:`normalize_for_wer`
removes those differences, and *only* those:

1. lowercase; accents removed (``café`` -> "cafe"); typographic quotes made plain;
2. abbreviations written out, so either spelling scores the same: ``Mr.`` = "mister", ``Mrs.`` =
   "missus", ``Dr.`` = "doctor", ``etc.`` / ``&c.`` = "et cetera", ``e.g.`` = "for example",
   ``i.e.`` = "that is" (also written ``eg`` / ``ie``), ``vs.`` = "versus" (and a few more: ``_ABBREVIATIONS``);
   ``St`` after a capitalised word = "street" (``Baker St.``), before one = "saint" (``St. Paul's``);
3. ``&`` -> "and", ``%`` -> "percent", ``$5`` -> "five dollars", ``£90,000`` -> "ninety thousand pounds";
4. numbers spelled out: ``25`` -> "twenty five", ``3.5`` -> "three point five",
   ``1st`` -> "first", four-digit years read as years (``1984`` -> "nineteen eighty four"),
   decades (``1990s`` -> "nineteen nineties", ``'60s`` -> "sixties"),
   ``$3.50`` -> "three dollars and fifty cents", clock times ``9am`` / ``9 p.m.`` -> "nine a m" / "nine p m",
   digits glued to letters spelled on their own (``4G`` -> "four g"); the "and" inside a spelled number is dropped
   ("two hundred and five" == "two hundred five"), since some readers say it and digits never do;
5. British spellings folded to American ones from a small list (``colour``, ``realise``,
   ``centre``, ``travelled``, ``gaol``, ...: ``_BRITISH``), with their inflections;
6. hyphens and slashes become spaces (``twenty-one`` -> "twenty one"); every other
   punctuation mark is removed, except an apostrophe inside a word (``don't`` stays);
7. apostrophes: a contraction written without one is folded to the contraction where no
   other English word is spelled that way (``dont`` = "don't", ``im`` = "i'm"); a real word
   stays itself, so ``were`` vs ``we're`` and ``its`` vs ``it's`` still count as errors;
8. whitespace collapsed.

This is THE normaliser of the series: notebook 03 (through :mod:`helpers.tts_eval`), notebook 04,
the take check of notebook 01 and the benchmarks all score through it, on both sides of every
WER and CER. Call it as ``helpers.metrics.normalize_for_wer(text)``.

:func:`wer` and :func:`cer` always normalise first (via jiwer), so every notebook scores the
same way. :func:`score` adds the substitution / deletion / insertion counts, and
:func:`alignment` prints jiwer's word alignment for one utterance.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np

__all__ = ["normalize_for_wer", "number_to_words", "wer", "cer", "score", "alignment", "bootstrap_ratio",
           "paired_bootstrap_ratio"]

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        if n % 10:
            words.append(_ONES[n % 10])
    elif n > 0 or not words:
        words.append(_ONES[n])
    return words


def number_to_words(n: int) -> str:
    """Spell a whole number the way it is usually read: ``105 -> "one hundred five"``.

    No "and" (American usage, as most ASR training text): WER would otherwise punish a
    system for a word nobody agrees on.
    """
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 1000:
        return " ".join(_below_thousand(n))
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            words += _below_thousand(n // value) + [name]
            n %= value
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def _year_to_words(n: int) -> str:
    """``1984 -> "nineteen eighty four"``, ``1905 -> "nineteen oh five"``, ``2007 -> "two thousand seven"``."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return number_to_words(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_to_words(hi) + " hundred"
    if lo < 10:
        return number_to_words(hi) + " oh " + number_to_words(lo)
    return number_to_words(hi) + " " + number_to_words(lo)


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return f"{head} {last}".strip()


_NUMBER_WORDS = "|".join(_ONES[1:] + _TENS[2:])
_NUMBER_AND_RE = re.compile(rf"\b(hundred|thousand|million|billion|trillion)\s+and\s+(?=(?:{_NUMBER_WORDS})\b)")
_NUM_RE = re.compile(r"(?P<cur>[$\u00a3])?(?P<num>\d[\d,]*(?:\.\d+)?)(?P<ord>st|nd|rd|th)?\b")
# a clock time written with its am/pm glued on or spaced ("9am", "9 pm") reads like "nine a.m."
_AMPM_RE = re.compile(r"(\d)\s*([ap])\.?m\b\.?")
# a number glued to letters that are no ordinal or plural ("4G", "5kg"): the digits are spelled on their own
_GLUED_RE = re.compile(r"(\d)(?!(?:st|nd|rd|th|s)\b)(?=[a-z])")
# "e.g" / "eg" / "i.e" / "ie" written without (all) their dots
_EG_RE = re.compile(r"(?<![\w.])(e\.?g|i\.?e)\b\.?")
# "St" after a capitalised word is a street ("Baker St."), before a capitalised word a saint ("St. Paul's")
_STREET_RE = re.compile(r"(\b[A-Z][\w']*\s+)St\b\.?")
_SAINT_RE = re.compile(r"\bSt\b\.?(?=\s*[A-Z])")
_ST_RE = re.compile(r"(?<=[a-z] )st\b\.?")


def _spell_number(match: re.Match) -> str:
    raw = match.group("num")
    digits = raw.replace(",", "")
    if match.group("cur") == "$" and re.fullmatch(r"\d+\.\d\d", digits):       # $3.50 -> three dollars and fifty cents
        whole, cents = (int(x) for x in digits.split("."))
        return f" {number_to_words(whole)} dollars and {number_to_words(cents)} cents "
    if "." in digits:
        whole, frac = digits.split(".", 1)
        text = number_to_words(int(whole)) + " point " + " ".join(_ONES[int(d)] for d in frac)
    else:
        n = int(digits)
        if match.group("ord"):
            text = _ordinal(number_to_words(n))
        elif "," not in raw and len(digits) == 4 and 1100 <= n <= 2099 and not match.group("cur"):
            text = _year_to_words(n)
        else:
            text = number_to_words(n)
    if match.group("cur") == "\u00a3":
        text += " pounds" if text != "one" else " pound"
    elif match.group("cur"):
        text += " dollars" if text != "one" else " dollar"
    return f" {text} "


# Abbreviation (lowercase, with its dots) -> the words a reader says. Both sides go through this, so
# "Mr." in a prompt and "mister" from a recogniser (or the other way round) score as the same word.
_ABBREVIATIONS: dict[str, str] = {
    "mr.": "mister", "mrs.": "missus", "ms.": "miz", "dr.": "doctor", "prof.": "professor", "jr.": "junior",
    "sr.": "senior", "mt.": "mount", "capt.": "captain", "lt.": "lieutenant", "sgt.": "sergeant",
    "rev.": "reverend", "gov.": "governor", "etc.": "et cetera", "&c.": "et cetera", "e.g.": "for example",
    "i.e.": "that is", "vs.": "versus", "approx.": "approximately",
}
# the same titles written without the dot (Whisper and British usage: "Mr Smith")
_ABBREV_NODOT = {k[:-1]: v for k, v in _ABBREVIATIONS.items()
                 if k.count(".") == 1 and k[0].isalpha() and k[:-1] not in {"ms", "rev", "gov", "mt", "lt", "sr"}}
_ABBREV_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in sorted(_ABBREVIATIONS, key=len, reverse=True))
                        + r")(?![\w])")
_ABBREV_NODOT_RE = re.compile(r"\b(" + "|".join(sorted(_ABBREV_NODOT, key=len, reverse=True)) + r")\b(?!')")

# British -> American, a small list of stems; inflections follow (colour/colours/coloured, realise/realised/...)
_BRITISH: dict[str, str] = {
    "colour": "color", "favour": "favor", "honour": "honor", "labour": "labor", "neighbour": "neighbor",
    "behaviour": "behavior", "harbour": "harbor", "humour": "humor", "rumour": "rumor", "vigour": "vigor",
    "armour": "armor", "endeavour": "endeavor", "parlour": "parlor", "splendour": "splendor", "valour": "valor",
    "centre": "center", "theatre": "theater", "metre": "meter", "litre": "liter", "fibre": "fiber",
    "sombre": "somber", "calibre": "caliber", "spectre": "specter",
    "jewellery": "jewelry", "grey": "gray", "programme": "program", "defence": "defense", "offence": "offense",
    "licence": "license", "pretence": "pretense", "catalogue": "catalog",
    "gaol": "jail", "gaoler": "jailer", "mould": "mold", "plough": "plow", "sceptic": "skeptic",
    "manoeuvr": "maneuver", "aluminium": "aluminum", "storey": "story", "kerb": "curb", "cheque": "check",
}
# verb stems that are only words with an ending (realise, realised, realising; travelled, traveller)
_BRITISH_STEMS: dict[str, str] = {
    "realis": "realiz", "organis": "organiz", "recognis": "recogniz", "apologis": "apologiz", "criticis": "criticiz",
    "emphasis": "emphasiz", "characteris": "characteriz", "authoris": "authoriz", "civilis": "civiliz",
    "analys": "analyz", "paralys": "paralyz", "practis": "practic", "travell": "travel", "cancell": "cancel",
    "labell": "label", "modell": "model", "manoeuvr": "maneuver",
}
_BRITISH_SUFFIX = r"(e|es|ed|ing|er|ers|s|ation|ations|ful|ite|ites|able|ably|ist|ists|al|ally|ic|ics|ism)?"
_BRITISH_RE = re.compile(r"\b(" + "|".join(sorted(_BRITISH, key=len, reverse=True)) + r")" + _BRITISH_SUFFIX + r"\b")
_BRITISH_STEM_RE = re.compile(r"\b(" + "|".join(sorted(_BRITISH_STEMS, key=len, reverse=True))
                              + r")(e|es|ed|ing|er|ers|ation|ations|ements?)\b")

# Contractions written without their apostrophe, folded back only where no other English word has that spelling
# ("well", "were", "its", "lets", "hell", "wed", "id", "cant", "wont", "shed" are words: they are left alone).
_CONTRACTIONS = {w.replace("'", ""): w for w in (
    "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "haven't", "hasn't", "hadn't",
    "couldn't", "wouldn't", "shouldn't", "mustn't", "needn't", "mightn't", "ain't", "i'm", "i've", "i'll",
    "you're", "you've", "you'll", "you'd", "they're", "they've", "they'll", "they'd", "we've", "that's",
    "what's", "there's", "here's", "where's", "who's", "how's", "let's", "could've", "would've", "should've",
    "o'clock")
    if w.replace("'", "") not in {"lets", "hows", "whos", "wed", "ill", "id", "well", "were", "its"}}
_CONTRACTION_RE = re.compile(r"\b(" + "|".join(sorted(_CONTRACTIONS, key=len, reverse=True)) + r")\b")

_PLURAL_NUMBER = {"ty": "ties", "hundred": "hundreds", "thousand": "thousands", "ten": "tens", "six": "sixes"}
_DECADE_RE = re.compile(r"(?<![\w'])'?(\d{2}|\d{4})'?s\b")


def _decade(match: re.Match) -> str:
    """``1990s`` -> "nineteen nineties", ``1800s`` -> "eighteen hundreds", ``'60s`` / ``60s`` -> "sixties"."""
    digits = match.group(1)
    n = int(digits)
    if n % 10:  # "1995s" is not a decade: leave the number, drop the s-suffix's apostrophe
        return f" {digits}s "
    words = (_year_to_words(n) if len(digits) == 4 else number_to_words(n)).split()
    last = words[-1]
    if last.endswith("ty"):
        words[-1] = last[:-1] + "ies"
    else:
        words[-1] = _PLURAL_NUMBER.get(last, last + "s")
    return " " + " ".join(words) + " "


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_for_wer(text: str) -> str:
    """THE series' text normaliser for WER/CER: apply it to both sides. See the module docstring for every rule.

    >>> normalize_for_wer("Hello, World! It's 25% off -- on the 3rd of May, 1984.")
    "hello world it's twenty five percent off on the third of may nineteen eighty four"
    >>> normalize_for_wer("Mr. Smith's colour TVs of the 1990s, etc.")
    "mister smith's color tvs of the nineteen nineties et cetera"
    """
    if text is None:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    text = _SAINT_RE.sub(" saint ", _STREET_RE.sub(lambda m: m.group(1) + "street ", text)).lower()
    text = _ST_RE.sub("street ", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _strip_accents(text)
    text = _ABBREV_RE.sub(lambda m: f" {_ABBREVIATIONS[m.group(1)]} ", text)
    text = text.replace("&", " and ").replace("%", " percent ")
    text = _EG_RE.sub(lambda m: " for example " if m.group(1)[0] == "e" else " that is ", text)
    text = _AMPM_RE.sub(lambda m: f"{m.group(1)} {m.group(2)} m ", text)
    text = _DECADE_RE.sub(_decade, text)
    text = _GLUED_RE.sub(r"\1 ", text)
    text = _NUM_RE.sub(_spell_number, text)
    text = re.sub(r"[-\u2010-\u2015/]", " ", text)
    # "two hundred and five" == "two hundred five": British readers say the "and", digits do not
    text = _NUMBER_AND_RE.sub(r"\1 ", text)
    # keep letters, digits (none left), spaces and apostrophes; anything else becomes a space
    text = "".join(ch if (ch.isalnum() or ch in " '") else " " for ch in text)
    # an apostrophe survives only between two letters (don't, it's); quotes around words go
    text = re.sub(r"(?<![a-z0-9])'|'(?![a-z0-9])", " ", text)
    text = _ABBREV_NODOT_RE.sub(lambda m: _ABBREV_NODOT[m.group(1)], text)
    text = _BRITISH_RE.sub(lambda m: _BRITISH[m.group(1)] + (m.group(2) or ""), text)
    text = _BRITISH_STEM_RE.sub(lambda m: _BRITISH_STEMS[m.group(1)] + m.group(2), text)
    text = _CONTRACTION_RE.sub(lambda m: _CONTRACTIONS[m.group(1)], text)
    return re.sub(r"\s+", " ", text).strip()


def _prepare(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> tuple[list[str], list[str]]:
    if isinstance(refs, str):
        refs = [refs]
    if isinstance(hyps, str):
        hyps = [hyps]
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses: pass one hypothesis per reference.")
    if not refs:
        raise ValueError("no references to score: pass at least one (reference, hypothesis) pair.")
    r = [normalize_for_wer(x) for x in refs]
    h = [normalize_for_wer(x) for x in hyps]
    empty = [i for i, x in enumerate(r) if not x]
    if empty:
        raise ValueError(f"reference(s) {empty} are empty after normalisation ({[refs[i] for i in empty]!r}): "
                         "an utterance without a transcript cannot be scored; drop it from the set.")
    return r, h


def wer(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> float:
    """Word error rate over a whole set: (S + D + I) / reference words, after :func:`normalize_for_wer`."""
    import jiwer

    r, h = _prepare(refs, hyps)
    return float(jiwer.wer(r, h))


def cer(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> float:
    """Character error rate over a whole set (spaces count as characters), after :func:`normalize_for_wer`."""
    import jiwer

    r, h = _prepare(refs, hyps)
    return float(jiwer.cer(r, h))


def score(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> dict[str, float | int]:
    """WER, CER and the edit counts behind the WER: ``{"wer", "cer", "substitutions", "deletions",
    "insertions", "hits", "ref_words"}``."""
    import jiwer

    r, h = _prepare(refs, hyps)
    words = jiwer.process_words(r, h)
    return {
        "wer": float(words.wer),
        "cer": float(jiwer.cer(r, h)),
        "substitutions": int(words.substitutions),
        "deletions": int(words.deletions),
        "insertions": int(words.insertions),
        "hits": int(words.hits),
        "ref_words": int(words.substitutions + words.deletions + words.hits),
    }


def alignment(ref: str, hyp: str) -> str:
    """jiwer's word alignment of one normalised pair (REF / HYP lines with S, D, I marks), without the summary."""
    import jiwer

    r, h = _prepare([ref], [hyp])
    text = jiwer.visualize_alignment(jiwer.process_words(r, h), show_measures=False)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("===")]
    return "\n".join(lines)


def _resamples(units: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, units, size=(n_boot, units))


def bootstrap_ratio(num, den, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``sum(num) / sum(den)``, resampling whole units (one entry of ``num`` and
    ``den`` each) with replacement: a corpus WER (errors / words per sentence), a share of takes (hits / takes
    per source sentence)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    idx = _resamples(len(num), n_boot, seed)
    r = num[idx].sum(1) / np.maximum(den[idx].sum(1), 1)
    lo, hi = np.quantile(r, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_bootstrap_ratio(num_a, num_b, den, n_boot: int = 2000, seed: int = 0,
                           level: float = 0.95) -> tuple[float, float, float]:
    """``(sum(num_b) - sum(num_a)) / sum(den)`` and its paired bootstrap interval (the same resampled units for
    both): ``(difference, low, high)``."""
    a, b, den = (np.asarray(v, dtype=float) for v in (num_a, num_b, den))
    idx = _resamples(len(a), n_boot, seed)
    d = (b[idx].sum(1) - a[idx].sum(1)) / np.maximum(den[idx].sum(1), 1)
    lo, hi = np.quantile(d, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float((b.sum() - a.sum()) / max(den.sum(), 1)), float(lo), float(hi)
