"""Transcript normalisation for SpeechT5's character vocabulary.

Why this module exists
----------------------
SpeechT5's tokenizer reads text one character at a time, and its vocabulary has
letters (both cases), a space, an apostrophe and a little punctuation — but **no
digits** and no symbols like ``%`` or ``&``. A character it does not know becomes
``<unk>`` or is silently dropped (transformers#23480): "Call me at 5" is trained as
"Call me at". So before training we write every transcript the way it is *spoken*:

* numbers, ordinals, years, money, percentages and times are spelled out
  (:func:`spell_out_numbers`, using the ``num2words`` package);
* common abbreviations are expanded (:func:`expand_abbreviations`);
* typographic quotes, dashes and accents are mapped to plain characters, and anything
  still outside the vocabulary is removed — and *reported* (:func:`normalize_for_tts`).

Every function returns plain text; :func:`normalize_for_tts` also returns the list of
changes so a learner can see exactly what happened to their transcript.
"""

from __future__ import annotations

import re
import string
import unicodedata

__all__ = [
    "SPEECHT5_BASIC_VOCAB",
    "spell_out_numbers",
    "expand_abbreviations",
    "normalize_for_tts",
    "unsupported_characters",
    "tokenizer_vocab",
]

#: The characters SpeechT5's character tokenizer can represent, when no tokenizer is at hand:
#: ASCII letters of both cases, the space, an apostrophe and basic punctuation. No digits.
SPEECHT5_BASIC_VOCAB: frozenset[str] = frozenset(string.ascii_letters + " '.,!?-:;\"")

# Abbreviation -> spoken form. Matched as whole words, case-sensitively for titles.
_ABBREVIATIONS: dict[str, str] = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor",
    "St.": "Saint", "Jr.": "Junior", "Sr.": "Senior", "Mt.": "Mount", "Capt.": "Captain",
    "Gen.": "General", "Lt.": "Lieutenant", "Sgt.": "Sergeant", "Rev.": "Reverend",
    "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "vs.": "versus",
    "approx.": "approximately", "No.": "number", "Ave.": "Avenue", "Rd.": "Road",
    "Jan.": "January", "Feb.": "February", "Mar.": "March", "Apr.": "April", "Aug.": "August",
    "Sept.": "September", "Sep.": "September", "Oct.": "October", "Nov.": "November", "Dec.": "December",
    "Mon.": "Monday", "Tue.": "Tuesday", "Wed.": "Wednesday", "Thu.": "Thursday", "Fri.": "Friday",
    "Sat.": "Saturday", "Sun.": "Sunday",
}
# Symbols and units that are words when spoken.
_SYMBOLS: dict[str, str] = {"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number "}
_UNITS: dict[str, str] = {
    "km": "kilometres", "kg": "kilograms", "cm": "centimetres", "mm": "millimetres", "m": "metres",
    "g": "grams", "mph": "miles per hour", "kph": "kilometres per hour", "h": "hours", "min": "minutes",
    "s": "seconds", "ms": "milliseconds", "GB": "gigabytes", "MB": "megabytes", "Hz": "hertz", "kHz": "kilohertz",
}
# Typography -> plain characters the vocabulary has.
_TYPOGRAPHY: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": " - ", "\u2014": " - ", "\u2026": "...", "\u00a0": " ", "\t": " ", "\n": " ",
    "(": ", ", ")": ", ", "[": ", ", "]": ", ", "/": " ", "_": " ",
}
_CURRENCIES: dict[str, tuple[str, str]] = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent")}


def _n2w(number: float | int, **kw) -> str:
    from num2words import num2words

    return num2words(number, lang="en", **kw)


def _plural(word: str, n: float) -> str:
    if n == 1:
        return word
    return {"penny": "pence"}.get(word, word + "s")


def _money(match: re.Match) -> str:
    symbol, whole, frac, scale = match.group("cur"), match.group("whole"), match.group("frac"), match.group("scale")
    unit, sub = _CURRENCIES[symbol]
    whole_n = int(whole.replace(",", ""))
    if scale:  # "$3 million" / "$2.5bn"
        value = float(whole.replace(",", "") + ("." + frac if frac else ""))
        scale_word = {"k": "thousand", "m": "million", "bn": "billion", "million": "million",
                      "billion": "billion", "thousand": "thousand"}[scale.lower()]
        return f"{_n2w(value)} {scale_word} {unit}s"
    out = f"{_n2w(whole_n)} {_plural(unit, whole_n)}"
    if frac and int(frac):
        cents = int((frac + "0")[:2])
        out += f" and {_n2w(cents)} {_plural(sub, cents)}"
    return out


def _year(n: int) -> str:
    return _n2w(n, to="year")


def spell_out_numbers(text: str) -> str:
    """Write every number in ``text`` as English words, the way it would be read aloud.

    Handles money (``$5.50`` -> "five dollars and fifty cents"), percentages, times
    (``3:30`` -> "three thirty"), ordinals (``21st``), years (``1984`` -> "nineteen
    eighty-four", for four-digit numbers 1100-2099 without a thousands comma), decimals,
    thousands separators and units right after a number (``5 km``).

    >>> spell_out_numbers("I paid $5.50 for 2 coffees at 3:30 on May 21st, 1984.")
    'I paid five dollars and fifty cents for two coffees at three thirty on May twenty-first, nineteen eighty-four.'
    """
    t = text
    # Money: $5, $5.50, £3m, €2.5 billion
    t = re.sub(r"(?P<cur>[$£€])\s?(?P<whole>\d(?:,?\d)*)(?:\.(?P<frac>\d+))?"
               r"(?:\s?(?P<scale>million|billion|thousand|bn|[kKmM])\b)?", _money, t)
    # Percentages
    t = re.sub(r"(\d+(?:\.\d+)?)\s?%", lambda m: f"{_num(m.group(1))} percent", t)
    # Clock times with am/pm: 7pm, 7:30 a.m.
    t = re.sub(r"\b(\d{1,2})(?::(\d{2}))?\s?([ap])\.?m\b\.?",
               lambda m: (_time_words(int(m.group(1)), int(m.group(2) or 0), oclock=False)
                          + f" {m.group(3).lower()} m"), t, flags=re.I)
    # Times 3:30, 12:05, 7:00
    t = re.sub(r"\b(\d{1,2}):(\d{2})\b", _time, t)
    # Ordinals 1st 2nd 3rd 4th
    t = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _n2w(int(m.group(1)), to="ordinal"), t, flags=re.I)
    # Decades: 1990s, '90s
    t = re.sub(r"\b(1[1-9]|20)(\d)0s\b", lambda m: _decade(int(m.group(1) + m.group(2) + "0")), t)
    # Number + unit
    units = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
    t = re.sub(rf"\b(\d(?:,?\d)*(?:\.\d+)?)\s?({units})\b", lambda m: f"{_num(m.group(1))} {_UNITS[m.group(2)]}", t)
    # Years: 4 digits 1100-2099 not followed by more digits/comma-thousands
    t = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b(?![,.]\d)", lambda m: _year(int(m.group(1))), t)
    # Everything else: 1,234,567  3.14  -5  42
    t = re.sub(r"(?<![\w.])-?\d(?:,?\d)*(?:\.\d+)?", lambda m: _num(m.group(0)), t)
    # Digits glued to letters ("No7", "MP3"): spell them out as a separate word.
    t = re.sub(r"(?<=[A-Za-z])(\d+)|(\d+)(?=[A-Za-z])",
               lambda m: " " + _num(m.group(0)) + " " if m.group(1) else _num(m.group(0)) + " ", t)
    return re.sub(r" {2,}", " ", t)


def _num(raw: str) -> str:
    raw = raw.replace(",", "")
    negative = raw.startswith("-")
    raw = raw.lstrip("-")
    if "." in raw:
        whole, frac = raw.split(".", 1)
        words = f"{_n2w(int(whole or 0))} point {' '.join(_n2w(int(d)) for d in frac)}"
    else:
        words = _n2w(int(raw))
    return ("minus " if negative else "") + words


def _time(m: re.Match) -> str:
    return _time_words(int(m.group(1)), int(m.group(2)))


def _time_words(h: int, mnt: int, oclock: bool = True) -> str:
    if h > 24 or mnt > 59:
        return f"{_n2w(h)} {_n2w(mnt)}"
    if mnt == 0:
        return f"{_n2w(h)} o'clock" if oclock else _n2w(h)
    if mnt < 10:
        return f"{_n2w(h)} oh {_n2w(mnt)}"
    return f"{_n2w(h)} {_n2w(mnt)}"


def _decade(n: int) -> str:
    words = _year(n)
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def expand_abbreviations(text: str) -> str:
    """Expand common English abbreviations and symbols: ``Dr.`` -> "Doctor", ``&`` -> "and".

    >>> expand_abbreviations("Dr. Smith & Mr. Jones, e.g. at St. Mary's on Baker St.")
    "Doctor Smith and Mister Jones, for example at Saint Mary's on Baker Street"
    """
    t = text
    for abbr in sorted(_ABBREVIATIONS, key=len, reverse=True):
        # "No." only before a number ("No. 5"), otherwise it is the word "No."
        if abbr == "No.":
            t = re.sub(r"\bNo\.\s?(?=\d)", "number ", t)
            continue
        if abbr == "St.":  # "St. Mary's" is a saint, "Baker St." a street
            t = re.sub(r"(?<![\w.])St\.(?=\s+[A-Z])", "Saint", t)
            t = re.sub(r"(?<![\w.])St\.(?!\w)", "Street", t)
            continue
        t = re.sub(r"(?<![\w.])" + re.escape(abbr) + r"(?!\w)", _ABBREVIATIONS[abbr], t)
    for sym, word in _SYMBOLS.items():
        t = t.replace(sym, word)
    return re.sub(r" {2,}", " ", t)


def tokenizer_vocab(tokenizer_or_processor) -> set[str]:
    """The single characters a (SpeechT5) tokenizer or processor can represent, space included."""
    tok = getattr(tokenizer_or_processor, "tokenizer", tokenizer_or_processor)
    vocab = tok.get_vocab()
    chars = {piece for piece in vocab if len(piece) == 1}
    if "\u2581" in vocab:  # sentencepiece's word boundary: the space
        chars.add(" ")
    return chars


def unsupported_characters(texts: list[str] | str, vocab: set[str] | frozenset[str] | None = None) -> dict[str, int]:
    """Characters in ``texts`` that ``vocab`` cannot represent, with how often each occurs (most first)."""
    vocab = SPEECHT5_BASIC_VOCAB if vocab is None else vocab
    if isinstance(texts, str):
        texts = [texts]
    counts: dict[str, int] = {}
    for t in texts:
        for ch in t:
            if ch not in vocab:
                counts[ch] = counts.get(ch, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _strip_accents(text: str, vocab: set[str] | frozenset[str]) -> str:
    out = []
    for ch in text:
        if ch in vocab:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(c in vocab for c in base) else ch)
    return "".join(out)


def normalize_for_tts(text: str, vocab: set[str] | frozenset[str] | None = None,
                      lowercase: bool = False) -> tuple[str, list[str]]:
    """Rewrite ``text`` so that every character is in SpeechT5's vocabulary; list what changed.

    Steps, in order: Unicode clean-up (NFKC), typographic quotes/dashes, abbreviations and
    symbols, numbers, accents (``café`` -> "cafe"), optional lowercasing, then removal of any
    character still outside ``vocab`` (default :data:`SPEECHT5_BASIC_VOCAB`), and whitespace.

    Returns ``(normalised_text, changes)`` where each change reads like ``"3 -> three"`` or
    ``"removed '€'"``. An unchanged transcript gives an empty list.

    >>> normalize_for_tts("It’s 5 o’clock & I’m late!")
    ("It's five o'clock and I'm late!", ['typography: ’ -> \\'', 'abbreviations/symbols: & -> and', 'numbers: 5 -> five'])
    """
    vocab = SPEECHT5_BASIC_VOCAB if vocab is None else frozenset(vocab)
    changes: list[str] = []

    def step(label: str, before: str, after: str) -> str:
        after = re.sub(r"\s+", " ", after)
        if before != after:
            changes.extend(f"{label}: {a} -> {b}" for a, b in _diff_words(before, after))
        return after

    t = step("typography", text, "".join(_TYPOGRAPHY.get(c, c) for c in unicodedata.normalize("NFKC", text)))
    t = step("abbreviations/symbols", t, expand_abbreviations(t))
    t = step("numbers", t, spell_out_numbers(t))
    t = step("accents", t, _strip_accents(t, vocab))
    if lowercase:
        t = step("casing", t, t.lower())
    missing = unsupported_characters(t, vocab)
    if missing:
        changes.extend(f"removed {ch!r} (not in the vocabulary)" for ch in missing)
        t = "".join(c if c in vocab else " " for c in t)
    cleaned = re.sub(r"\s+", " ", t)
    cleaned = re.sub(r"\s+([,.!?;:])", r"\1", cleaned)  # "word , next" -> "word, next"
    cleaned = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", cleaned)  # ", ," from mapped brackets
    cleaned = re.sub(r"[,;:]+(?=[.!?])", "", cleaned)  # "lighthouse,." from "(...)."
    cleaned = re.sub(r"^[\s,;:]+|[\s,;:]+$", "", cleaned)
    return cleaned, changes


def _diff_words(before: str, after: str) -> list[tuple[str, str]]:
    """Pairs of (old span, new span) between two versions of a sentence, word-aligned."""
    import difflib

    a, b = before.split(), after.split()
    pairs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            pairs.append((" ".join(a[i1:i2]) or "∅", " ".join(b[j1:j2]) or "∅"))
    if not pairs and before != after:  # whitespace-only or in-word change
        pairs.append((before.strip(), after.strip()))
    return pairs
