"""Real human speech (issue 15): the trim, the speaker check and the scoring, measured on real recordings.

Uses ``../shared/realspeech`` (helpers.realspeech): the home reader (one real person, 141 LJSpeech sentences
at home) and FSDD (6 real speakers' spoken digits). Skipped, with the reason, only when it is absent.
Small subsets of the TEST split of the home reader's ids (helpers.realspeech.split) keep this to about a
minute on 2 cores; the full sets are measured by benchmarks/bench_trim_real.py and bench_asr.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import realspeech as RS

pytestmark = pytest.mark.skipif(RS.root() is None, reason=RS.SKIP_REASON)

N_TRIM_SOURCES = 8        # home-reader test takes for the trim (each also embedded in room tone: 16 takes)
N_SPEAKER_TAKES = 12      # home-reader test takes for the speaker check


def test_split_is_fixed_documented_and_disjoint():
    rows = RS.homereader_rows()
    dev, test = RS.homereader_rows("dev"), RS.homereader_rows("test")
    assert len(rows) == 141 and len(dev) + len(test) == 141
    assert not {r["id"] for r in dev} & {r["id"] for r in test}
    assert 0.25 < len(dev) / len(rows) < 0.42                       # about a third dev
    assert RS.split("LJ001-0001") == RS.split("LJ001-0001.flac")   # by id, whatever the extension


# ---------------------------------------------------------------------------------------- the trim

def test_an_aligner_that_lost_its_way_gives_no_truth():
    """LJ003-0002: PocketSphinx ends "overcrowding" at 5.82 s, but the voice goes on to about 6.8 s (Whisper hears
    "over-crowding" in 5.6-7.2 s, the level stays within 30 dB of the speech until then): the cross-check refuses
    that truth. LJ001-0001, aligned well, keeps its bounds unchanged."""
    from helpers import align
    from helpers.audio import load_mono
    from helpers.takecheck import Listener

    rows = {r["id"]: r for r in RS.homereader_rows()}
    listener = Listener(cpu_threads=2)
    bad = rows["LJ003-0002"]
    x = load_mono(bad["path"])
    b = align.speech_bounds(x, bad["text"])
    assert b is not None and b[1] < 6.0                       # the aligner's end, a second early
    assert align.checked_speech_bounds(x, bad["text"], listener) is None
    good = rows["LJ001-0001"]
    y = load_mono(good["path"])
    kept, again = align.checked_speech_bounds(y, good["text"], listener), align.speech_bounds(y, good["text"])
    # (PocketSphinx carries its cepstral normalisation over from the previous utterance: a repeat moves by a frame or two)
    assert kept is not None and np.allclose(kept, again, atol=0.05)


@pytest.fixture(scope="module")
def trim_takes():
    from helpers import align
    from helpers.audio import load_mono

    sources = []
    for r in RS.homereader_rows("test")[:N_TRIM_SOURCES + 3]:
        x = load_mono(r["path"])
        b = align.speech_bounds(x, r["text"])
        if b is not None:
            sources.append((r["id"], x, b))
    sources = sources[:N_TRIM_SOURCES]
    takes = [RS.RealTake(i, x, b[0], b[1], "as recorded", i) for i, x, b in sources]
    return takes + RS.embedded_takes(sources, seed=1)


def test_alignment_truth_is_plausible(trim_takes):
    """The truth comes from the transcript, not a trimmer: inside the take, about as long as the sentence needs."""
    for t in trim_takes:
        dur = len(t.audio) / 16000
        assert 0 <= t.start_s < t.end_s <= dur + 1e-6, t.id
        assert 1.0 < t.end_s - t.start_s < 12.0, t.id
    embedded = [t for t in trim_takes if t.kind != "as recorded"]
    assert {t.noise_gain_db for t in embedded} == set(RS.NOISE_GAINS_DB)
    assert any(t.kind == "embedded+breath" for t in embedded)
    assert all(0.2 - 0.101 <= t.start_s for t in embedded)  # 0.2-2 s lead (+ up to 0.1 s kept before the first word)


def test_alignment_truth_does_not_run_to_the_end_of_a_short_tail(trim_takes):
    """The aligner gets room for its silence model (helpers.align pads the take): cut a take 0.12 s after its last
    word and the last word still ends where it did, instead of stretching to the end of the file (before the pad,
    35 of 137 home-reader takes ended exactly at the file's end)."""
    from helpers import align
    from helpers.realspeech import homereader_rows

    text = {r["id"]: r["text"] for r in homereader_rows("test")}
    takes = [t for t in trim_takes if t.noise_gain_db == 0 and len(t.audio) / 16000 - t.end_s > 0.25]
    kept = 0
    for t in takes:
        cut = align.speech_bounds(t.audio[: int((t.end_s + 0.12) * 16000)], text[t.source])
        kept += cut is not None and abs(cut[1] - t.end_s) <= 0.03
    assert len(takes) >= 5 and kept >= len(takes) - 1, (kept, len(takes))


def test_audible_truth_is_the_aligned_truth_narrowed_to_what_rises_above_the_room(trim_takes):
    """helpers.realspeech.audible_bounds: inside the aligned bounds; the same for takes as recorded; narrowed the
    most under the loudest room tone (a fading edge sinks under it); and on a made-up take, exactly the part of a
    fading sound that stays above the noise."""
    for t in trim_takes:
        a0, a1 = t.audible
        assert t.start_s - 1e-9 <= a0 < a1 <= t.end_s + 1e-9, t.id
        if t.kind == "as recorded":
            assert (a0, a1) == (t.start_s, t.end_s)
    cut = {g: np.mean([(t.audible[0] - t.start_s) + (t.end_s - t.audible[1]) for t in trim_takes
                       if t.kind != "as recorded" and t.noise_gain_db == g]) for g in RS.NOISE_GAINS_DB}
    assert cut[30.0] > cut[0.0] + 0.02, cut
    # a 1 kHz tone, full for 1.0-2.0 s, fading by 60 dB over 2.0-3.0 s, in noise 30 dB under its full level: the
    # fade is audible until it meets the noise (about 2.5 s), not to the aligned end (3.0 s)
    sr = RS.SAMPLE_RATE
    t = np.arange(4 * sr) / sr
    env = np.where(t < 1.0, 0.0, np.where(t < 2.0, 1.0, np.where(t < 3.0, 10 ** (-3 * (t - 2.0)), 0.0)))
    speech = (0.1 * env * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    noise = (np.random.default_rng(0).standard_normal(len(t)) * 0.1 / np.sqrt(2) * 10 ** (-30 / 20)).astype(np.float32)
    s0, s1 = RS.audible_bounds(speech, noise, 1.0, 3.0)
    assert abs(s0 - 1.0) <= 0.011 and 2.35 < s1 < 2.65, (s0, s1)


def test_audible_ceiling_counts_the_edges_no_trimmer_can_hear(trim_takes):
    """helpers.realspeech.audible_ceiling: a take is reachable when its audible bounds are within the tolerance of
    the aligned ones. Takes as recorded always are; under +30 dB of room tone fewer are than at +0 dB (on the whole
    test split: 31 % vs 94 % of the embedded takes without a breath; 84.4 % of all 180 takes, the ceiling of any
    trimmer that listens to the take, under the issue's 95 %)."""
    c = RS.audible_ceiling(trim_takes)
    cells = c["by_kind_and_gain"]
    assert cells["as recorded"] == 1.0
    at = {g: RS.audible_ceiling([t for t in trim_takes if t.kind != "as recorded" and t.noise_gain_db == g])["all"]
          for g in RS.NOISE_GAINS_DB}
    assert at[30.0] < at[0.0], (at, cells)
    assert c["embedded"] < 1.0 and c["all"] > c["embedded"], c
    # by hand: a take whose audible end is 60 ms inside the aligned end is out of reach at 50 ms, in reach at 70 ms
    t = RS.RealTake("x", np.zeros(16000, np.float32), 0.2, 0.9, "embedded", "x", 30.0, 0.2, 0.84)
    assert RS.audible_ceiling([t])["all"] == 0.0 and RS.audible_ceiling([t], tol_ms=70)["all"] == 1.0

def test_perturbed_truths_are_on_the_takes_own_clock(trim_takes):
    """helpers.align.perturbed_bounds: the aligner after changes nobody would hear, its edges on the take's own clock.
    A take with its first 10 ms cut off is the same take one PocketSphinx frame later: moved back onto the take's
    clock, most ends land exactly where they were and most starts within one frame of it (a missing clock correction
    would put the ends 10 ms early). On
    the whole test split the truth stays within 50 ms under all five changes for only about 4 takes in 5
    (bench_trim_real.json: ``as recorded, all five``), one reason a 95 % goal against it is out of reach."""
    from helpers import align
    from helpers.realspeech import homereader_rows

    text = {r["id"]: r["text"] for r in homereader_rows("test")}
    rec = [t for t in trim_takes if t.kind == "as recorded"]
    moved = [align.perturbed_bounds(t.audio, text[t.source]) for t in rec]
    assert all(set(m) == {name for name, *_ in align.PERTURBATIONS} for m in moved)
    later = np.array([[m["10 ms later"][0] - t.start_s, m["10 ms later"][1] - t.end_s]
                      for m, t in zip(moved, rec) if m["10 ms later"] is not None])
    assert len(later) >= len(rec) - 1
    assert abs(np.median(later[:, 1])) <= 0.002 and abs(np.median(later[:, 0])) <= 0.012, later
    worst = [max(t.miss_ms(b) for b in m.values()) for m, t in zip(moved, rec)]
    assert sum(w <= 50 for w in worst) >= len(rec) // 2, worst   # most truths hold; the benchmark counts the rest


def test_intervals_resample_whole_source_takes():
    """helpers.realspeech.share_interval / paired_share_difference: a take as recorded and the takes made from it go
    in and out of a resample together, so two sources (all hits, all misses) give an interval from 0 to 1 however
    many takes each has; a paired difference of a trimmer with itself is exactly 0."""
    ok = [True] * 3 + [False] * 3
    src = ["a"] * 3 + ["b"] * 3
    assert RS.share_interval(ok, src) == (0.0, 1.0)
    assert RS.share_interval([True] * 6, src) == (1.0, 1.0)
    rng = np.random.default_rng(0)
    many = rng.random(400) < 0.7
    groups = np.repeat(np.arange(100), 4)
    lo, hi = RS.share_interval(many, groups)
    assert lo < many.mean() < hi and hi - lo < 0.2
    assert RS.paired_share_difference(many, many, groups) == (0.0, 0.0, 0.0)
    d, lo, hi = RS.paired_share_difference(many, np.ones(400, bool), groups)
    assert abs(d - (1 - many.mean())) < 1e-3 and 0 < lo <= d <= hi


def _within(takes, method, tol_ms=50.0):
    from helpers import audio as A

    ok, early = [], 0
    for t in takes:
        b = A.trim_bounds(t.audio, 16000, method)
        e = (1000 * (b.start_s - t.start_s), 1000 * (b.end_s - t.end_s))
        ok.append(max(abs(e[0]), abs(e[1])) <= tol_ms)
        early += e[0] < -300
    return float(np.mean(ok)), early


def test_default_trim_is_the_best_on_real_speech(trim_takes):
    """hybrid (the default) vs the energy trim and Silero VAD on real takes, as recorded and in room tone.

    Measured on the whole test split (bench_trim_real.json, 180 takes with a checked truth): hybrid 68.9 % within
    50 ms at both ends (78.9 % of the audible truth), VAD 31.1 %, energy 11.1 % (energy starts > 0.3 s early on 93
    takes, hybrid on none). The issue's goal, 95 %, is not reached: see the benchmark's notes.
    """
    from helpers import audio as A

    assert A.DEFAULT_TRIM_METHOD == "hybrid"
    hybrid, h_early = _within(trim_takes, "hybrid")
    energy, e_early = _within(trim_takes, "energy")
    vad, _ = _within(trim_takes, "vad")
    assert hybrid >= 0.4, (hybrid, energy, vad)
    assert hybrid > vad and hybrid > energy, (hybrid, energy, vad)
    assert h_early <= 1 and e_early >= len(trim_takes) // 3   # the energy trim calls breaths and hum speech


# ---------------------------------------------------------------------------------------- the speaker check

@pytest.fixture(scope="module")
def speaker_sets():
    from helpers import embeddings as E
    from helpers.audio import load_mono

    enc = E.get_encoder("ge2e")
    rows = RS.homereader_rows("test")[:N_SPEAKER_TAKES]
    own = [load_mono(r["path"]) for r in rows]
    crops = [w[len(w) // 2 - 12_000:len(w) // 2 + 12_000] for w in own[:4]]   # own takes cut to 1.5 s
    by_spk: dict[str, list] = {}
    for r in RS.fsdd_rows():
        by_spk.setdefault(r["speaker"], []).append(r)
    strings = {}
    rng = np.random.default_rng(0)
    for spk, rs in sorted(by_spk.items()):   # 8 strings of ~2 s of digits per speaker: "a take" of that person
        pick = rng.permutation(len(rs))
        out, k = [], 0
        while len(out) < 8:
            parts = []
            while sum(len(p) for p in parts) < 2.0 * 16000:
                parts += [load_mono(rs[pick[k]]["path"]), np.zeros(1600, np.float32)]
                k += 1
            out.append(np.concatenate(parts))
        strings[spk] = out
    v_own = enc.embed(own + crops, progress=False)
    v_str = {spk: enc.embed(w, progress=False) for spk, w in strings.items()}
    d_own = np.array([len(w) / 16000 for w in own + crops])
    d_str = {spk: np.array([len(x) / 16000 for x in w]) for spk, w in strings.items()}
    return v_own, d_own, v_str, d_str


def test_no_genuine_take_of_15s_or_more_is_flagged(speaker_sets):
    from helpers import embeddings as E

    v_own, d_own, v_str, d_str = speaker_sets
    rep = E.flag_outliers(v_own, durations=d_own)
    assert not rep.flagged.any(), rep.table()
    for spk in v_str:
        r = E.flag_outliers(v_str[spk], durations=d_str[spk])
        assert not r.flagged.any(), (spk, r.table())


def test_short_takes_are_too_short_to_judge_not_another_speaker(speaker_sets):
    from helpers import embeddings as E

    v_own, d_own, v_str, _ = speaker_sets
    spk = sorted(v_str)[0]
    vecs = np.vstack([v_own, v_str[spk][:1]])
    durs = np.concatenate([d_own, [0.8]])               # a foreign take, but under a second: nobody can say
    rep = E.flag_outliers(vecs, durations=durs)
    assert rep.verdicts[-1] == "too short to judge" and not rep.flagged[-1]
    assert rep.too_short_ids == [rep.ids[-1]]
    assert "too short to judge" in set(rep.table().verdict)


def test_planted_foreign_real_speakers_are_caught(speaker_sets):
    from helpers import embeddings as E

    v_own, d_own, v_str, d_str = speaker_sets
    caught, total = 0, 0
    for spk in v_str:                                    # another real speaker among the home reader's takes
        for j in range(len(v_str[spk])):
            rep = E.flag_outliers(np.vstack([v_own, v_str[spk][j]]), durations=np.append(d_own, d_str[spk][j]))
            caught += bool(rep.flagged[-1])
            total += 1
    for a in v_str:                                      # and among another FSDD speaker's takes
        for b in v_str:
            if a != b:
                rep = E.flag_outliers(np.vstack([v_str[a], v_str[b][:1]]),
                                      durations=np.append(d_str[a], d_str[b][0]))
                caught += bool(rep.flagged[-1])
                total += 1
    assert caught / total >= 0.9, f"{caught}/{total}"


def test_real_speaker_eer_and_single_take_margins(speaker_sets):
    from helpers import embeddings as E

    v_own, _, v_str, _ = speaker_sets
    spk = sorted(v_str)
    vecs = np.vstack([v_own[:8]] + [v_str[s][:7] for s in spk])
    labels = ["homereader"] * 8 + [s for s in spk for _ in range(7)]
    eer, _ = E.equal_error_rate(*E.pair_scores(vecs, labels))
    assert eer < 0.15, eer                              # real people: harder than the synthetic voices, far from 0.5
    # a voice with one take (here an 8th take of the first FSDD speaker, under another name): no crash, no margin
    m = E.voice_margins(np.vstack([vecs, v_str[spk[0]][7:8]]), labels + ["one take"])
    assert m["one take"]["single_take"] and np.isnan(m["one take"]["margin"]) and m["one take"]["n"] == 1
    assert m["one take"]["nearest_other"] == spk[0]     # ... and still compared with the others: it is that speaker
    assert m["homereader"]["margin"] > 0 and not m["homereader"]["single_take"]


# ---------------------------------------------------------------------------------------- scoring

def test_whisper_on_real_speech_scores_through_the_one_normaliser():
    from helpers import asr, metrics
    from helpers.audio import load_mono

    rows = RS.homereader_rows("test")[:4]
    audio = [load_mono(r["path"]) for r in rows]
    whisper = asr.get_backend("whisper-tiny.en")
    hyps = whisper.transcribe(audio)
    assert metrics.wer([r["text"] for r in rows], hyps) < 0.25, hyps
