"""helpers.takecheck: a machine listens to every take and flags the ones read differently from the prompt.

Real speech: the home reader (../shared/realspeech/homereader, correct transcripts). The flag threshold was set
on takecheck.dev_ids(); these tests use takes *outside* that dev third only.
"""

import csv
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import prep
from helpers import takecheck as TC
from helpers.metrics import wer

ROOT = Path(__file__).resolve().parents[1]
HOMEREADER = ROOT.parent / "shared" / "realspeech" / "homereader"
N_TAKES = 40

needs_real = pytest.mark.skipif(not HOMEREADER.is_dir(), reason=f"real speech not found at {HOMEREADER} "
                                "(../shared/realspeech beside the repository)")
sys.path.insert(0, str(ROOT / "benchmarks"))


def _homereader():
    from bench_takecheck import read_homereader

    return read_homereader(HOMEREADER)


# ----------------------------------------------------------------------------------- no model needed

def test_word_diff_marks_each_kind_of_difference():
    assert TC.word_diff("The cat sat on the mat.", "the cat sat on the mat") == ""
    assert TC.word_diff("It's 25% off", "it's twenty-five percent off") == ""      # the one normaliser
    assert TC.word_diff("the cat sat on the mat", "the dog sat on the mat") == "the [cat -> dog] sat on the mat"
    assert TC.word_diff("the cat sat on the mat", "the cat sat on mat") == "the cat sat on [-the] mat"
    assert TC.word_diff("the cat sat on the mat", "the cat sat down on the mat") == "the cat sat [+down] on the mat"


def test_a_mishearing_needs_more_evidence_than_a_different_word():
    assert TC.similarity("hulks", "hawks") >= TC.NEAR_SIM and TC.similarity("to", "particularly") < TC.NEAR_SIM
    near = {"prompt": "hulks", "heard": "hawks", "nats": 10.0}
    other = {"prompt": "to", "heard": "particularly", "nats": 10.0}
    extra = {"prompt": "", "heard": "to", "nats": 4.0}
    assert TC.place_threshold(near) == TC.FLAG_NATS_NEAR > TC.place_threshold(other) == TC.FLAG_NATS_SUB
    assert TC.place_threshold(extra) == TC.FLAG_NATS_INDEL
    check = TC.TakeCheck("x", "p", "h", 0.1, "", 10.0, False, places=[near])
    assert not TC.is_flagged(check, (TC.FLAG_NATS_INDEL, TC.FLAG_NATS_SUB))
    assert TC.is_flagged(TC.TakeCheck("x", "p", "h", 0.1, "", 10.0, False, places=[other]),
                         (TC.FLAG_NATS_INDEL, TC.FLAG_NATS_SUB))


def test_touching_places_are_also_asked_about_one_word_more():
    # the table lacks "to"; Whisper heard "space to" as "state to": one place, and the variant "space to"
    ref, hyp = "on the space be gained".split(), "on the state to be gained".split()
    merged = TC._merged(TC._regions(ref, hyp))
    assert len(merged) == 1
    variants = [v[3] for v in TC._candidates(ref, hyp, *merged[0])]
    assert "on the space to be gained".split() in variants
    assert all(len(v) == len(ref) + 1 for v in variants)    # Whisper heard more words: no one-word-less variant


def test_dev_split_is_fixed_and_about_a_third():
    ids = [f"LJ{i:06d}" for i in range(300)]
    dev = TC.dev_ids(ids)
    assert dev == TC.dev_ids(list(reversed(ids)))
    assert 70 <= len(dev) <= 130
    if HOMEREADER.is_dir():
        all_ids = [t[0] for t in _homereader()]
        assert len(TC.dev_ids(all_ids)) == 42      # the 42 ids bench_takecheck.json lists under dev_ids


# ----------------------------------------------------------------------------------- real speech

@pytest.fixture(scope="module")
def listener():
    return TC.check_listener(cpu_threads=2)


@pytest.fixture(scope="module")
def judged(listener, tmp_path_factory):
    """The first N_TAKES non-dev home-reader takes, processed by prep as notebook 01 checks them, each judged
    against its own prompt and the three edits bench_takecheck.py draws for it (the benchmark's own items)."""
    if not HOMEREADER.is_dir():
        pytest.skip(f"real speech not found at {HOMEREADER}")
    from bench_takecheck import judge_all, prepared_homereader

    takes = prepared_homereader(tmp_path_factory.mktemp("takecheck"), HOMEREADER)
    assert len(takes) == 141 and all(p.suffix == ".wav" and HOMEREADER not in p.parents for _, p, _ in takes)
    dev = set(TC.dev_ids([t[0] for t in takes]))
    first = [t[0] for t in takes if t[0] not in dev][:N_TAKES]
    return judge_all(takes, listener, progress=False, ids=set(first))


def test_the_check_hears_with_base_and_weighs_with_tiny(listener):
    assert listener.name == "whisper-base hears, whisper-tiny.en scores, 0.5 s of silence each side"
    assert listener.name == TC.listener_name(TC.CHECK_SCORING, TC.CHECK_HEARING, TC.CHECK_PAD_S)
    assert listener.backend.name == TC.CHECK_SCORING == "whisper-tiny.en" and TC.CHECK_HEARING == "whisper-base"
    plain = TC.Listener(cpu_threads=1)
    assert plain.hearing is None and plain.pad_s == 0     # the splitter's listener: tiny.en alone, as before
    one_second = np.full(16000, 1e-3, np.float32)
    assert plain.encode(one_second)[1] == 101             # Whisper's 10 ms frames (n // 160 + 1) ...
    assert listener.encode(one_second)[1] == 201          # ... and the check hears 0.5 s of silence each side too


@needs_real
def test_correct_takes_are_rarely_flagged(judged):
    flagged = [(r["id"], r["own"].reason, r["own"].diff) for r in judged if r["own"].flagged]
    # goal <= 5 %: 4.04 % (4 of the 99 held-out takes, bench_takecheck.json; 1 of these 40); at most 2 of 40 here
    assert len(judged) == N_TAKES and len(flagged) <= 2, flagged
    # and Whisper did not simply agree word for word: most correct takes still differ somewhere
    assert sum(bool(r["own"].diff) for r in judged) >= len(judged) // 2


@needs_real
def test_edited_prompts_are_caught(judged):
    kinds = ("drop", "change", "swap")
    caught = {k: sum(r[k].flagged for r in judged) for k in kinds}
    total = sum(caught.values()) / (len(kinds) * len(judged))
    assert total >= 0.95, caught               # the goal; measured 96.0 % on the 99 held-out takes (117/120 here)
    assert caught["swap"] == len(judged) and caught["change"] >= 0.9 * len(judged), caught
    one = next(r for r in judged if r["change"].flagged)
    said, new = one["change_edit"].split("->")
    assert new in one["change"].diff and "misread" in one["change"].reason


# ----------------------------------------------------------------------------------- the dataset hook

def _sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@needs_real
def test_prep_cli_checks_reading_keeps_or_excludes_and_suggests(tmp_path, listener, monkeypatch):
    takes = _homereader()
    dev = set(TC.dev_ids([t[0] for t in takes]))
    a, b, c = [t for t in takes if t[0] not in dev][N_TAKES:N_TAKES + 3]
    raw = tmp_path / "raw"
    raw.mkdir()
    for t in (a, b, c):
        shutil.copy(t[1], raw / t[1].name)
    with (raw / "prompts.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "transcript"])
        w.writerow([a[1].name, a[2]])
        w.writerow([b[1].name, c[2]])           # the wrong line of the table
        w.writerow([c[1].name, ""])             # no transcript yet
    before = _sha(raw)
    made = []
    monkeypatch.setattr(TC, "Listener", lambda *a_, **k: made.append(1) or listener)
    out = tmp_path / "dataset"

    assert prep.main(["--raw", str(raw), "--prompts", str(raw / "prompts.csv"), "--out", str(out), "--no-hf",
                      "--check-reading"]) == 0
    checks = {r["id"]: r for r in csv.DictReader((out / TC.CHECK_FILE).open(encoding="utf-8"))}
    assert checks[b[0]]["flagged"] == "True" and checks[a[0]]["flagged"] == "False"
    ids = [json.loads(x)["id"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert b[0] in ids                          # kept by default, with a warning
    report = {r["id"]: r for r in prep.read_report(out)}
    assert "reading check" in report[b[0]]["warnings"]
    suggested = list(csv.DictReader((out / TC.SUGGESTED_FILE).open(encoding="utf-8")))
    assert [s["filename"] for s in suggested] == [c[1].name]
    assert wer(c[2], suggested[0]["transcript"]) < 0.4, suggested   # Whisper's text of what was said
    assert report[c[0]]["verdict"] == "excluded"  # the suggestion is never used on its own

    n_made = len(made)
    assert prep.main(["--raw", str(raw), "--prompts", str(raw / "prompts.csv"), "--out", str(out), "--no-hf",
                      "--exclude-misread"]) == 0
    ids = [json.loads(x)["id"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert ids == [a[0]]
    assert {r["id"]: r for r in prep.read_report(out)}[b[0]]["reason"] == "misread"
    assert _sha(raw) == before                  # raw takes untouched
    assert len(made) == n_made + 1              # one listener, for the suggestion; the checks came from the cache
