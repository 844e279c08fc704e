"""helpers.samplernn: quantisers, tier shapes and receptive fields, learning, causal generation, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import samplernn as S  # noqa: E402

TINY = dict(frame_sizes=(4, 4), n_rnn=1, dim=32, emb_dim=16)


@pytest.fixture(autouse=True)
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny models: one thread is fastest and polite to the shared CPU
    torch.manual_seed(0)
    yield
    torch.set_num_threads(old)


def periodic_codes(n: int, period: int = 32) -> np.ndarray:
    t = np.arange(n)
    x = 0.6 * np.sin(2 * np.pi * t / period) + 0.3 * np.sign(np.sin(2 * np.pi * t / (period * 2)))
    return S.quantize(x * 0.9, "linear").astype(np.uint8)


# -- quantisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["linear", "mu-law"])
def test_quantise_round_trip(method):
    x = np.linspace(-1, 1, 10001)
    codes = S.quantize(x, method)
    assert codes.min() == 0 and codes.max() == 255
    assert np.all(np.diff(codes) >= 0)                                  # monotonic
    back = S.dequantize(codes, method)
    assert np.array_equal(S.quantize(back, method), codes)              # codes survive a round trip exactly
    err = np.abs(back - x)
    if method == "linear":
        assert err.max() <= 1 / 256 + 1e-6                              # half a bin of width 2/256
    else:
        quiet = np.abs(x) < 0.01                                        # mu-law: fine steps when quiet
        assert err[quiet].max() < 3e-4 and err.max() < 0.025   # vs 1/256 everywhere for linear
    # torch and numpy give the same codes and values
    tc = S.quantize(torch.as_tensor(x), method)
    assert np.array_equal(tc.numpy(), codes)
    assert np.allclose(S.dequantize(tc, method).numpy(), back, atol=1e-6)
    assert abs(float(S.dequantize(np.array([S.zero_code(method)]), method)[0])) < 0.005


def test_quantise_clips_and_rejects_unknown():
    assert list(S.quantize(np.array([-3.0, 3.0]), "linear")) == [0, 255]
    with pytest.raises(ValueError, match="mu-law"):
        S.quantize(np.zeros(3), "a-law")


# -- shapes and receptive fields ---------------------------------------------------------------------

def test_tier_shapes():
    cfg = S.SampleRNNConfig(frame_sizes=(16, 4), n_rnn=2, dim=48, emb_dim=8)
    assert cfg.frame_samples == [16, 64] and cfg.lookback == 64 and cfg.n_tiers == 3
    model = S.build_model(cfg)
    b, t = 3, 128
    codes = torch.randint(0, 256, (b, cfg.lookback + t))
    logits, hidden = model(codes)
    assert logits.shape == (b, t, 256)
    assert [h.shape for h in hidden] == [(2, b, 48), (2, b, 48)]
    top, bottom = model.frame_tiers
    assert (top.frame_samples, top.ratio, bottom.frame_samples, bottom.ratio) == (64, 4, 16, 16)
    rows = S.tier_summary(cfg)
    assert [r["reads (samples)"] for r in rows] == [64, 16, 16]
    with pytest.raises(ValueError, match="multiple of 64"):
        model(codes[:, :100])
    lstm = S.build_model(cfg, rnn_type="lstm")
    _, hidden = lstm(codes)
    assert isinstance(hidden[0], tuple) and hidden[0][1].shape == (2, b, 48)


def test_receptive_field_of_each_tier():
    """Each tier's output for a frame depends on samples before the frame, never on the frame itself."""
    model = S.build_model(**TINY)                         # frames of 16 (top) and 4 (bottom) samples
    lb, t = model.cfg.lookback, 64
    codes = torch.randint(0, 256, (1, lb + t))
    outs: dict[str, torch.Tensor] = {}
    hooks = [tier.register_forward_hook(lambda m, i, o, k=k: outs.__setitem__(k, o[0].detach()))
             for k, tier in enumerate(model.frame_tiers)]
    base_logits, _ = model(codes)
    base = dict(outs)
    p = 37                                                # perturb target sample 37 (code index lb + 37)
    changed = codes.clone()
    changed[0, lb + p] = (changed[0, lb + p] + 128) % 256
    new_logits, _ = model(changed)
    for k, tier in enumerate(model.frame_tiers):
        n, r = tier.frame_samples, tier.ratio
        diff = (outs[k] - base[k]).abs().amax(-1)[0]       # per conditioning vector (one per n/r samples)
        step = n // r
        first_frame_reading_p = (p // n + 1) * n           # the first frame that starts after sample p
        assert diff[: first_frame_reading_p // step].max() == 0, f"tier {k} looked ahead"
        assert diff[first_frame_reading_p // step:].max() > 0, f"tier {k} never saw sample {p}"
    d = (new_logits - base_logits).abs().amax(-1)[0]
    assert d[: p + 1].max() == 0                           # the prediction of sample p and all before it
    assert d[p + 1: p + 1 + model.cfg.frame_sizes[0]].min() > 0   # the MLP reads the next 4 predictions directly


# -- learning ----------------------------------------------------------------------------------------

def test_nll_on_periodic_signal_falls_well_below_8_bits():
    codes = periodic_codes(20_000)
    model = S.build_model(**TINY)
    tc = S.TrainConfig(batch_size=8, seq_len=64, segment_len=256, lr=3e-3)
    trainer = S.Trainer(model, codes, codes[:4000], tc)
    start = trainer.evaluate()
    assert 7.0 < start < 9.0                                # untrained: about log2(256) = 8 bits
    for _ in range(150):
        trainer.train_step()
    end = trainer.evaluate()
    assert end < 1.0, f"NLL only fell from {start:.2f} to {end:.2f} bits/sample"


def test_training_errors_name_the_fix(tmp_path):
    model = S.build_model(**TINY)
    with pytest.raises(ValueError, match="SEGMENT_S"):
        S.Trainer(model, periodic_codes(500), None, S.TrainConfig(batch_size=2, seq_len=64, segment_len=1024))
    with pytest.raises(ValueError, match="multiple of the top frame"):
        S.Trainer(model, periodic_codes(5000), None, S.TrainConfig(seq_len=70))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        S.audio_files(tmp_path / "nope")
    with pytest.raises(ValueError, match="at least 2"):
        S.audio_files(tmp_path)


# -- generation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_generation_is_causal_and_matches_the_model(rnn_type):
    """Greedy generation = argmax of the model's own forward pass over what was generated, and a longer
    run (or a later change) never changes the samples already generated."""
    model = S.build_model(rnn_type=rnn_type, **TINY)
    lb = model.cfg.lookback
    gen = S.Generator(model, batch_size=2)
    out = gen.generate(10 * lb, temperature=0.0)
    assert out.shape == (2, 10 * lb)
    full = torch.cat([torch.full((2, lb), S.zero_code()), out], 1)
    with torch.no_grad():
        logits, _ = model(full)
    assert torch.equal(logits.argmax(-1), out)
    # sampling: the first samples do not depend on how many come after
    a = gen.generate(3 * lb, temperature=[0.7, 1.3], seed=4)
    b = gen.generate(8 * lb + 5, temperature=[0.7, 1.3], seed=4)
    assert torch.equal(a, b[:, : 3 * lb])
    # changing the priming clip's future (samples after the first generated ones) is impossible; changing
    # a *later* prime sample changes output, an unused earlier part of a long prime does not matter
    prime = torch.randint(0, 256, (4 * lb,))
    p1 = gen.generate(2 * lb, temperature=0.0, prime=prime)
    with torch.no_grad():
        lg, _ = model(torch.cat([prime[None].expand(2, -1), p1], 1))
    assert torch.equal(lg.argmax(-1)[:, 3 * lb:], p1)
    assert not torch.equal(gen.generate(3 * lb, temperature=1.0, seed=1), gen.generate(3 * lb, temperature=1.0, seed=2))


def test_temperature_controls_randomness():
    model = S.build_model(**TINY)
    trainer = S.Trainer(model, periodic_codes(20_000), None, S.TrainConfig(batch_size=8, seq_len=64, segment_len=256, lr=3e-3))
    for _ in range(60):
        trainer.train_step()
    gen = S.Generator(model, batch_size=3)
    out = gen.generate(400, temperature=[0.0, 1.0, 3.0], seed=0)
    full = torch.cat([torch.full((3, model.cfg.lookback), S.zero_code()), out], 1)
    with torch.no_grad():
        logits, _ = model(full)
    nll = -torch.log_softmax(logits, -1).gather(-1, out[..., None])[..., 0].mean(1)
    assert nll[0] < nll[1] < nll[2]            # hotter sampling picks less likely samples


# -- checkpoints -------------------------------------------------------------------------------------

def test_save_resume_continues_identically(tmp_path):
    codes = periodic_codes(8000)
    tc = S.TrainConfig(batch_size=4, seq_len=32, segment_len=96)   # 3 chunks per segment
    torch.manual_seed(1)
    straight = S.Trainer(S.build_model(**TINY), codes, None, tc)
    losses_a = [straight.train_step() for _ in range(8)]

    torch.manual_seed(1)
    first = S.Trainer(S.build_model(**TINY), codes, None, tc)
    losses_b = [first.train_step() for _ in range(4)]              # stop mid-segment, state carried
    ckpt = first.save(tmp_path / "ckpt" / "last.pt")
    torch.manual_seed(99)                                          # a different process would have other RNG
    resumed = S.Trainer(S.build_model(**TINY), codes, None, tc)
    resumed.load(ckpt)
    assert resumed.step == 4 and resumed.chunk == 1
    losses_b += [resumed.train_step() for _ in range(4)]
    assert losses_a == losses_b
    for (name, pa), pb in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    other = S.Trainer(S.build_model(**{**TINY, "dim": 16}), codes, None, tc)
    with pytest.raises(ValueError, match="different model"):
        other.load(ckpt)


def test_load_takes_from_a_folder(tmp_path):
    sf = pytest.importorskip("soundfile")
    rng = np.random.default_rng(0)
    for i in range(5):
        sf.write(tmp_path / f"take_{i}.wav", 0.1 * rng.standard_normal((44100 // 4, 2)), 44100)
    takes = S.load_takes(tmp_path, valid_fraction=0.2)
    assert len(takes["train"]) == 4 and len(takes["validation"]) == 1
    assert not set(takes["files"]["train"]) & set(takes["files"]["validation"])
    assert all(abs(len(a) - 4000) <= 1 for a in takes["train"])       # 0.25 s at 16 kHz, mono
    stream = S.encode_stream(takes["train"], "mu-law")
    assert stream.dtype == np.uint8 and len(stream) == sum(len(a) for a in takes["train"]) + 4 * 800
