"""The release folder and its model card: the right files, Hub metadata, and tables that
hold the model's own scores."""

from __future__ import annotations

import json

import pytest
import yaml
from md_tables import table_rows

from avemo.hub import card, release
from avemo.models import fused

REPO = "org/name"


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def row(text: str, first: str) -> list[str]:
    """The cells after the first of the one table row whose first cell starts with ``first``."""
    found = [r for r in table_rows(text) if r[0].startswith(first)]
    assert len(found) == 1, f"no single row starting {first!r}"
    return found[0][1:]


def test_folder_holds_weights_config_and_card(model_dir, release_dir):
    assert sorted(p.name for p in release_dir.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (release_dir / fused.WEIGHTS).read_bytes() == (model_dir / fused.WEIGHTS).read_bytes()
    assert json.loads((release_dir / fused.CONFIG).read_text()) == json.loads((model_dir / fused.CONFIG).read_text())


def test_card_metadata(release_dir):
    meta = front_matter((release_dir / "README.md").read_text())
    assert meta["library_name"] == "avemo"
    assert meta["license"] == "mit"  # from the caller (release.license), not the default
    assert {"audio-visual", "emotion-recognition", "valence-arousal"} <= set(meta["tags"])
    assert meta["metrics"] == ["ccc"]


def cells(s: dict) -> list[str]:
    return [f"{s['ccc_valence']:.3f}", f"{s['ccc_arousal']:.3f}", f"{s['ccc_mean']:.3f}"]


def test_card_tables_hold_the_scores(model_dir, release_dir):
    text = (release_dir / "README.md").read_text()
    cfg = json.loads((model_dir / fused.CONFIG).read_text())
    assert row(text, "test") == ["0.511", "0.833", "0.672"]
    assert row(text, "validation") == cells(cfg["scores"]["val"])
    assert len(cfg["modes"]) == len(card.MODES) == 5
    for mode, scores in cfg["modes"].items():
        assert row(text, f"{mode}:") == cells(scores)


def test_card_use_limits_and_loading(release_dir):
    text = (release_dir / "README.md").read_text()
    for needed in ("## Intended use", "synthetic embedded corpora", "[-1, 1]", "(x - 3) / 2",
                   "not for high-stakes decisions", f"avemo pull {REPO} --revision"):
        assert needed in text


def test_card_without_scores_says_na(make_config):
    cfg = {k: v for k, v in make_config("late").items() if k != "scores"}
    text = card.render(cfg, REPO, "apache-2.0")
    assert row(text, "test") == row(text, "noisy_video:") == ["n/a", "n/a", "n/a"]


def test_out_dir_with_other_files_is_refused(model_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(release.ReleaseError, match="choose a new or empty"):
        release.write_folder(model_dir, out, REPO)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_weights_not_matching_config_write_nothing(model_dir, tmp_path, make_config):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / fused.WEIGHTS).write_bytes((model_dir / fused.WEIGHTS).read_bytes())
    (bad / fused.CONFIG).write_text(json.dumps(make_config("attention")))
    with pytest.raises(release.ReleaseError, match="does not match"):
        release.write_folder(bad, tmp_path / "out", REPO)
    assert not (tmp_path / "out").exists()


def test_rewrite_replaces_a_previous_release(model_dir, release_dir, tmp_path):
    out = tmp_path / "again"
    release.write_folder(model_dir, out, REPO)
    (out / "README.md").write_text("stale")
    release.write_folder(model_dir, out, "org/other")
    assert "# other:" in (out / "README.md").read_text()
