"""helpers.asr_scratch: manifests report what they skip, CTC decoding is right, checkpoints resume
exactly, and each from-scratch model really learns a tiny fixed set on a CPU."""

import json
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import asr_scratch as S

from _asr_audio import piper_speech

@pytest.fixture(autouse=True)
def one_thread():
    """Small sequential models train faster on one thread than on two busy ones (GRU steps are tiny)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = ("The cat sat on the mat.", "Open the door please.", "I like green apples.",
        "We went home early.", "She reads a book.", "Turn on the light.")


# ---------------------------------------------------------------- manifest
def _tone(path, seconds=0.5, sr=22050):
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), sr)


def test_manifest_skips_and_reports_untranscribed(tmp_path):
    audio = tmp_path / "audio"
    (audio / "spk2").mkdir(parents=True)
    for name in ("a.wav", "b.wav", "c.flac", "spk2/d.wav"):
        _tone(audio / name)
    table = tmp_path / "transcripts.csv"
    table.write_text("path,transcript\na.wav,Hello there\nc.flac,Number 5\nb.wav,\"?!\"\n", encoding="utf-8")
    out = tmp_path / "out" / "manifest.jsonl"
    rep = S.make_manifest(audio, table, out=out)
    assert [r["text"] for r in rep.rows] == ["Hello there", "Number 5"]
    assert dict(rep.skipped) == {"b.wav": "empty transcript", "spk2/d.wav": "no transcript"}
    assert rep.rows[0]["duration_s"] == pytest.approx(0.5, abs=1e-3)
    assert "skipped 2" in rep.summary() and "spk2/d.wav" in rep.summary()
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and lines[1]["audio_path"].endswith("c.flac")


def test_manifest_sidecar_txt_and_errors(tmp_path):
    _tone(tmp_path / "x.wav")
    _tone(tmp_path / "y.wav")
    (tmp_path / "x.txt").write_text("side car\n", encoding="utf-8")
    rep = S.make_manifest(tmp_path)
    assert [r["id"] for r in rep.rows] == ["x"] and rep.skipped == [("y.wav", "no transcript")]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        S.make_manifest(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="transcript table"):
        S.make_manifest(tmp_path, tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'path' and 'transcript'"):
        S.make_manifest(tmp_path, bad)


# ---------------------------------------------------------------- vocab, features, decoding
def test_vocab_roundtrip():
    v = S.CharVocab()
    assert len(v) == 29
    ids = v.encode("Don't stop, 2 times!")
    assert 0 not in ids
    assert v.decode(ids) == "don't stop two times"


def test_greedy_decode_merges_repeats_and_drops_blanks():
    v = S.CharVocab()
    h, e, l, o = (v.index[c] for c in "helo")
    path = [h, h, 0, e, l, l, 0, l, o, 0, 0]  # "hh-ell-lo--" -> "hello"
    lp = torch.full((1, len(path) + 2, len(v)), -10.0)
    for t, k in enumerate(path):
        lp[0, t, k] = 0.0
    lp[0, len(path):, h] = 0.0                # frames past the length must be ignored
    assert S.greedy_decode(lp, torch.tensor([len(path)]), v) == ["hello"]


def test_featurizer_shapes_and_normalisation():
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    for kind, dim in (("logmel", 40), ("mfcc", 20)):
        f = S.Featurizer(kind, n_mels=dim, n_mfcc=dim)
        x = f(audio)
        assert tuple(x.shape) == (101, dim)                       # 10 ms hop
        assert float(x.mean(0).abs().max()) < 1e-4
        assert float(x.std(0).mean()) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("arch", ["deepspeech2", "wavenet"])
def test_output_lengths_match_forward(arch):
    cfg = S.PRESETS["quick"][arch]
    model = S.build_model(cfg).eval()
    lengths = torch.tensor([57, 100])
    lp, out_lens = model(torch.randn(2, 100, cfg.n_feats), lengths)
    assert lp.shape[1] == int(out_lens.max()) and lp.shape[2] == 29
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2]), atol=1e-4)
    assert out_lens.tolist() == (lengths if arch == "wavenet" else (lengths - 1) // 2 + 1).tolist()


# ---------------------------------------------------------------- learning
def _tiny_items(cfg):
    audio = piper_speech(TINY)
    f = S.Featurizer(cfg.features, n_mels=cfg.n_feats, n_mfcc=cfg.n_feats)
    return S.featurize([{"id": str(i), "audio": a, "text": t} for i, (a, t) in enumerate(zip(audio, TINY))],
                       f, S.CharVocab(), progress=False)


# Settings found to make both models memorise the tiny set reliably: Adam 3e-3, all six in one batch.
LEARN_STEPS = {"deepspeech2": 40, "wavenet": 40}


@pytest.mark.parametrize("arch", ["deepspeech2", "wavenet"])
def test_model_learns_tiny_set(arch):
    torch.manual_seed(0)
    cfg = S.PRESETS["quick"][arch]
    items, vocab = _tiny_items(cfg), S.CharVocab()
    model = S.build_model(cfg)
    before = S.score_items(model, items, vocab)
    start = time.perf_counter()
    hist = S.fit(model, items, vocab, S.TrainConfig(epochs=LEARN_STEPS[arch], batch_size=6, lr=3e-3, clip=5.0,
                                                    eval_every=10), progress=False)
    seconds = time.perf_counter() - start
    after = hist[-1]
    assert hist[-1]["step"] == LEARN_STEPS[arch]
    assert before["cer"] > 0.8                           # untrained: nothing right
    assert after["train_cer"] < 0.5, hist                # trained: most characters right
    assert after["loss"] < hist[0]["loss"] / 3
    assert seconds < 60


def test_gradient_clipping_bounds_the_update():
    torch.manual_seed(0)
    cfg = S.PRESETS["quick"]["wavenet"]
    items = _tiny_items(cfg)[:2]
    model = S.build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    before = [p.detach().clone() for p in model.parameters()]
    loss, norm = S.train_step(model, S.collate(items), opt, clip=1e-3)
    assert norm > 1e-3                                     # the raw gradient was larger than the limit...
    moved = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert float(moved) == pytest.approx(1e-3, rel=1e-2)  # ...and the step was cut to it


def test_checkpoint_resume_is_exact(tmp_path):
    cfg = S.PRESETS["quick"]["wavenet"]
    items, vocab = _tiny_items(cfg)[:4], S.CharVocab()
    tc = S.TrainConfig(epochs=4, batch_size=2, lr=1e-3, clip=5.0, eval_every=2)

    torch.manual_seed(1)
    straight = S.build_model(cfg)
    h_straight = S.fit(straight, items, vocab, tc, progress=False)

    torch.manual_seed(1)
    first = S.build_model(cfg)
    ckpt = tmp_path / "wavenet.pt"
    S.fit(first, items, vocab, S.TrainConfig(**{**tc.__dict__, "epochs": 2}), checkpoint=ckpt, progress=False)
    torch.manual_seed(123)                                 # a fresh process would not share the RNG state
    resumed = S.build_model(cfg)
    h_resumed = S.fit(resumed, items, vocab, tc, checkpoint=ckpt, progress=False)
    assert [r["step"] for r in h_resumed] == [2, 4, 6, 8]
    assert h_resumed[-1]["loss"] == pytest.approx(h_straight[-1]["loss"], rel=1e-4)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5)
    # a finished run returns at once, unchanged
    again = S.fit(S.build_model(cfg), items, vocab, tc, checkpoint=ckpt, progress=False)
    assert again == h_resumed
    model, hist = S.load_trained(ckpt)
    assert hist == h_resumed and S.count_params(model) == S.count_params(resumed)
    with pytest.raises(ValueError, match="different model"):
        S.fit(S.build_model(S.PRESETS["quick"]["deepspeech2"]), items, vocab, tc, checkpoint=ckpt, progress=False)


def test_time_budget_stops_after_a_scored_epoch():
    cfg = S.PRESETS["quick"]["wavenet"]
    items = _tiny_items(cfg)[:2]
    hist = S.fit(S.build_model(cfg), items, S.CharVocab(),
                 S.TrainConfig(epochs=50, batch_size=2, eval_every=10, max_seconds=0.0), progress=False)
    assert len(hist) == 1 and "train_cer" in hist[0]      # stopped at once, and the last epoch was scored
