"""helpers.embeddings: the maths on hand-made vectors, and the real GE2E encoder on the reference voices.

The reference voices (``sample_data/voices``: 8 synthetic voices x 8 sentences) are embedded once per
session with GE2E (real pretrained weights, offline) — about 10 s on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from helpers import embeddings as E
from helpers.config import SAMPLE_DATA

SAMPLE = Path(os.environ.get("SPEECHLAB_SAMPLE_DATA", SAMPLE_DATA))
LEARNER_VOICE = "piper_joe"


# ---------------------------------------------------------------- maths on hand-made vectors

def test_l2_normalize_and_speaker_embedding_give_each_take_one_vote():
    v = np.array([[3.0, 4.0], [0.0, 10.0]])
    n = E.l2_normalize(v)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), [1, 1], atol=1e-6)
    np.testing.assert_allclose(n[0], [0.6, 0.8], atol=1e-6)
    spk = E.speaker_embedding(v)
    # mean of the *normalised* rows ([0.6, 0.8] and [0, 1]) = [0.3, 0.9], renormalised
    np.testing.assert_allclose(spk, np.array([0.3, 0.9]) / np.hypot(0.3, 0.9), atol=1e-6)
    assert spk.dtype == np.float32
    with pytest.raises(ValueError):
        E.speaker_embedding(np.zeros((0, 4)))


def test_leave_one_out_similarity_matches_brute_force():
    rng = np.random.default_rng(0)
    v = E.l2_normalize(rng.normal(size=(7, 16)))
    got = E.leave_one_out_similarity(v)
    for i in range(7):
        c = E.l2_normalize(np.delete(v, i, axis=0).mean(axis=0))
        assert got[i] == pytest.approx(float(v[i] @ c), abs=1e-5)


def test_equal_error_rate_known_cases():
    # perfectly separated: EER 0, threshold between the groups
    eer, thr = E.equal_error_rate(np.array([0.8, 0.9, 0.95]), np.array([0.1, 0.2, 0.3]))
    assert eer == 0.0 and 0.3 < thr <= 0.8
    # one different-voice pair scores above one same-voice pair: at t=0.6 FAR = 1/4, FRR = 1/4
    same = np.array([0.5, 0.7, 0.8, 0.9])
    diff = np.array([0.1, 0.2, 0.3, 0.65])
    eer, thr = E.equal_error_rate(same, diff)
    assert eer == pytest.approx(0.25) and thr == pytest.approx(0.65)
    # identical distributions: a coin toss
    x = np.linspace(0, 1, 101)
    eer, _ = E.equal_error_rate(x, x)
    assert eer == pytest.approx(0.5, abs=0.01)


def test_pair_scores_and_margins_on_clusters():
    rng = np.random.default_rng(1)
    centres = E.l2_normalize(rng.normal(size=(3, 32)))
    labels = np.repeat(["a", "b", "c"], 5)
    v = E.l2_normalize(centres[[0] * 5 + [1] * 5 + [2] * 5] + 0.15 * rng.normal(size=(15, 32)))
    same, diff = E.pair_scores(v, labels)
    assert len(same) == 3 * 10 and len(diff) == 15 * 14 // 2 - 30
    assert same.mean() > diff.mean() + 0.3
    m = E.voice_margins(v, labels)
    assert set(m) == {"a", "b", "c"}
    for voice, row in m.items():
        assert row["margin"] > 0.3 and row["nearest_other"] != voice and row["n"] == 5
    # mislabelling 3 of voice "a"'s takes as "b" must shrink b's margin to well under half
    bad = labels.copy()
    bad[:3] = "b"
    assert E.voice_margins(v, bad)["b"]["margin"] < 0.5 * m["b"]["margin"]


def test_flag_outliers_catches_the_odd_vector_and_only_it():
    rng = np.random.default_rng(2)
    centre = E.l2_normalize(rng.normal(size=32))
    takes = E.l2_normalize(centre + 0.1 * rng.normal(size=(10, 32)))
    clean = E.flag_outliers(takes)
    assert not clean.flagged.any()
    planted = np.vstack([takes, E.l2_normalize(rng.normal(size=32))])
    rep = E.flag_outliers(planted, ids=[f"t{i}" for i in range(11)])
    assert rep.flagged_ids == ["t10"]
    assert rep.z[-1] < -rep.z_threshold
    assert list(rep.table()["id"])[0] == "t10"
    with pytest.raises(ValueError, match="at least 4"):
        E.flag_outliers(takes[:3])


def test_flag_outliers_respects_duration():
    """A short take of the speaker (its vector wobbles) is judged with a wider yardstick; one too short to judge is
    reported as such, never flagged; the yardstick comes from the stable takes."""
    rng = np.random.default_rng(3)
    centre = E.l2_normalize(rng.normal(size=64))
    long_takes = E.l2_normalize(centre + 0.12 * rng.normal(size=(10, 64)))
    wobbly = E.l2_normalize(centre + 0.45 * rng.normal(size=(1, 64)))      # the speaker, 1.6 s: further from the centre
    foreign = E.l2_normalize(rng.normal(size=(1, 64)))
    vecs = np.vstack([long_takes, wobbly, foreign, foreign])
    ids = [f"t{i}" for i in range(10)] + ["short_own", "foreign_long", "foreign_tiny"]
    durs = [6.0] * 10 + [1.6, 5.0, 0.7]
    assert "short_own" in E.flag_outliers(vecs[:11], ids[:11]).flagged_ids      # without durations: wrongly flagged
    rep = E.flag_outliers(vecs, ids, durations=durs)
    assert rep.flagged_ids == ["foreign_long"]
    assert rep.too_short_ids == ["foreign_tiny"]
    assert dict(zip(rep.ids, rep.verdicts)) == {**{f"t{i}": "ok" for i in range(10)}, "short_own": "ok",
                                                  "foreign_long": "unlike the others",
                                                  "foreign_tiny": "too short to judge"}
    assert set(rep.table().columns) >= {"seconds", "verdict"}
    with pytest.raises(ValueError, match="durations"):
        E.flag_outliers(vecs, ids, durations=[1.0, 2.0])


def test_flag_outliers_widens_only_for_takes_shorter_than_the_yardstick():
    """A set of 2 s takes (e.g. digit strings) sets its own yardstick: its MAD already holds a 2 s take's wobble,
    so a 2 s foreign take is judged on it unwidened and caught; among long takes the same 2 s take is widened
    by (3 s / 2 s) ** 1.5."""
    rng = np.random.default_rng(5)
    centre, other = E.l2_normalize(rng.normal(size=(2, 64)))
    own = E.l2_normalize(centre + 0.06 * rng.normal(size=(16, 64)))
    foreign = E.l2_normalize(0.6 * centre + 0.4 * other + 0.06 * rng.normal(size=64))
    vecs = np.vstack([own, foreign])
    short = E.flag_outliers(vecs, durations=[2.0] * 17)
    assert short.flagged_ids == ["16"] and short.z[-1] < -4.5            # measured -4.96
    assert not E.flag_outliers(own, durations=[2.0] * 16).flagged.any()
    mixed = E.flag_outliers(vecs, durations=[6.0] * 16 + [2.0])      # yardstick: the 6 s takes
    widened = 0.6745 * (mixed.similarity[-1] - mixed.median) / (max(mixed.mad, 0.02) * 1.5 ** 1.5)
    np.testing.assert_allclose(mixed.z[-1], widened, rtol=1e-6)


def test_voice_margins_with_a_single_take_voice():
    rng = np.random.default_rng(4)
    centres = E.l2_normalize(rng.normal(size=(2, 32)))
    v = E.l2_normalize(np.vstack([centres[[0] * 4], centres[[1]]]) + 0.1 * rng.normal(size=(5, 32)))
    m = E.voice_margins(v, ["a"] * 4 + ["solo"])
    assert m["solo"]["single_take"] and m["solo"]["n"] == 1 and np.isnan(m["solo"]["margin"])
    assert m["solo"]["nearest_other"] == "a"
    assert m["a"]["margin"] > 0.3 and m["a"]["nearest_other"] == "solo"


def test_seconds_to_stable():
    curve = {"seconds": np.array([1, 2, 4, 8]), "min": np.array([0.7, 0.96, 0.94, 0.97]),
             "mean": np.array([0.8, 0.97, 0.96, 0.99])}
    assert E.seconds_to_stable(curve, 0.95, use="min") == 8
    assert E.seconds_to_stable(curve, 0.95, use="mean") == 2
    assert E.seconds_to_stable(curve, 0.999) is None


# ---------------------------------------------------------------- files

def test_read_audio_resamples_mixes_and_names_bad_files(tmp_path):
    import soundfile as sf

    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.5
    sf.write(tmp_path / "a.wav", stereo, 44100)
    a = E.read_audio(tmp_path / "a.wav")
    assert a.dtype == np.float32 and a.ndim == 1 and abs(len(a) - 16000) <= 1
    assert np.abs(a).max() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        E.read_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="junk.wav"):
        E.read_audio(tmp_path / "junk.wav")


def test_save_and_load_speaker_embedding(tmp_path):
    vec = np.arange(1, 513, dtype=np.float64)  # not normalised: save must normalise it
    path = E.save_speaker_embedding(tmp_path, "xvector", vec, takes=["take_001", "take_002"],
                                    source_dataset="somewhere")
    assert path == tmp_path / "embeddings" / "speaker_xvector.npy"
    loaded, meta = E.load_speaker_embedding(tmp_path, "xvector")
    assert loaded.shape == (512,) and loaded.dtype == np.float32
    assert np.linalg.norm(loaded) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(loaded, vec / np.linalg.norm(vec), atol=1e-6)
    assert meta["encoder"] == "xvector" and meta["dim"] == 512 and meta["takes"] == ["take_001", "take_002"]
    assert not list((tmp_path / "embeddings").glob(".*"))  # no temporary files left behind
    with pytest.raises(ValueError, match="shape"):
        E.save_speaker_embedding(tmp_path, "xvector", np.ones(256), takes=[], source_dataset="x")
    with pytest.raises(FileNotFoundError, match="notebook 02"):
        E.load_speaker_embedding(tmp_path, "ecapa")
    np.save(tmp_path / "embeddings" / "speaker_ge2e.npy", np.ones(256, dtype=np.float32))  # not normalised
    with pytest.raises(ValueError, match="re-run notebook 02"):
        E.load_speaker_embedding(tmp_path, "ge2e")


# ---------------------------------------------------------------- the real GE2E encoder

@pytest.fixture(scope="module")
def ge2e():
    return E.get_encoder("ge2e")


@pytest.fixture(scope="module")
def refs(ge2e):
    rows = E.load_reference_voices(SAMPLE)
    wavs = [E.read_audio(r["audio_path"]) for r in rows]
    vecs = ge2e.embed(wavs, progress=False)
    return rows, wavs, vecs, np.array([r["voice"] for r in rows])


def test_ge2e_batched_matches_resemblyzer_one_by_one(ge2e, refs):
    from resemblyzer import preprocess_wav

    rows, wavs, vecs, _ = refs
    assert ge2e.dim == 256 and not ge2e.is_standin
    assert vecs.shape == (len(rows), 256) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    for i in (0, len(wavs) - 1):
        ref = ge2e.model.embed_utterance(preprocess_wav(wavs[i]))
        assert float(ref @ vecs[i]) > 0.9999


def test_every_reference_voice_is_closest_to_itself(refs):
    rows, _, vecs, labels = refs
    assert len(set(labels)) >= 7 and LEARNER_VOICE in set(labels)
    margins = E.voice_margins(vecs, labels)
    for voice, m in margins.items():
        assert m["margin"] > 0, f"{voice}: same-voice {m['same']:.3f} <= {m['nearest_other']} {m['nearest_other_sim']:.3f}"
    same, diff = E.pair_scores(vecs, labels)
    eer, thr = E.equal_error_rate(same, diff)
    # GE2E separates these synthetic voices well; random vectors would give ~0.5.
    assert eer < 0.10, f"EER {eer:.3f}"
    shuffled = np.random.default_rng(0).permutation(labels)
    assert E.equal_error_rate(*E.pair_scores(vecs, shuffled))[0] > 0.3


def test_outlier_flagging_catches_a_planted_foreign_take(refs):
    rows, _, vecs, labels = refs
    learner = np.flatnonzero(labels == LEARNER_VOICE)
    ids = [f"learner_{i}" for i in range(len(learner))]
    assert not E.flag_outliers(vecs[learner], ids).flagged.any()
    for foreign_voice in sorted(set(labels) - {LEARNER_VOICE}):
        j = int(np.flatnonzero(labels == foreign_voice)[0])
        rep = E.flag_outliers(np.vstack([vecs[learner], vecs[j]]), ids + ["foreign"])
        assert rep.flagged_ids == ["foreign"], (foreign_voice, rep.table())


def test_stability_curve_reaches_the_full_embedding(ge2e, refs):
    _, wavs, vecs, labels = refs
    learner = [w for w, l in zip(wavs, labels) if l == LEARNER_VOICE]
    spk = E.speaker_embedding(vecs[labels == LEARNER_VOICE])
    curve = E.stability_curve(ge2e, learner, spk, seconds=[0.5, 2, 8, 16], orders=2, progress=False)
    assert curve["all"].shape == (2, 4)
    assert curve["mean"][-1] > 0.97          # 16 s of the same voice ~ the all-takes embedding
    assert curve["mean"][-1] > curve["mean"][0]  # half a second is noticeably less stable


def test_embed_takes_caches_and_recomputes_only_changed_files(ge2e, refs, tmp_path, monkeypatch):
    import shutil

    rows = [r for r in refs[0] if r["voice"] == LEARNER_VOICE][:4]
    local = []
    for r in rows:
        dest = tmp_path / Path(r["audio_path"]).name
        shutil.copy(r["audio_path"], dest)
        local.append({"id": dest.stem, "audio_path": str(dest)})
    calls = []
    real = ge2e._embed_batch
    monkeypatch.setattr(ge2e, "_embed_batch", lambda wavs: calls.append(len(wavs)) or real(wavs))
    cache = tmp_path / "takes_ge2e.npz"
    first = E.embed_takes(ge2e, local, cache, progress=False)
    assert sum(calls) == 4 and cache.exists()
    again = E.embed_takes(ge2e, local, cache, progress=False)
    assert sum(calls) == 4
    np.testing.assert_array_equal(first, again)
    # a changed take (re-recorded: here, the first take's audio swapped for the second's) is re-embedded
    shutil.copy(local[1]["audio_path"], local[0]["audio_path"])
    os.utime(local[0]["audio_path"], ns=(1, 1))
    third = E.embed_takes(ge2e, local, cache, progress=False)
    assert sum(calls) == 5
    assert float(third[0] @ first[1]) > 0.9999


def test_xvector_standin_offline_is_512d_and_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SPEECHLAB_WORK", str(tmp_path))
    enc = E.get_encoder("xvector")
    assert enc.is_standin and enc.dim == 512
    out = capsys.readouterr()
    assert "STAND-IN" in (out.out + out.err).upper()
    rng = np.random.default_rng(0)
    v = enc.embed([rng.normal(size=16000).astype(np.float32) * 0.1, rng.normal(size=24000).astype(np.float32) * 0.1],
                  progress=False)
    assert v.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="Unknown encoder"):
        E.get_encoder("wav2vec")
