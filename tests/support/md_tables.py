"""Reading markdown tables back in tests: cells without the padding."""

from __future__ import annotations

import re

_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def cells(line: str) -> list[str]:
    """The stripped cells of one table line (``\\|`` stays inside its cell)."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def table_rows(text: str) -> list[list[str]]:
    """Every table line of ``text`` (headers and body, not the rules) as its cells."""
    return [cells(ln) for ln in text.splitlines() if ln.startswith("|") and not _RULE.match(ln.strip())]
