"""Small offline *stand-ins* for the models no PyPI package ships.

Why this module exists
----------------------
Profile ``quick`` runs without the Hugging Face Hub, but the notebooks must still
exercise the *real* code path: ``SpeechT5ForTextToSpeech.from_pretrained(folder)``,
``SpeechT5HifiGan.from_pretrained(folder)``, ``EncoderClassifier.from_hparams(source=folder)``.
So we build, locally and in seconds, folders that look exactly like the real hub
repositories on disk — same config keys, same file names, same formats
(safetensors, SentencePiece model, HyperPyYAML + SpeechBrain checkpoints) — from
the real models' settings at a much smaller size, with random weights.

A stand-in's *output is meaningless* (noise-like audio, random embeddings). It exists
so that shapes, dtypes, tokenisation, padding, training loops and saving all work
the same way offline as in profile ``full``. Every stand-in folder holds a
``SPEECHLAB_STANDIN.md`` explaining this, and transformers configs carry
``"speechlab_standin": true``; :func:`helpers.models.warn_if_standin` prints a loud
banner whenever one is loaded.

Build them with ``python -m helpers.standins [--rebuild] [name ...]`` or, from code,
``helpers.models.standin("speecht5_tts")`` (builds on first use).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator

MARKER_FILE = "SPEECHLAB_STANDIN.md"
CONFIG_FLAG = "speechlab_standin"
SEED = 1234

# --- the SpeechT5 character vocabulary ----------------------------------------------
# The real microsoft/speecht5_tts tokenizer is a SentencePiece *character* model with
# 79 pieces (<s>=0, <pad>=1, </s>=2, <unk>=3, "▁"=4, then characters, most frequent
# first) plus two added tokens, <mask>=79 and <ctc_blank>=80: vocab_size 81.
# It has letters of both cases, the apostrophe, some punctuation and a few accented
# letters, and NO digits (numbers must be spelled out, transformers#23480).
# We mirror that set; the exact accented letters and their order are our best
# reconstruction, not a copy.
LOWER = "etaonihsrdlumcwfgypbvk'xjqz"  # English letter frequency order, apostrophe where it sits in the real vocab
UPPER = "TIASWHMBCODNLFPGEYRJUKVQZX"
PUNCT = ".,?!-;:\"()"
ACCENTED = "àâçèéêíïñôü"
CHARS = LOWER + UPPER + PUNCT + ACCENTED  # 27 + 26 + 10 + 11 = 74 characters (+ "▁" + 4 specials = 79 pieces)
ADDED_TOKENS = ("<mask>", "<ctc_blank>")

MARKER_TEXT = """# ⚠ Speech Lab STAND-IN model: `{name}`

This folder is **not** the real `{real}`.
It was built offline by `helpers/standins.py` from the real model's configuration at
**reduced size**, with **randomly initialised weights** (seed {seed}).
It is saved in the same on-disk format as the real repository, so the exact loading
code of the notebooks works on it.

Its audio / embeddings / predictions are NOT meaningful. It exists so that profile
`quick` can run every cell offline on a CPU in minutes.

For real results run profile `full` with Hugging Face Hub access
(`SPEECHLAB_PROFILE=full`), or pass a local copy of the real model.

Details: {details}
"""


def _mark(folder: Path, name: str, real: str, details: str) -> None:
    (folder / MARKER_FILE).write_text(
        MARKER_TEXT.format(name=name, real=real, seed=SEED, details=details), encoding="utf-8"
    )


def _flag_config(folder: Path) -> None:
    """Add ``"speechlab_standin": true`` to a transformers ``config.json`` (extra keys are kept on load)."""
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg[CONFIG_FLAG] = True
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _seed() -> None:
    import numpy as np
    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


# --- SpeechT5 tokenizer ---------------------------------------------------------------

def _training_text(n_lines: int = 200) -> list[str]:
    """Generated lines where character i of :data:`CHARS` is more frequent than i+1.

    SentencePiece orders a char model's pieces by frequency, so this reproduces the
    real vocabulary's "most frequent first" layout. Every character appears; no digit does.
    """
    rng = random.Random(SEED)
    pool: list[str] = []
    for rank, ch in enumerate(CHARS):
        pool.extend(ch * (3 * (len(CHARS) - rank) + 2))
    rng.shuffle(pool)
    words, i = [], 0
    while i < len(pool):
        n = rng.randint(1, 7)
        words.append("".join(pool[i:i + n]))
        i += n
    lines = [" ".join(words[k:k + 12]) for k in range(0, len(words), 12)]
    return lines[:n_lines] if len(lines) > n_lines else lines


def train_char_spm(dest_model: Path) -> Path:
    """Train the SentencePiece character model ``spm_char.model`` and write it to ``dest_model``."""
    import io

    import sentencepiece as spm

    lines = _training_text()
    assert not any(c.isdigit() for line in lines for c in line)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="char",
        vocab_size=4 + 1 + len(CHARS),  # specials + "▁" + characters = 79, like the real one
        character_coverage=1.0,
        bos_id=0, pad_id=1, eos_id=2, unk_id=3,
        bos_piece="<s>", pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        normalization_rule_name="identity",  # keep characters as written (no NFKC folding)
        add_dummy_prefix=True,
        num_threads=1,
        minloglevel=2,
    )
    dest_model.write_bytes(buf.getvalue())
    return dest_model


# --- builders ---------------------------------------------------------------------------

def tts_config_kwargs(size: str = "small") -> dict:
    """``SpeechT5Config`` settings: the real ``microsoft/speecht5_tts`` ones, size reduced (``size="real"``: not reduced).

    Kept as the real model: 80 mel bins, reduction factor 2, 512-d speaker embeddings,
    guided attention loss (2 heads, sigma 0.4, scale 10), relative positions up to 160,
    max 600 text / 1876 speech positions, vocab 81, special ids, dropouts.
    Reduced: hidden 768 → 64, 12+6 layers → 2+2, 12 heads → 4, FFN 3072 → 128,
    pre-net 256 → 64 units, post-net 5×256 → 3×64.
    """
    _check_size(size)
    kwargs = dict(
        vocab_size=81, hidden_size=64,
        encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128, encoder_layerdrop=0.1,
        decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=128, decoder_layerdrop=0.1,
        hidden_act="gelu", positional_dropout=0.1, hidden_dropout=0.1, attention_dropout=0.1,
        activation_dropout=0.1, initializer_range=0.02, layer_norm_eps=1e-5, scale_embedding=False,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        num_mel_bins=80, reduction_factor=2, speaker_embedding_dim=512,
        speech_decoder_prenet_layers=2, speech_decoder_prenet_units=64, speech_decoder_prenet_dropout=0.5,
        speech_decoder_postnet_layers=3, speech_decoder_postnet_units=64, speech_decoder_postnet_kernel=5,
        speech_decoder_postnet_dropout=0.5,
        max_speech_positions=1876, max_text_positions=600, encoder_max_relative_position=160,
        use_guided_attention_loss=True, guided_attention_loss_num_heads=2,
        guided_attention_loss_sigma=0.4, guided_attention_loss_scale=10.0,
        use_cache=True, is_encoder_decoder=True,
    )
    if size == "real":
        kwargs.update(REAL_TTS_SIZE)
    return kwargs


# The sizes of the real microsoft/speecht5_tts (its config.json): what size="real" builds.
REAL_TTS_SIZE = dict(
    hidden_size=768, encoder_layers=12, encoder_attention_heads=12, encoder_ffn_dim=3072,
    decoder_layers=6, decoder_attention_heads=12, decoder_ffn_dim=3072,
    speech_decoder_prenet_units=256, speech_decoder_postnet_layers=5, speech_decoder_postnet_units=256,
)
SIZES = ("small", "real")


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"Unknown stand-in size {size!r}: choose one of {SIZES}.")


def build_speecht5_tts(dest: Path, size: str = "small") -> None:
    """SpeechT5ForTextToSpeech + SpeechT5Processor (trained char tokenizer, real feature-extractor defaults)."""
    import tempfile

    from transformers import (SpeechT5Config, SpeechT5FeatureExtractor, SpeechT5ForTextToSpeech,
                              SpeechT5Processor, SpeechT5Tokenizer)

    _seed()
    model = SpeechT5ForTextToSpeech(SpeechT5Config(**tts_config_kwargs(size)))
    model.save_pretrained(dest, safe_serialization=True)
    _flag_config(dest)

    with tempfile.TemporaryDirectory() as tmp:
        spm_path = train_char_spm(Path(tmp) / "spm_char.model")
        tokenizer = SpeechT5Tokenizer(vocab_file=str(spm_path))
        tokenizer.add_special_tokens({"mask_token": "<mask>", "additional_special_tokens": ["<ctc_blank>"]})
        feature_extractor = SpeechT5FeatureExtractor(  # the real defaults, spelled out
            feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=False, num_mel_bins=80,
            hop_length=16, win_length=64, win_function="hann_window", fmin=80, fmax=7600, mel_floor=1e-10,
            return_attention_mask=True,
        )
        processor = SpeechT5Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)
        processor.save_pretrained(dest)
    n = sum(p.numel() for p in model.parameters())
    _mark(dest, "speecht5_tts", "microsoft/speecht5_tts",
          f"SpeechT5ForTextToSpeech, {n:,} parameters (real: ~144 M); "
          + ("hidden 64, 2+2 layers; " if size == "small" else "the real sizes (hidden 768, 12+6 layers); ") +
          f"character tokenizer trained locally on {len(CHARS)} characters (letters, apostrophe, "
          "punctuation, a few accented letters; no digits).")


def build_speecht5_hifigan(dest: Path, size: str = "small") -> None:
    """SpeechT5HifiGan with the real upsampling (4·4·4·4 = 256 samples = 16 ms hop at 16 kHz), 64 channels in
    (``size="real"``: the real 512)."""
    import torch
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    _seed()
    config = SpeechT5HifiGanConfig(
        model_in_dim=80, sampling_rate=16000, upsample_initial_channel=64 if size == "small" else 512,
        upsample_rates=[4, 4, 4, 4], upsample_kernel_sizes=[8, 8, 8, 8],
        resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        initializer_range=0.01, leaky_relu_slope=0.1, normalize_before=True,
    )
    vocoder = SpeechT5HifiGan(config)
    # normalize_before: the real vocoder stores the mean / std of its training log-mels
    # (per mel bin) and normalises its input with them. Ours: fixed, plausible values for
    # SpeechT5 log10-mels (low bins louder than high ones), so the code path is the same.
    with torch.no_grad():
        bins = torch.linspace(0.0, 1.0, config.model_in_dim)
        vocoder.mean.copy_(-4.0 - 2.0 * bins)
        vocoder.scale.copy_(torch.full((config.model_in_dim,), 1.5))
    vocoder.save_pretrained(dest, safe_serialization=True)
    _flag_config(dest)
    n = sum(p.numel() for p in vocoder.parameters())
    _mark(dest, "speecht5_hifigan", "microsoft/speecht5_hifigan",
          f"SpeechT5HifiGan, {n:,} parameters (real: ~14 M); upsample_initial_channel "
          f"{config.upsample_initial_channel} (real 512), "
          "same upsample rates (product 256 = 16 ms hop), normalize_before stats are fixed made-up values.")


XVECT_N_SPEAKERS = 16  # real: 7205 VoxCeleb speakers; a small classifier keeps the folder tiny
XVECT_CHANNELS = [128, 128, 128, 128, 384]  # real: [512, 512, 512, 512, 1500]
XVECT_REAL = {"channels": [512, 512, 512, 512, 1500], "n_speakers": 7205}  # size="real"

XVECT_HPARAMS = """# ############################################################################
# Speech Lab STAND-IN for speechbrain/spkrec-xvect-voxceleb (see SPEECHLAB_STANDIN.md)
# Same structure as the real hyperparams.yaml; reduced TDNN channels and classes,
# randomly initialised weights. Embeddings are 512-d like the real ones.
# ############################################################################

# Feature parameters
n_mels: 24

# Pretrain folder: overridden with the local folder by helpers.models.load_speaker_encoder_sb
pretrained_path: {pretrained_path}

# Output parameters
out_n_neurons: {n_speakers}

# Model params
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>

mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False

embedding_model: !new:speechbrain.lobes.models.Xvector.Xvector
    in_channels: !ref <n_mels>
    activation: !name:torch.nn.LeakyReLU
    tdnn_blocks: 5
    tdnn_channels: {channels}
    tdnn_kernel_sizes: [5, 3, 3, 1, 1]
    tdnn_dilations: [1, 2, 3, 1, 1]
    lin_neurons: 512

classifier: !new:speechbrain.lobes.models.Xvector.Classifier
    input_shape: [null, null, 512]
    activation: !name:torch.nn.LeakyReLU
    lin_blocks: 1
    lin_neurons: 512
    out_neurons: !ref <out_n_neurons>

mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False

modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        mean_var_norm_emb: !ref <mean_var_norm_emb>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""


def build_xvect(dest: Path, size: str = "small") -> None:
    """A ``speechbrain/spkrec-xvect-voxceleb``-shaped folder: hyperparams.yaml + the four checkpoint files."""
    import torch
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.lobes.models.Xvector import Classifier, Xvector
    from speechbrain.processing.features import InputNormalization

    _seed()
    channels = XVECT_CHANNELS if size == "small" else XVECT_REAL["channels"]
    n_speakers = XVECT_N_SPEAKERS if size == "small" else XVECT_REAL["n_speakers"]
    act = torch.nn.LeakyReLU
    emb = Xvector(in_channels=24, activation=act, tdnn_blocks=5, tdnn_channels=channels,
                  tdnn_kernel_sizes=[5, 3, 3, 1, 1], tdnn_dilations=[1, 2, 3, 1, 1], lin_neurons=512)
    clf = Classifier(input_shape=[None, None, 512], activation=act, lin_blocks=1, lin_neurons=512,
                     out_neurons=n_speakers)
    # Global embedding statistics, as the real checkpoint holds: gathered from the
    # (random) model's own embeddings of random noise.
    norm = InputNormalization(norm_type="global", std_norm=False)
    emb.eval()
    with torch.no_grad():
        feats = torch.randn(8, 200, 24)
        e = emb(feats)
        norm.train()
        norm(e, torch.ones(e.shape[0]))
    torch.save(emb.state_dict(), dest / "embedding_model.ckpt")
    torch.save(clf.state_dict(), dest / "classifier.ckpt")
    norm._save(dest / "mean_var_norm_emb.ckpt")
    enc = CategoricalEncoder()
    enc.update_from_iterable([f"standin{i:04d}" for i in range(n_speakers)])
    enc.save(dest / "label_encoder.txt")
    (dest / "hyperparams.yaml").write_text(
        XVECT_HPARAMS.format(pretrained_path="speechlab/spkrec-xvect-voxceleb-standin",
                             n_speakers=n_speakers, channels=channels),
        encoding="utf-8")
    n = sum(p.numel() for p in emb.parameters())
    _mark(dest, "spkrec-xvect-voxceleb", "speechbrain/spkrec-xvect-voxceleb",
          f"SpeechBrain Xvector, {n:,} embedding parameters (real: ~4.2 M); TDNN channels {channels} "
          f"(real [512, 512, 512, 512, 1500]); 512-d embeddings like the real one; classifier over "
          f"{n_speakers} made-up speakers (real: 7205 VoxCeleb speakers).")


W2V2_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ"]  # the real 32 labels


def build_wav2vec2(dest: Path, size: str = "small") -> None:
    """A ``facebook/wav2vec2-base-960h``-shaped folder: Wav2Vec2ForCTC + processor (the real 32-label
    character vocabulary, the real feature-extractor settings). Real size: 12 layers of 768 (~94 M)."""
    import json as _json

    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor,
                              Wav2Vec2ForCTC, Wav2Vec2Processor)

    _seed()
    kwargs = dict(vocab_size=len(W2V2_VOCAB), pad_token_id=0, bos_token_id=1, eos_token_id=2,
                  ctc_loss_reduction="sum", do_stable_layer_norm=False, feat_extract_norm="group")
    if size == "small":
        kwargs.update(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                      conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
    model = Wav2Vec2ForCTC(Wav2Vec2Config(**kwargs))
    model.save_pretrained(dest, safe_serialization=True)
    _flag_config(dest)
    vocab = dest / "vocab.json"
    vocab.write_text(_json.dumps({c: i for i, c in enumerate(W2V2_VOCAB)}), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    Wav2Vec2Processor(feature_extractor=fe, tokenizer=tokenizer).save_pretrained(dest)
    n = sum(p.numel() for p in model.parameters())
    _mark(dest, "wav2vec2-base-960h", "facebook/wav2vec2-base-960h",
          f"Wav2Vec2ForCTC, {n:,} parameters (real: ~94 M); the real 32-label character vocabulary.")


BUILDERS: dict[str, Callable[..., None]] = {
    "speecht5_tts": build_speecht5_tts,
    "speecht5_hifigan": build_speecht5_hifigan,
    "spkrec-xvect-voxceleb": build_xvect,
    "wav2vec2-base-960h": build_wav2vec2,
}


# The hub repository each stand-in stands in for (what :func:`place_in_hub_cache` files it under).
HUB_IDS: dict[str, str] = {
    "speecht5_tts": "microsoft/speecht5_tts",
    "speecht5_hifigan": "microsoft/speecht5_hifigan",
    "spkrec-xvect-voxceleb": "speechbrain/spkrec-xvect-voxceleb",
    "wav2vec2-base-960h": "facebook/wav2vec2-base-960h",
}


def standins_dir() -> Path:
    """``<work dir>/models/standins``: where stand-ins live (per work dir, never in the repo)."""
    from .config import work_dir

    return work_dir() / "models" / "standins"


def build(name: str, rebuild: bool = False, size: str = "small") -> Path:
    """Build stand-in ``name`` (if missing, or always with ``rebuild``) atomically; return its folder.

    ``size="small"`` (the default: seconds on a CPU, a few MB) or ``size="real"``: the real model's
    sizes (SpeechT5 ~144 M parameters, HiFi-GAN ~13 M, x-vector ~4 M + 7205 classes), still random,
    for rehearsing the ``full`` profile's memory and speed on a GPU without the Hub
    (``scripts/rehearse_full.py``). Real-size ones live in ``standins/real/<name>``.

    The folder is written under a temporary name and renamed into place only when
    complete, so an interrupted build never leaves a half stand-in that looks valid.
    """
    from .files import atomic_dir

    if name not in BUILDERS:
        raise KeyError(f"Unknown stand-in {name!r}: choose one of {sorted(BUILDERS)}.")
    _check_size(size)
    dest = standins_dir() / name if size == "small" else standins_dir() / "real" / name
    if (dest / MARKER_FILE).exists() and not rebuild:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(dest) as tmp, _quiet_progress():
        BUILDERS[name](tmp, size=size)
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; a model folder is ordinary data
    return dest


def place_in_hub_cache(name: str, folder: Path, cache_dir: Path) -> Path:
    """File stand-in ``folder`` in a Hugging Face cache (``cache_dir``, the layout of ``$HF_HUB_CACHE``)
    as the snapshot of its hub repository (:data:`HUB_IDS`); return the snapshot folder.

    Offline, :func:`helpers.models.resolve` answers a hub id with its snapshot in the local cache, so with
    ``HF_HUB_CACHE=cache_dir`` every notebook cell that names ``microsoft/speecht5_tts`` (and the others)
    loads the stand-in through its unchanged code path. Files are hard-linked where possible (else copied).
    """
    import os
    import shutil

    repo = HUB_IDS[name]
    repo_dir = Path(cache_dir) / ("models--" + repo.replace("/", "--"))
    revision = "0" * 40  # a made-up commit: the snapshot is ours, not the Hub's
    snap = repo_dir / "snapshots" / revision
    if snap.exists():
        shutil.rmtree(snap)
    snap.mkdir(parents=True)
    for src in Path(folder).iterdir():
        if src.is_file():
            try:
                os.link(src, snap / src.name)
            except OSError:
                shutil.copy2(src, snap / src.name)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snap


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """Hide transformers' "Writing model shards" bars while building, then restore the setting."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m helpers.standins [--rebuild] [name ...]`` (no name: all)."""
    from .files import size_mb

    ap = argparse.ArgumentParser(prog="python -m helpers.standins", description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*",
                    help=f"stand-ins to build (default: all): {', '.join(BUILDERS)}")
    ap.add_argument("--rebuild", action="store_true", help="rebuild even if already built")
    ap.add_argument("--size", choices=SIZES, default="small",
                    help="small (default; seconds, a few MB) or real (the real models' sizes, random weights)")
    args = ap.parse_args(argv)
    names = args.names or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        ap.error(f"unknown stand-in(s) {unknown}; choose from {list(BUILDERS)}")
    for name in names:
        t0 = time.perf_counter()
        path = build(name, rebuild=args.rebuild, size=args.size)
        print(f"{name:24s} {size_mb(path):6.2f} MB  {time.perf_counter() - t0:5.1f} s  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
