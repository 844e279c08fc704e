"""helpers.tts / helpers.tts_eval on the offline SpeechT5 stand-in: real code paths, real numbers."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import models, tts, tts_eval  # noqa: E402

SR = 16_000


@pytest.fixture(scope="module")
def standin():
    proc, model, voc = models.load_speecht5(models.standin("speecht5_tts"), models.standin("speecht5_hifigan"))
    return proc, model, voc


def fresh_model():
    return models.load_speecht5(models.standin("speecht5_tts"), None)[1]


def _tone(seconds: float, f0: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * f0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def examples(standin):
    proc = standin[0]
    rows = [{"id": f"u{i}", "text": f"Take {i + 1} of the test, read at {i + 7} pm.",
             "audio": _tone(0.6 + 0.17 * i, 110 + 20 * i)} for i in range(10)]
    ex, dropped = tts.prepare_examples(proc, rows, progress=False)
    assert dropped == []
    return ex


@pytest.fixture(scope="module")
def spk():
    v = np.random.default_rng(0).normal(size=512).astype(np.float32)
    return v / np.linalg.norm(v)


def test_text_normalisation_spells_digits_and_maps_unknown_characters(standin):
    proc = standin[0]
    ids, used = tts.text_to_input_ids(proc, "Meet me at 7 — café №5!")
    assert "7" not in used and "seven" in used.lower()
    vocab = tts.tokenizer_chars(proc)
    assert "№" not in vocab and "—" not in vocab  # so the test really exercises the mapping
    assert set(used) <= vocab, f"characters outside the vocabulary: {set(used) - vocab}"
    unk = proc.tokenizer.unk_token_id
    assert unk not in ids, f"unknown characters reached the tokenizer: {used!r}"
    raw_ids = proc(text="Meet me at 7")["input_ids"]  # what the recipe gets without normalising:
    assert len(raw_ids) < len(ids)                    # the digit silently vanishes or becomes <unk>
    with pytest.raises(ValueError, match="Nothing to synthesise"):
        tts.text_to_input_ids(proc, "   ")


def test_prepare_examples_filters_by_length(standin):
    proc = standin[0]
    rows = [{"id": "short", "text": "Hi.", "audio": _tone(0.2, 200)},
            {"id": "long_text", "text": "word " * 80, "audio": _tone(2.0, 200)},
            {"id": "ok", "text": "A fine sentence.", "audio": _tone(1.5, 200)}]
    ex, dropped = tts.prepare_examples(proc, rows, max_tokens=200, min_seconds=0.5, progress=False)
    assert [e["id"] for e in ex] == ["ok"]
    assert {d["id"] for d in dropped} == {"short", "long_text"}
    # 1.5 s at a 16 ms hop -> about 94 log-mel frames of 80 bins
    assert ex[0]["labels"].shape[1] == 80 and 90 <= ex[0]["labels"].shape[0] <= 96


def test_collator_pads_with_minus_100_and_rounds_down_to_reduction_factor(standin, examples, spk):
    proc, model, _ = standin
    feats = examples[:3]
    frames = [len(f["labels"]) for f in feats]
    coll = tts.TTSDataCollator(proc.tokenizer.pad_token_id, spk, model.config.reduction_factor)
    batch = coll(feats)
    top = max(frames)
    assert batch["labels"].shape == (3, top - top % 2, 80)
    assert batch["labels"].shape[1] % model.config.reduction_factor == 0
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (3, max(len(f["input_ids"]) for f in feats))
    assert batch["speaker_embeddings"].shape == (3, 512)
    for i, n in enumerate(frames):
        keep = min(n, batch["labels"].shape[1])
        assert not (batch["labels"][i, :keep] == -100).any()
        assert (batch["labels"][i, keep:] == -100).all()
        assert torch.allclose(batch["labels"][i, :keep], torch.as_tensor(feats[i]["labels"][:keep]))
    assert (batch["input_ids"][batch["attention_mask"] == 0] == proc.tokenizer.pad_token_id).all()
    # an odd longest length is rounded DOWN (never padded up)
    mel = np.random.default_rng(0).normal(size=(51, 80)).astype(np.float32)
    odd = [dict(feats[0], labels=mel), dict(feats[1], labels=mel[:40])]
    assert coll(odd)["labels"].shape[1] == 50


def test_length_grouped_batches_cover_everything_and_group_lengths():
    lengths = list(np.random.default_rng(1).integers(50, 500, size=200))
    batches = tts.length_grouped_batches(lengths, 8, seed=0, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(200))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    rand = np.mean([np.ptp([lengths[i] for i in b]) for b in tts.random_batches(200, 8, 0, 0)])
    assert spread < rand / 3, (spread, rand)
    assert batches == tts.length_grouped_batches(lengths, 8, seed=0, epoch=0)  # deterministic (resume)
    two = [tts.length_grouped_batches(lengths, 8, 0, 0, num_replicas=2, rank=r) for r in (0, 1)]
    assert len(two[0]) == len(two[1]) and not set(map(tuple, two[0])) & set(map(tuple, two[1]))


def test_short_training_lowers_the_loss_and_keeps_the_best(tmp_path, examples, spk, standin):
    proc = standin[0]
    model = fresh_model()
    cfg = tts.TrainConfig(strategy="full", learning_rate=3e-3, warmup_steps=2, max_steps=16, micro_batch_size=4,
                          grad_accum=1, eval_every=8, save_every=8, log_every=4, precision="fp32")
    res = tts.train(model, proc, examples[:8], examples[8:], spk, tmp_path / "run", cfg, progress=False)
    steps, losses = res.losses("train")
    assert steps[-1] == 16
    assert losses[-1] < 0.8 * losses[0], losses
    _, val = res.losses("val")
    assert res.best_val_loss == min(val) and val[-1] < val[0]
    assert (tmp_path / "run" / "best" / "config.json").exists()
    assert (tmp_path / "run" / "best" / "speaker_embedding.npy").exists()
    reloaded = models.load_speecht5(tmp_path / "run" / "best", None)[1]
    best_val = tts.evaluate_loss(tts.make_train_module(reloaded, "full"), examples[8:],
                                 tts.TTSDataCollator(proc.tokenizer.pad_token_id, spk), 4, "cpu")
    assert best_val == pytest.approx(res.best_val_loss, rel=1e-4)


@pytest.mark.parametrize("strategy", ["frozen_encoder", "speaker_embedding_only"])
def test_strategies_train_only_their_part(tmp_path, examples, spk, standin, strategy):
    proc = standin[0]
    model = fresh_model()
    enc_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("speecht5.encoder.")}
    dec_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("speecht5.decoder.")}
    cfg = tts.TrainConfig(strategy=strategy, learning_rate=1e-2, warmup_steps=1, max_steps=4, micro_batch_size=4,
                          grad_accum=1, eval_every=0, save_every=4, precision="fp32")
    res = tts.train(model, proc, examples, [], spk, tmp_path / strategy, cfg, progress=False)
    after = model.state_dict()
    assert all(torch.equal(enc_before[k], after[k]) for k in enc_before)  # encoder never moves
    dec_moved = any(not torch.equal(dec_before[k], after[k]) for k in dec_before)
    if strategy == "frozen_encoder":
        assert dec_moved
        assert res.trainable_params < sum(p.numel() for p in model.parameters())
    else:
        assert not dec_moved and res.trainable_params == 512
        assert not np.allclose(res.speaker_embedding, spk)


class _Interrupt(Exception):
    pass


def test_checkpoint_interrupt_resume_continues_at_the_right_step(tmp_path, examples, spk, standin):
    proc = standin[0]
    cfg = tts.TrainConfig(strategy="full", learning_rate=1e-3, warmup_steps=2, max_steps=4, micro_batch_size=4,
                          grad_accum=2, eval_every=0, save_every=2, log_every=1, precision="fp32")
    # uninterrupted reference run
    ref_model = fresh_model()
    tts.train(ref_model, proc, examples, [], spk, tmp_path / "ref", cfg, progress=False)

    # same run, "killed" at step 3 (after the step-2 checkpoint)
    def kill(event, info):
        if event == "log" and info["step"] == 3:
            raise _Interrupt
    with pytest.raises(_Interrupt):
        tts.train(fresh_model(), proc, examples, [], spk, tmp_path / "cut", cfg, callbacks=[kill], progress=False)
    saved = json.loads((tmp_path / "cut" / "last" / "trainer_state.json").read_text())
    assert saved["step"] == 2 and saved["micro_batches_seen"] == 4
    optim = torch.load(tmp_path / "cut" / "last" / "optim.pt", weights_only=False)
    assert optim["scheduler"]["last_epoch"] == 2
    assert {int(s["step"]) for s in optim["optimizer"]["state"].values()} == {2}

    # re-run: a fresh model object, as after a kernel restart
    model = fresh_model()
    res = tts.train(model, proc, examples, [], spk, tmp_path / "cut", cfg, progress=False)
    assert res.resumed_from == 2 and res.step == 4
    for (k, a), b in zip(ref_model.state_dict().items(), model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), f"{k} differs from the uninterrupted run"
    # a finished run re-run is a no-op that returns at once
    again = tts.train(fresh_model(), proc, examples, [], spk, tmp_path / "cut", cfg, progress=False)
    assert again.resumed_from == 4 and again.step == 4


def test_generation_is_bounded_and_warns_when_stop_never_fires(standin, spk):
    proc, model, voc = standin
    ids, _ = tts.text_to_input_ids(proc, "A sentence that a random model will never finish on its own.")
    with pytest.warns(tts.GenerationStopWarning, match="never fired"):
        mel, info = tts.generate_mel(model, ids, spk, threshold=1.01, max_seconds=1.0)  # stop can never fire
    assert not info["stopped"] and mel.shape[0] == info["max_frames"] <= int(1.0 * tts.FRAMES_PER_SECOND)
    mel2, info2 = tts.generate_mel(model, ids, spk, threshold=0.0, max_seconds=1.0)  # fires at once
    assert info2["stopped"] and mel2.shape == (model.config.reduction_factor, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tts.GenerationStopWarning)
        audio, infos = tts.synthesise(model, proc, voc, "One. Two is 2! Three?", spk, max_seconds=0.5)
    assert [i["text"] for i in infos] == ["One.", "Two is 2!", "Three?"]
    assert infos[1]["text_used"].lower().count("two") == 2
    assert len(audio) <= 3 * (0.5 + 0.15) * SR + 3 * 256 * 4


def test_split_sentences_keeps_every_word():
    text = "Dr. Smith arrived. It was 5 p.m.! Then — quietly — he left? " + "a, " * 150 + "end."
    parts = tts.split_sentences(text, max_chars=120)
    assert all(len(p) <= 121 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_mcd_zero_for_identical_small_for_shifted_large_for_noise():
    a = _tone(1.5, 180) + 0.01 * np.random.default_rng(0).normal(size=int(1.5 * SR)).astype(np.float32)
    shifted = np.concatenate([np.zeros(3000, np.float32), a])
    noise = np.random.default_rng(1).normal(0, 0.1, len(a)).astype(np.float32)
    same, shift, far = tts_eval.mcd_dtw(a, a), tts_eval.mcd_dtw(a, shifted), tts_eval.mcd_dtw(a, noise)
    assert same == 0.0
    assert shift < 0.5 * far, (shift, far)


def test_synth_manifest_replaces_a_systems_rows(tmp_path):
    items = [{"path": tmp_path / "a" / "x.wav", "text": "hi", "system": "a"},
             {"path": tmp_path / "b" / "x.wav", "text": "hi", "system": "b"}]
    path = tts_eval.write_synth_manifest(tmp_path, items)
    tts_eval.write_synth_manifest(tmp_path, [{"path": tmp_path / "a" / "y.wav", "text": "yo", "system": "a"}])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((r["system"], r["text"]) for r in rows) == [("a", "yo"), ("b", "hi")]


def test_ab_trials_are_blind_shuffled_and_complete():
    clips = {f"s{i}": {"real": np.zeros(1), "baseline": np.ones(1), "fine-tuned": np.full(1, 2.0)} for i in range(6)}
    trials = tts_eval.ab_trials(clips, seed=3)
    orders = {tuple(name for _, name, _ in t["slots"]) for t in trials}
    assert len(orders) > 1  # not always the same order
    for t in trials:
        assert [s[0] for s in t["slots"]] == ["A", "B", "C"]
        assert sorted(s[1] for s in t["slots"]) == ["baseline", "fine-tuned", "real"]
    assert tts_eval.tally({"s0": "real", "s1": "real", "s2": "baseline"}) == {"real": 2, "baseline": 1}


def test_speaker_similarity_with_ge2e_scores_an_empty_clip_zero():
    from helpers import embeddings

    judge = embeddings.get_encoder("ge2e")
    rng = np.random.default_rng(0)
    voice = [_tone(2.0, f0) + 0.02 * rng.normal(size=2 * SR).astype(np.float32) for f0 in (120, 125, 130)]
    other = rng.normal(0, 0.2, 2 * SR).astype(np.float32)
    sims = tts_eval.speaker_similarity(judge, [voice[0], other, np.zeros(512, np.float32)], voice[1:])
    assert sims[2] == 0.0                      # a 0.03 s clip (stop fired at once) has no voice to judge
    assert sims[0] > sims[1]                   # a take like the references beats white noise
    assert -1.0 <= sims.min() and sims.max() <= 1.0


def test_mcd_is_on_the_usual_db_scale_and_ignores_loudness():
    """Two voices reading the same sentence: a few dB apart (the usual MCD scale), not tens; gain changes nothing."""
    import csv

    from helpers.config import SAMPLE_DATA

    rows = list(csv.DictReader((SAMPLE_DATA / "voices" / "voices.csv").open()))
    sent = rows[0]["transcript"]
    same = [r for r in rows if r["transcript"] == sent]
    a, b = (tts.read_audio(SAMPLE_DATA / r["path"]) for r in same[:2])
    assert tts_eval.mcd_dtw(a, 2.0 * a) < 1e-6  # c0 (loudness) is not part of MCD
    between = tts_eval.mcd_dtw(a, b)
    # measured: 8.4-11.0 dB between flite_slt and the 7 other sample voices, same sentence
    assert 3.0 < between < 15.0, between


def test_keep_last_returns_what_training_did_not_the_best(tmp_path, examples, spk, standin):
    """The collapse experiment keeps the last weights: with a far-too-high rate the best checkpoint is step 0."""
    proc = standin[0]
    cfg = dict(strategy="full", learning_rate=3e-1, warmup_steps=1, max_steps=4, micro_batch_size=4, grad_accum=1,
               eval_every=2, save_every=4, log_every=1, precision="fp32")
    start = fresh_model()
    start_val = tts.evaluate_loss(tts.make_train_module(start, "full"), examples[8:],
                                  tts.TTSDataCollator(proc.tokenizer.pad_token_id, spk), 4, "cpu")
    runs = {}
    for keep in ("best", "last"):
        model = fresh_model()
        res = tts.train(model, proc, examples[:8], examples[8:], spk, tmp_path / keep, tts.TrainConfig(keep=keep, **cfg),
                        progress=False)
        runs[keep] = tts.evaluate_loss(tts.make_train_module(model, "full"), examples[8:],
                                       tts.TTSDataCollator(proc.tokenizer.pad_token_id, spk), 4, "cpu")
        last_val = res.losses("val")[1][-1]
        if keep == "last":
            assert runs[keep] == pytest.approx(last_val, rel=1e-4)  # in memory: the final weights
        else:
            assert runs[keep] == pytest.approx(res.best_val_loss, rel=1e-4)
    with pytest.raises(ValueError, match="keep"):
        tts.TrainConfig(keep="middle")


def test_interpolate_weights_mixes_linearly_and_leaves_both_models_alone(standin):
    """WiSE-FT: alpha 0 is the base, 1 the fine-tuned model, 0.5 the midpoint of every float weight."""
    base = fresh_model()
    tuned = fresh_model()
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(0.1 * torch.randn_like(p))
    before = {k: v.clone() for k, v in tuned.state_dict().items()}
    b_sd, t_sd = base.state_dict(), tuned.state_dict()
    for alpha in (0.0, 0.5, 1.0):
        mixed = tts.interpolate_weights(base, tuned, alpha).state_dict()
        for k in ("speecht5.encoder.wrapped_encoder.layers.0.attention.k_proj.weight", "speech_decoder_postnet.feat_out.weight"):
            expect = (1 - alpha) * b_sd[k] + alpha * t_sd[k]
            assert torch.allclose(mixed[k], expect, atol=1e-6), (k, alpha)
    mid = tts.interpolate_weights(base, tuned, 0.5).state_dict()
    k = "speech_decoder_postnet.feat_out.weight"
    assert 0 < (mid[k] - b_sd[k]).abs().mean() < (t_sd[k] - b_sd[k]).abs().mean()
    assert all(torch.equal(v, tuned.state_dict()[k2]) for k2, v in before.items())  # the fine-tuned model is untouched
    with pytest.raises(ValueError, match="alpha"):
        tts.interpolate_weights(base, tuned, 1.5)


def test_resume_refuses_a_checkpoint_made_from_other_starting_weights(tmp_path, examples, spk, standin):
    """Change the base model, re-run the notebook: the old checkpoint must not be silently continued."""
    proc = standin[0]
    cfg = tts.TrainConfig(strategy="full", learning_rate=1e-3, warmup_steps=1, max_steps=2, micro_batch_size=4,
                          grad_accum=1, eval_every=2, save_every=2, log_every=1, precision="fp32")
    tts.train(fresh_model(), proc, examples[:8], examples[8:], spk, tmp_path / "run", cfg, progress=False)
    again = tts.train(fresh_model(), proc, examples[:8], examples[8:], spk, tmp_path / "run", cfg, progress=False)
    assert again.resumed_from == 2  # same starting weights: resumes
    other = fresh_model()
    with torch.no_grad():
        next(other.parameters()).add_(0.01)
    assert tts.weights_fingerprint(other) != tts.weights_fingerprint(fresh_model())
    with pytest.raises(ValueError, match="different starting weights"):
        tts.train(other, proc, examples[:8], examples[8:], spk, tmp_path / "run", cfg, progress=False)


def test_synthesised_files_carry_the_synthetic_speech_tag(tmp_path, standin, spk):
    from helpers import disclosure

    proc, model, voc = standin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tts.GenerationStopWarning)
        path, _ = tts.synthesise_to_wav(tmp_path / "v.wav", model, proc, voc, "Hello there.", spk, max_seconds=0.3,
                                        generator="a test voice")
        items = tts_eval.synthesise_set(model, proc, voc, spk, [{"id": "s1", "text": "One more."}], "sys", tmp_path,
                                        max_seconds=0.3, progress=False)
    for p, said in ((path, "Hello there."), (items[0]["path"], "One more.")):
        info = disclosure.read_wav_info(p)
        assert disclosure.is_synthetic(p), info
        assert said in " ".join(map(str, info.values()))
    assert "a test voice" in " ".join(map(str, disclosure.read_wav_info(path).values()))


def test_wilson_interval_and_bootstrap_say_how_far_few_sentences_go():
    lo, hi = tts_eval.wilson_interval(14, 14)
    assert 0.77 < lo < 0.80 and hi == 1.0  # 14/14 cannot rule out a true share of 78%
    lo, hi = tts_eval.wilson_interval(7, 14)
    assert 0.26 < lo < 0.28 and 0.72 < hi < 0.74
    assert tts_eval.wilson_interval(0, 14)[0] == 0.0
    lo16, _ = tts_eval.wilson_interval(16, 16)
    assert lo16 > lo and tts_eval.wilson_interval(160, 160)[0] > 0.97  # more sentences, tighter
    refs = ["the cat sat on the mat", "a dog ran far away", "we read ten books", "it rained all day"]
    hyps = ["the cat sat on the mat", "a dig ran away", "we read ten books", "it rained"]
    w_lo, w_hi = tts_eval.bootstrap_wer(refs, hyps, seed=0)
    errs, words = tts_eval.sentence_errors(refs, hyps)
    assert list(errs) == [0, 2, 0, 2] and errs.sum() / words.sum() == pytest.approx(4 / 19)
    assert w_lo < 4 / 19 < w_hi and w_lo >= 0 and w_hi <= 4 / 8
    d, d_lo, d_hi = tts_eval.paired_wer_difference(refs, refs, hyps, seed=0)
    assert d == pytest.approx(4 / 19) and 0 <= d_lo <= d <= d_hi


def test_choose_alpha_follows_the_stated_rule():
    real_reader = {0.5: {"wer": 0.349, "closer_to_you": 0.5}, 0.75: {"wer": 0.388, "closer_to_you": 1.0}}
    assert tts_eval.choose_alpha(real_reader, 0.306)[0] == 0.75  # 0.5 is not yours; 0.75 is, within 10 points
    sample = {0.5: {"wer": 0.145, "closer_to_you": 0.875}, 0.75: {"wer": 0.184, "closer_to_you": 1.0}}
    assert tts_eval.choose_alpha(sample, 0.149)[0] == 0.75  # both within the budget: the one more often yours
    tie = {0.5: {"wer": 0.145, "closer_to_you": 1.0}, 0.75: {"wer": 0.184, "closer_to_you": 1.0}}
    a, why = tts_eval.choose_alpha(tie, 0.149)
    assert a == 0.5 and "no α met both" not in why  # equally yours: the smaller α reads better
    budget = {0.5: {"wer": 0.24, "closer_to_you": 0.875}, 0.75: {"wer": 0.26, "closer_to_you": 1.0}}
    assert tts_eval.choose_alpha(budget, 0.149)[0] == 0.5  # 0.75 is more yours but reads 11 points worse
    over = {0.5: {"wer": 0.30, "closer_to_you": 0.6}, 0.75: {"wer": 0.50, "closer_to_you": 1.0}}
    a, why = tts_eval.choose_alpha(over, 0.25)
    assert a == 0.5 and "no α met both" in why  # 0.75 reads too badly: the best within the budget
    a, why = tts_eval.choose_alpha({0.5: {"wer": 0.6, "closer_to_you": 1.0}, 0.75: {"wer": 0.7, "closer_to_you": 1.0}}, 0.2)
    assert a == 0.5 and "lowest WER" in why
    with pytest.raises(ValueError):
        tts_eval.choose_alpha({}, 0.2)


def test_ensure_min_test_holds_out_a_fixed_number_deterministically():
    def splits(n):
        rows = [{"id": f"t{i:03d}", "split": "train"} for i in range(n)]
        return {"train": rows[2:], "validation": rows[:1], "test": rows[1:2]}
    a, b = splits(141), splits(141)
    b["train"] = b["train"][::-1]  # file order must not matter
    moved = tts_eval.ensure_min_test(a, 16)
    assert len(moved) == 15 and len(a["test"]) == 16 and sorted(moved) == sorted(tts_eval.ensure_min_test(b, 16))
    assert not set(moved) & {r["id"] for r in a["train"]} and len(a["train"]) == 139 - 15
    small = splits(30)
    tts_eval.ensure_min_test(small, 16)
    assert len(small["test"]) == 10  # never more than a third of the takes
    assert tts_eval.ensure_min_test(a, 16) == []  # already enough: nothing moves
