#!/usr/bin/env python3
"""Write ``helpers/wordlists.json``: English words by part of speech, from WordNet 3.0 (Princeton).

Why: the base voice's first corpus used ~500 hand-picked words, so it learned those words and not English
spelling: it read template sentences well (WER 0.10) and the series' own prompts badly (0.44). Thousands
of real words, in their part of speech's slot of the same templates, teach it letters-to-sounds instead.

Source: Debian's ``wordnet-base`` package (``apt-get install wordnet-base``, or ``apt-get download`` it and
``dpkg -x`` it into a folder). WordNet's licence allows use, copying and redistribution for any purpose
with its copyright notice, which the JSON carries. Only single, lower-case words that occur at least
once in WordNet's sense-tagged corpus (``tagsense_cnt >= 1``) are kept, most frequent first. Verbs stay in
their base form and nouns singular (the templates put them where no inflection is needed).

    python scripts/make_wordlists.py --wordnet /usr/share/wordnet
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTICE = ("WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE "
          "IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR "
          "IMPLIED. Permission to use, copy, modify and distribute this software and database and its "
          "documentation for any purpose and without fee or royalty is hereby granted, provided that this "
          "notice appears on all copies.")
LIMITS = {"noun": 6000, "verb": 2000, "adj": 2500, "adv": 600}


def read_index(wordnet: Path, pos: str, limit: int) -> list[str]:
    rows = []
    for line in (wordnet / f"index.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        f = line.split()
        lemma, p_cnt = f[0], int(f[3])
        tagged = int(f[5 + p_cnt])
        if tagged >= 1 and re.fullmatch(r"[a-z]{2,14}", lemma):
            rows.append((-tagged, lemma))
    rows.sort()
    return [lemma for _, lemma in rows[:limit]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    ap.add_argument("--out", type=Path, default=ROOT / "helpers" / "wordlists.json")
    args = ap.parse_args(argv)
    if not (args.wordnet / "index.noun").exists():
        sys.exit(f"{args.wordnet}/index.noun not found: install WordNet with `apt-get install wordnet-base` "
                 "or unpack the .deb with `dpkg -x wordnet-base_*.deb DIR` and pass --wordnet DIR/usr/share/wordnet")
    words = {pos: read_index(args.wordnet, pos, n) for pos, n in LIMITS.items()}
    data = {"source": "WordNet 3.0 (Debian wordnet-base), words with tagsense_cnt >= 1, most frequent first",
            "licence": NOTICE, "made_by": "scripts/make_wordlists.py", **words}
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    tmp.replace(args.out)
    print(f"{args.out}: " + ", ".join(f"{len(words[p])} {p}s" for p in LIMITS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
