import os
import stat

import pytest

from avemo.io import atomic_dir, atomic_path, write_json


def test_atomic_path_writes_whole_or_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")


def test_atomic_outputs_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {})
        with atomic_dir(tmp_path / "d") as d:
            (d / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_replace_block_rewrites_only_between_its_markers(tmp_path):
    from avemo.io import replace_block

    doc = tmp_path / "README.md"
    doc.write_text("# t\n<!-- table:start -->\nold\n<!-- table:end -->\nafter\n")
    assert replace_block(doc, "table", "| a |\n| --- |\n")
    assert doc.read_text() == "# t\n<!-- table:start -->\n| a |\n| --- |\n<!-- table:end -->\nafter\n"
    assert not replace_block(doc, "other", "x")  # no such block: nothing written
    assert not replace_block(tmp_path / "missing.md", "table", "x") and not (tmp_path / "missing.md").exists()
    assert "| a |" in doc.read_text()


def test_atomic_dir_replaces_old_content_only_on_success(tmp_path):
    target = tmp_path / "store"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as d:
        (d / "new").write_text("new")
        raise RuntimeError
    assert (target / "old").exists() and not (target / "new").exists()
    with atomic_dir(target) as d:
        (d / "new").write_text("new")
    assert not (target / "old").exists() and (target / "new").exists()
