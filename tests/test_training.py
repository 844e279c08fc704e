"""helpers.training (what makes the training loops fast) and the checkpoint safety around them."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import files, models, training, tts  # noqa: E402

from test_tts import _tone  # noqa: E402  (same synthetic takes as the other training tests)


@pytest.fixture(scope="module")
def proc():
    return models.load_speecht5(models.standin("speecht5_tts"), None)[0]


@pytest.fixture(scope="module")
def examples(proc):
    rows = [{"id": f"u{i}", "text": f"Take {i + 1} of the test, read at {i + 7} pm.",
             "audio": _tone(0.6 + 0.17 * i, 110 + 20 * i)} for i in range(12)]
    return tts.prepare_examples(proc, rows, progress=False)[0]


@pytest.fixture(scope="module")
def spk():
    v = np.random.default_rng(0).normal(size=512).astype(np.float32)
    return v / np.linalg.norm(v)


def fresh_model():
    return models.load_speecht5(models.standin("speecht5_tts"), None)[1]


@pytest.mark.parametrize("gb,expect", [(15.1, 32), (16, 32), (24, 32), (40, 64), (80, 128), (141, 256), (4, 8)])
def test_micro_batch_follows_the_cards_memory(gb, expect):
    b = training.micro_batch_for_memory(gb * 1e9)
    assert b == expect
    # the rule's own promise: the activations of that batch fit in the headroom, twice as many would not
    assert b * training.GB_PER_UTTERANCE <= training.MEMORY_HEADROOM * gb
    assert b == 256 or 2 * b * training.GB_PER_UTTERANCE > training.MEMORY_HEADROOM * gb


def test_scaled_schedule_sees_the_same_utterances_with_a_square_root_rate():
    s = training.scale_schedule(128, ref_batch=32, ref_steps=400, ref_lr=5e-5, ref_warmup=40, ref_eval_every=20)
    assert (s.batch, s.steps, s.warmup_steps, s.eval_every) == (128, 100, 10, 5)
    assert s.utterances == 400 * 32
    assert s.learning_rate == pytest.approx(2e-4)
    same = training.scale_schedule(32, 32, 400, 5e-5, 40, 20)
    assert (same.steps, same.learning_rate, same.warmup_steps) == (400, 5e-5, 40)
    # never more utterances in a step than the training set holds
    small = training.scale_schedule(256, 32, 400, 5e-5, 40, 20, train_size=100)
    assert small.batch == 100 and small.steps == 128 and small.utterances >= 400 * 32
    with pytest.raises(ValueError):
        training.scale_schedule(0, 32, 400, 5e-5, 40, 20)


def test_loss_meter_reads_back_only_when_asked():
    m = training.LossMeter()
    assert math.isnan(m.mean())
    for v in (1.0, 2.0, 4.5):
        m.add(torch.tensor(v))
    assert len(m) == 3 and m.mean() == pytest.approx(2.5)
    assert len(m) == 0  # reset after reading


def test_prefetcher_keeps_the_order_and_surfaces_errors():
    batches = [{"x": torch.full((2,), float(i))} for i in range(7)]
    got = [int(b["x"][0]) for b in training.Prefetcher(iter(batches), "cpu", depth=2)]
    assert got == list(range(7))

    def broken():
        yield {"x": torch.zeros(1)}
        raise ValueError("take_7.wav: bad labels")
    it = training.Prefetcher(broken(), "cpu")
    next(it)
    with pytest.raises(ValueError, match="take_7.wav"):
        next(it)


def test_a_bigger_batch_with_the_scaled_schedule_learns_the_same(tmp_path, examples, proc, spk):
    """The full profile's rule (same utterances, lr * B/B0) must not change the fine-tune's result:
    the loss falls the same way, measured against utterances seen, on a CPU."""
    ref = training.Schedule(batch=2, steps=16, learning_rate=4e-3, warmup_steps=2, eval_every=8)
    big = training.scale_schedule(4, ref.batch, ref.steps, ref.learning_rate, ref.warmup_steps, ref.eval_every)
    assert big.utterances == ref.utterances
    finals, firsts = [], []
    for name, s in (("ref", ref), ("big", big)):
        cfg = tts.TrainConfig(strategy="full", learning_rate=s.learning_rate, warmup_steps=s.warmup_steps,
                              max_steps=s.steps, micro_batch_size=s.batch, grad_accum=1, eval_every=s.eval_every,
                              save_every=s.steps, log_every=s.eval_every, precision="fp32", seed=0)
        res = tts.train(fresh_model(), proc, examples[:10], examples[10:], spk, tmp_path / name, cfg, progress=False)
        _, val = res.losses("val")
        firsts.append(val[0])
        finals.append(val[-1])
    assert firsts[0] == pytest.approx(firsts[1], rel=1e-5)  # same starting point
    for first, last in zip(firsts, finals):
        assert last < 0.85 * first, (firsts, finals)           # both learn
    assert abs(finals[0] - finals[1]) < 0.15 * finals[0], finals  # ... to the same place


def test_damaged_checkpoint_is_a_message_naming_the_file(tmp_path, examples, proc, spk):
    cfg = tts.TrainConfig(strategy="full", learning_rate=1e-3, warmup_steps=1, max_steps=2, micro_batch_size=4,
                          eval_every=0, save_every=2, log_every=1, precision="fp32")
    tts.train(fresh_model(), proc, examples, [], spk, tmp_path / "run", cfg, progress=False)
    optim = tmp_path / "run" / "last" / "optim.pt"
    data = optim.read_bytes()
    optim.write_bytes(data[: len(data) // 3])  # a copy cut short
    more = tts.TrainConfig(**{**cfg.__dict__, "max_steps": 4})
    with pytest.raises(tts.CheckpointError, match=r"optim\.pt.*damaged.*Delete the folder"):
        tts.train(fresh_model(), proc, examples, [], spk, tmp_path / "run", more, progress=False)
    (tmp_path / "run" / "last" / "trainer_state.json").unlink()  # resume looks no further: starts over, no crash
    assert tts.train(fresh_model(), proc, examples, [], spk, tmp_path / "run", more, progress=False).step == 4


def test_litter_of_a_killed_run_is_removed_and_a_checkpoint_caught_mid_swap_put_back(tmp_path, examples, proc, spk):
    cfg = tts.TrainConfig(strategy="full", learning_rate=1e-3, warmup_steps=1, max_steps=2, micro_batch_size=4,
                          eval_every=0, save_every=2, log_every=1, precision="fp32")
    run = tmp_path / "run"
    tts.train(fresh_model(), proc, examples, [], spk, run, cfg, progress=False)
    # what SIGKILL inside atomic_dir/atomic_path leaves: the old checkpoint renamed aside, no `last`,
    # a half-filled temporary folder and a 0-byte temporary file
    os.replace(run / "last", run / ".last.old-4242")
    (run / ".last.abc123").mkdir()
    (run / ".last.abc123" / "optim.pt").write_bytes(b"")
    (run / ".history.json.x1y2.json").write_bytes(b"")
    removed = files.tidy_atomic_leftovers(run / "last")
    assert (run / "last" / "trainer_state.json").exists()  # the complete previous version is back
    assert json.loads((run / "last" / "trainer_state.json").read_text())["step"] == 2
    assert {p.name for p in removed} == {".last.abc123"}
    more = tts.TrainConfig(**{**cfg.__dict__, "max_steps": 3})
    (run / ".last.zz9").mkdir()
    res = tts.train(fresh_model(), proc, examples, [], spk, run, more, progress=False)
    assert res.resumed_from == 2 and res.step == 3
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_sync_free_loss_has_the_stock_value_and_gradient(examples, proc, spk):
    model = fresh_model()
    model.train()
    torch.manual_seed(0)
    batch = tts.TTSDataCollator(proc.tokenizer.pad_token_id, spk, model.config.reduction_factor)(examples[:5])
    assert (batch["labels"] == -100).any() and model.config.use_guided_attention_loss  # every term is exercised
    results = []
    for fast in (False, True):
        tts.use_sync_free_loss(fast)
        model.zero_grad()
        with torch.random.fork_rng():
            torch.manual_seed(1)  # the decoder pre-net's dropout is always on
            loss = model(**batch).loss
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((loss.detach(), grads))
    tts.use_sync_free_loss(True)
    assert results[1][0] == pytest.approx(float(results[0][0]), rel=1e-5)
    assert torch.allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)


def test_atomic_outputs_get_the_users_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        f = files.write_text(tmp_path / "a.txt", "x")
        with files.atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("y")
    finally:
        os.umask(old)
    assert f.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
