"""helpers.text: transcripts rewritten for SpeechT5's character vocabulary (no digits)."""

from __future__ import annotations

import csv

import pytest

from helpers.config import SAMPLE_DATA
from helpers.text import (SPEECHT5_BASIC_VOCAB, expand_abbreviations, normalize_for_tts, spell_out_numbers,
                          unsupported_characters)


@pytest.mark.parametrize("written, spoken", [
    ("It costs $3.50.", "It costs three dollars and fifty cents."),
    ("The invoice came to $1,249.99", "The invoice came to one thousand, two hundred and forty-nine dollars and ninety-nine cents"),
    ("up by 12% today", "up by twelve percent today"),
    ("rose by 4.5%", "rose by four point five percent"),
    ("leaves at 7:45", "leaves at seven forty-five"),
    ("until 5:30.", "until five thirty."),
    ("at 3:05", "at three oh five"),
    ("starts at 8 p.m. sharp", "starts at eight p m sharp"),
    ("on the 3rd of March", "on the third of March"),
    ("in 1998, just", "in nineteen ninety-eight, just"),
    ("in 2006", "in two thousand and six"),
    ("the 1990s", "the nineteen nineties"),
    ("250 grams", "two hundred and fifty grams"),
    ("ran 5 km", "ran five kilometres"),
    ("-5 degrees", "minus five degrees"),
    ("pages 14 to 19", "pages fourteen to nineteen"),
])
def test_spell_out_numbers(written: str, spoken: str) -> None:
    assert spell_out_numbers(written) == spoken


def test_expand_abbreviations() -> None:
    assert expand_abbreviations("Dr. Patel & Mr. Young live on Baker St.") == "Doctor Patel and Mister Young live on Baker Street"
    assert expand_abbreviations("St. Mary's on Oak St. for four nights") == "Saint Mary's on Oak Street for four nights"
    assert expand_abbreviations("rules apply to everyone, e.g., teachers, etc.") == \
        "rules apply to everyone, for example, teachers, et cetera"
    # "No." is "number" only before a number; otherwise it stays the word "No."
    assert expand_abbreviations("No. 5") == "number 5"
    assert expand_abbreviations("No. I won't.") == "No. I won't."


def test_normalize_reports_changes_and_leaves_clean_text_alone() -> None:
    text, changes = normalize_for_tts("The café served a naïve pastry — and very strong tea.")
    assert text == "The cafe served a naive pastry - and very strong tea."
    assert any("café -> cafe" in c for c in changes) and any("naïve -> naive" in c for c in changes)
    assert normalize_for_tts("A wise old owl sat in the oak tree.") == ("A wise old owl sat in the oak tree.", [])


def test_normalize_maps_typography_and_removes_the_rest() -> None:
    text, changes = normalize_for_tts("It’s “fine” — 5 ☺ o’clock")
    assert text == "It's \"fine\" - five o'clock"
    assert "removed '☺' (not in the vocabulary)" in changes
    assert not unsupported_characters(text)


def test_normalize_with_a_custom_vocabulary() -> None:
    lower_only = set("abcdefghijklmnopqrstuvwxyz '")
    text, changes = normalize_for_tts("Hi, Bob!", vocab=lower_only, lowercase=True)
    assert text == "hi bob"
    assert any(c.startswith("casing") for c in changes)
    assert {"removed ',' (not in the vocabulary)", "removed '!' (not in the vocabulary)"} <= set(changes)


def test_every_sample_prompt_fits_the_vocabulary() -> None:
    """The whole recording script of the sample data ends up with no digit and no unknown character."""
    with (SAMPLE_DATA / "prompts.csv").open(encoding="utf-8") as fh:
        prompts = [row["transcript"] for row in csv.DictReader(fh) if row["transcript"]]
    assert len(prompts) >= 30
    assert unsupported_characters(prompts), "the sample script should need normalising (digits, é, —)"
    normalised = [normalize_for_tts(p)[0] for p in prompts]
    assert unsupported_characters(normalised) == {}
    assert not any(ch.isdigit() for t in normalised for ch in t)
    assert all(set(t) <= SPEECHT5_BASIC_VOCAB for t in normalised)
