"""The one markdown table helper: pipe tables, cells as given, pipes escaped."""

from __future__ import annotations

from md_tables import table_rows

from avemo.tables import markdown_table


def test_cells_are_kept_as_given_and_aligned():
    md = markdown_table([["test", "0.500", None], ["a|b", 7, "two\nlines"]], ["split", "CCC", "note"],
                        align=["left", "right", "left"])
    lines = md.splitlines()
    assert len(lines) == 4 and not md.endswith("\n")
    assert len({len(ln) for ln in lines}) == 1  # padded into columns
    assert lines[1].startswith("|:") and lines[1].split("|")[2].endswith(":")
    assert table_rows(md) == [["split", "CCC", "note"], ["test", "0.500", "None"], ["a|b", "7", "two lines"]]


def test_no_rows_is_a_header():
    assert table_rows(markdown_table([], ["a", "b"])) == [["a", "b"]]
