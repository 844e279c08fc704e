"""The hostile corpus (tests/hostile_corpus.py) through helpers.prep: every case gets its verdict or exit status
and message, the raw folder's bytes never change, and a re-run is safe. Plus the real home reader in LJSpeech
layout (../shared/realspeech), which must prepare as it is and refuse an --out that is its own raw folder."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from helpers import prep
from hostile_corpus import FOLDER_CASES, build_takes, read_only_out, sha256_tree

REALSPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "realspeech"


@pytest.fixture(scope="module")
def takes_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    raw, prompts, cases = build_takes(root)
    before = sha256_tree(raw)
    out = root / "out"
    result = prep.prepare(raw, prompts, out, progress=False, write_hf=False)
    return root, raw, prompts, out, cases, before, result


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def test_every_hostile_take_gets_its_verdict_and_message(takes_run) -> None:
    _, _, _, _, cases, _, result = takes_run
    assert len(cases) >= 30
    rows = {_key(r["file"]): r for r in result.rows}
    for c in cases:
        name = _key(c.file or c.prompt_name)
        if not c.in_report:
            assert name not in rows, f"{name} is not a take and must not be reported"
            continue
        r = rows[name]
        got = r["reason"] or ""
        assert (r["verdict"], got) == (("excluded", c.reason) if c.reason else ("ok", "")), (name, r)
        where = r.get("error", "") if c.reason else r.get("warnings", "")
        assert c.fragment in where, (name, c.fragment, where)
    assert any("hidden file" in n for n in result.notes)
    manifest = {m["id"]: m for m in result.manifest}
    assert manifest["comma"]["text"] == "Peas at the wall, much to our dismay"   # joined, never cut
    assert {"take with spaces", "café_señal", "LOUD_EXT", "studio_take"} <= set(manifest)
    assert len(manifest) == sum(1 for c in cases if not c.reason and c.in_report)


def test_hostile_outputs_are_readable_and_raw_unchanged(takes_run) -> None:
    _, raw, _, out, _, before, _ = takes_run
    assert sha256_tree(raw) == before
    for p in [out / "manifest.jsonl", out / "report.csv", *sorted((out / "wavs").iterdir())]:
        assert p.stat().st_mode & 0o044 == 0o044, f"{p} is not readable by group/others (mode {p.stat().st_mode:o})"


def test_rerun_is_safe_and_cleans_only_what_prep_wrote(takes_run) -> None:
    root, raw, prompts, out, _, before, first = takes_run
    mine = out / "wavs" / "keep_me.txt"
    mine.write_text("a file of the learner's in the output folder")
    again = prep.prepare(raw, prompts, out, progress=False, write_hf=False)
    assert (again.processed, again.reused) == (0, len(first.rows))
    assert [r["reason"] for r in again.rows] == [r["reason"] for r in first.rows]
    # a take leaves the folder (on a copy: raw itself is never touched by the test either)
    raw2 = root / "raw_copy"
    shutil.copytree(raw, raw2)
    (raw2 / "pcm24.wav").unlink()
    before2 = sha256_tree(raw2)
    prep.prepare(raw2, prompts, out, progress=False, write_hf=False)
    assert not (out / "wavs" / "pcm24.wav").exists() and (out / "wavs" / "pcm16.wav").exists()
    assert mine.read_text().startswith("a file of the learner's")      # not prep's: never deleted
    assert sha256_tree(raw2) == before2 and sha256_tree(raw) == before
    report = {r["file"]: r for r in prep.read_report(out)}
    assert report["pcm24.wav"]["reason"] == "missing_file"


@pytest.mark.parametrize("case", FOLDER_CASES, ids=[c.name for c in FOLDER_CASES])
def test_hostile_folder_case(case, tmp_path, capsys) -> None:
    argv = case.build(tmp_path)
    raw = Path(argv[argv.index("--raw") + 1])
    out = Path(argv[argv.index("--out") + 1])
    if case.fragment == "permission denied" and read_only_out(tmp_path / "probe") is None:
        pytest.skip("no folder this user cannot write to (root without /sys)")
    before = sha256_tree(raw) if raw.is_dir() else {}
    code = prep.main(argv)
    text = capsys.readouterr().out
    assert code == case.exit, text
    assert case.fragment in text, text
    if raw.is_dir():
        assert sha256_tree(raw) == before, "the raw folder changed"
    if case.exit == 0:
        manifest = {m["id"]: m["text"] for m in prep.load_manifest(out)}
        for take_id, want in case.texts.items():
            assert manifest[unicodedata.normalize("NFC", take_id)] == want
        assert prep.main(argv) == 0 and "unchanged 2" in capsys.readouterr().out    # a re-run reuses everything
        assert sha256_tree(raw) == before
    elif case.exit == 2 and out.is_dir() and raw.is_dir() and not str(out).startswith(str(raw)):
        assert not (out / "manifest.jsonl").exists(), "bad input must stop before anything is written"


@pytest.fixture(scope="module")
def homereader():
    root = REALSPEECH / "homereader"
    if not (root / "metadata.csv").is_file():
        pytest.skip(f"real speech not here ({root}): it lives outside the repository, in the workplace's shared/")
    return root


def test_real_home_reader_in_ljspeech_layout(homereader, tmp_path, capsys) -> None:
    """The real reader's folder as it is: wavs/ of FLAC + metadata.csv (id|text|normalized, no header)."""
    before = sha256_tree(homereader)
    out = tmp_path / "x"
    code = prep.main(["--raw", str(homereader / "wavs"), "--prompts", str(homereader / "metadata.csv"),
                      "--out", str(out), "--no-hf", "--trim", "energy"])   # the layout is tested, not the trim: fast
    text = capsys.readouterr().out
    assert code == 0, text
    rows = prep.read_report(out)
    n_files = len(list((homereader / "wavs").glob("*.flac")))
    assert len(rows) == n_files == 141
    ok = [r for r in rows if r["verdict"] == "ok"]
    assert len(ok) >= 0.95 * n_files, [(r["file"], r["reason"]) for r in rows if r["verdict"] != "ok"]
    source = json.loads((out / "source.json").read_text())
    assert source["sample"] is False and source["raw_dir"] == str((homereader / "wavs").resolve())
    # --out the raw folder itself, and the LJSpeech root above wavs/: both refused, nothing written
    for bad in (homereader / "wavs", homereader):
        assert prep.main(["--raw", str(homereader / "wavs"), "--out", str(bad), "--no-hf"]) == 2
        assert "raw folder" in capsys.readouterr().out
    assert sha256_tree(homereader) == before


NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_recording_prep.ipynb"


def _own_folder(root: Path, kind: str) -> tuple[Path, Path]:
    """A learner's folder for notebook 01: one good take, or nothing readable at all."""
    import soundfile as sf

    from hostile_corpus import SENTENCE, speech

    raw = root / "my_takes"
    raw.mkdir(parents=True)
    if kind == "one take":
        sf.write(str(raw / "mine_001.wav"), speech(44_100), 44_100, subtype="PCM_24")
        table = f"filename;transcript\nmine_001.wav;{SENTENCE}\n"
    else:
        (raw / "broken.wav").write_text("not audio\n" * 40)
        (raw / "empty.flac").write_bytes(b"")
        table = f"broken.wav,{SENTENCE}\nempty.flac,{SENTENCE}\n"
    (root / "prompts.csv").write_text(table, encoding="utf-8")
    return raw, root / "prompts.csv"


@pytest.mark.parametrize("kind", ["one take", "nothing readable"])
def test_notebook_01_runs_on_a_learners_folder(kind, tmp_path, monkeypatch) -> None:
    """Every cell of notebook 01 works on a folder that is not the sample: with one take (nothing excluded), and
    with nothing readable (everything excluded). Its figures say so, and the raw folder is untouched."""
    import papermill

    raw, table = _own_folder(tmp_path, kind)
    before = sha256_tree(raw)
    work = tmp_path / "work"
    for k, v in {"SPEECHLAB_WORK": work, "SPEECHLAB_RAW_DIR": raw, "SPEECHLAB_PROMPTS": table,
                 "SPEECHLAB_CHECK_READING": "false", "SPEECHLAB_FRONTEND": "none", "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(k, str(v))
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               cwd=str(NOTEBOOK.parent), progress_bar=False)
    figures = json.loads((work / "results" / "01_recording_prep.json").read_text())
    assert sha256_tree(raw) == before
    if kind == "one take":
        assert (figures["takes_total"], figures["takes_ok"]) == (1, 1)
        assert figures["excluded_reasons"] == {} and figures["usable_minutes"] > 0.05
    else:
        assert (figures["takes_total"], figures["takes_ok"]) == (2, 0)
        assert figures["excluded_reasons"] == {"broken.wav": "corrupt", "empty.flac": "empty"}
        text = (tmp_path / "out.ipynb").read_text()
        assert "No file in" in text and "none of the 2 takes is usable" in text
    assert "sample_data" not in figures.get("prompts_table", "")
