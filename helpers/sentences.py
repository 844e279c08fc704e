"""English sentences the project writes itself: word lists + templates, deterministic in the seed.

* :func:`make_sentences` — the project's own ~500 hand-picked words in templates (no external text).
  Used by ``scripts/make_base_corpus.py`` (the base voice's first corpus) and by
  :func:`helpers.basevoice.sample_learner_topup` (more takes for the sample learner).
* :func:`make_wide_sentences` — the same kinds of templates with ~11,000 WordNet 3.0 words in the noun,
  verb, adjective and adverb slots (``helpers/wordlists.json``, made by ``scripts/make_wordlists.py``;
  WordNet's licence allows redistribution with its notice, which the JSON carries). Used by
  ``scripts/grow_base_corpus.py`` so the base voice learns English spelling, not a word list.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

NAMES = ("Anna Ben Clara David Elena Frank Grace Henry Iris Jack Kate Leo Maria Nathan Olivia Peter Rosa "
         "Samuel Tara Victor Wendy Oscar Lucy Martin Nora Felix Hannah Isaac Julia Kevin Laura Miles Naomi "
         "Owen Paula Quentin Ruth Simon Tessa Walter Yvonne Zoe Arthur Bella Colin Daisy Edgar Fiona").split()
PLACES = ("the station|the market|the library|the harbour|the old bridge|the bakery|the museum|the river|"
          "the village square|the garden|the hospital|the school|the office|the forest|the beach|the mountain|"
          "the kitchen|the airport|the theatre|the farm|the castle|the park|the hotel|the lake|the city centre|"
          "the post office|the workshop|the island|the valley|the gallery").split("|")
NOUNS = ("book letter window table chair lamp garden river bottle apple orange candle ticket jacket bicycle "
         "camera pencil blanket basket kettle mirror ladder bucket pillow engine wallet umbrella guitar violin "
         "teacher doctor farmer driver painter sailor baker writer student neighbour cousin stranger captain "
         "storm cloud sunset morning evening winter summer autumn spring journey story question answer "
         "picture puzzle message promise secret surprise problem reason moment minute island valley forest "
         "meadow village harbour tower bridge castle cottage kitchen corridor staircase balcony chimney "
         "engineer musician pilot gardener dolphin rabbit sparrow tiger horse puppy kitten eagle turtle "
         "sandwich biscuit pumpkin carrot potato tomato lemon cherry pepper sugar butter cheese coffee "
         "computer keyboard telephone radio television machine rocket satellite planet comet ocean desert "
         "festival concert meeting lesson holiday birthday wedding contest voyage adventure recipe").split()
ADJ = ("quiet bright heavy gentle careful silver golden tiny enormous ancient modern curious cheerful "
       "patient nervous clever brave lazy busy empty crowded narrow wide warm cold wet dry soft loud "
       "strange familiar sudden steady fragile sturdy shiny dusty polished broken hidden famous ordinary "
       "peaceful restless hungry sleepy thoughtful generous honest friendly distant nearby fresh crisp "
       "smooth rough purple yellow green scarlet pale dark lovely remarkable wonderful terrible").split()
VERBS_PAST = ("opened closed painted carried repaired cleaned found lost borrowed returned noticed "
              "visited watched followed described ordered delivered collected measured counted remembered "
              "forgot explained discovered polished wrapped packed moved lifted dropped sold bought "
              "studied tested built designed answered ignored admired shared washed cooked baked").split()
VERBS_BASE = ("open close paint carry repair clean find borrow return notice visit watch follow describe "
              "order deliver collect measure count remember explain discover polish wrap pack move lift "
              "sell buy study test build design answer share wash cook bake read write sing draw").split()
ADVERBS = ("slowly quickly carefully quietly happily suddenly gently eagerly patiently loudly calmly "
           "politely proudly nervously warmly softly briskly silently").split()
TIMES = ("this morning|last night|on Monday|on Friday afternoon|after lunch|before dinner|at dawn|"
         "in the evening|yesterday|the day before|every Sunday|late last summer|early in the spring|"
         "at half past seven|around noon|at 6 o'clock|in 1998|on the 3rd of May|in twenty minutes|"
         "after the storm").split("|")
QUESTIONS = ("Did you see|Have you noticed|Why did nobody move|Who forgot|Where did they leave|"
             "Could you bring|Would you like|When will we see|How did she find|Can anyone explain").split("|")
CONNECT = ("and then|but|because|so|while|although|until|before|after").split("|")
NUMBERS_T = ("{n} people waited for the {noun} at {place}.|It cost {m} dollars and {k} cents.|"
             "The {adj} {noun} weighs about {n} kilograms.|Room {n} is on floor {k}.|"
             "We counted {m} {nouns} along the road.|The train leaves at {h}:{mm} from platform {k}.").split("|")


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _plural(noun: str) -> str:
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def make_sentence(rng: random.Random) -> str:
    """One sentence from the templates (varied length: one clause, two clauses, a question, numbers)."""
    def clause() -> str:
        k = rng.randrange(6)
        if k == 0:
            return f"{rng.choice(NAMES)} {rng.choice(VERBS_PAST)} {_a(rng.choice(ADJ))} {rng.choice(NOUNS)} {rng.choice(TIMES)}"
        if k == 1:
            return f"the {rng.choice(ADJ)} {rng.choice(NOUNS)} near {rng.choice(PLACES)} was {rng.choice(ADJ)}"
        if k == 2:
            return f"{rng.choice(NAMES)} {rng.choice(ADVERBS)} {rng.choice(VERBS_PAST)} the {rng.choice(NOUNS)} at {rng.choice(PLACES)}"
        if k == 3:
            return f"we will {rng.choice(VERBS_BASE)} the {rng.choice(ADJ)} {_plural(rng.choice(NOUNS))} {rng.choice(TIMES)}"
        if k == 4:
            return f"my {rng.choice(NOUNS)} said the {rng.choice(NOUNS)} looked {rng.choice(ADJ)} and {rng.choice(ADJ)}"
        return f"{rng.choice(NAMES)} and {rng.choice(NAMES)} walked {rng.choice(ADVERBS)} to {rng.choice(PLACES)}"

    kind = rng.random()
    if kind < 0.12:
        s = f"{rng.choice(QUESTIONS)} the {rng.choice(ADJ)} {rng.choice(NOUNS)} at {rng.choice(PLACES)}?"
    elif kind < 0.22:
        s = rng.choice(NUMBERS_T).format(
            n=rng.randint(2, 99), m=rng.randint(10, 900), k=rng.randint(1, 12), h=rng.randint(1, 12),
            mm=f"{rng.choice([0, 15, 20, 30, 45]):02d}", noun=rng.choice(NOUNS), nouns=_plural(rng.choice(NOUNS)),
            adj=rng.choice(ADJ), place=rng.choice(PLACES))
    elif kind < 0.55:
        s = clause() + "."
    elif kind < 0.9:
        s = f"{clause()}, {rng.choice(CONNECT)} {clause()}."
    else:
        second = clause()
        s = f"{clause()}. {second[0].upper() + second[1:]}!"
    return s[0].upper() + s[1:]


def _distinct(make, n: int, seed: int) -> list[str]:
    """``n`` distinct sentences from ``make(rng)``, in order (deterministic in ``seed``)."""
    rng = random.Random(seed)
    out = dict.fromkeys(())  # an ordered set
    while len(out) < n:
        out.setdefault(make(rng))
    return list(out)


def make_sentences(n: int, seed: int) -> list[str]:
    """``n`` distinct sentences (deterministic in ``seed``)."""
    return _distinct(make_sentence, n, seed)


@functools.lru_cache(maxsize=1)
def wordlists() -> dict[str, list[str]]:
    """WordNet's words by part of speech (``noun``, ``verb``, ``adj``, ``adv``), most frequent first."""
    data = json.loads((Path(__file__).with_name("wordlists.json")).read_text())
    return {pos: data[pos] for pos in ("noun", "verb", "adj", "adv")}


def make_wide_sentence(rng: random.Random) -> str:
    """One sentence whose content words come from WordNet's lists (a quarter from :func:`make_sentence`)."""
    w = wordlists()

    def pick(pos: str) -> str:  # frequent words more often: index ~ len * u**1.5
        words = w[pos]
        while True:
            word = words[int(len(words) * rng.random() ** 1.5)]
            if len(word) >= 3:
                return word

    n, v, a, d = (lambda: pick("noun")), (lambda: pick("verb")), (lambda: pick("adj")), (lambda: pick("adv"))
    k = rng.randrange(12)
    if k < 3:
        return make_sentence(rng)
    if k == 3:
        s = f"{rng.choice(NAMES)} wanted to {v()} the {a()} {n()} {rng.choice(TIMES)}."
    elif k == 4:
        s = f"The {n()} of the {a()} {n()} was {d()} {a()}."
    elif k == 5:
        s = f"Please {v()} {_a(n())} and {_a(a())} {n()} {rng.choice(['before', 'after', 'near', 'behind'])} {rng.choice(PLACES)}."
    elif k == 6:
        s = f"{rng.choice(QUESTIONS)} the {n()} {rng.choice(['or', 'and'])} the {a()} {n()}?"
    elif k == 7:
        s = f"We can {d()} {v()} the {n()}, {rng.choice(CONNECT)} {rng.choice(NAMES)} will {v()} the {a()} {n()}."
    elif k == 8:
        s = f"{_a(a()).capitalize()} {n()}, {_a(a())} {n()} and {_a(n())}: {rng.randint(2, 999)} in all."
    elif k == 9:
        s = f"Nobody knew how to {v()} {_a(n())} so {a()}, {rng.choice(['said', 'wrote', 'thought'])} {rng.choice(NAMES)}."
    elif k == 10:
        s = f"{rng.choice(NAMES)} found the {n()} {d()} {a()} and {v()}s it {rng.choice(TIMES)}."
    else:
        s = f"Words to read: {n()}, {v()}, {a()}, {d()} and {n()}."
    return s[0].upper() + s[1:]


def make_wide_sentences(n: int, seed: int) -> list[str]:
    """``n`` distinct sentences from :func:`make_wide_sentence` (deterministic in ``seed``)."""
    return _distinct(make_wide_sentence, n, seed)
