"""The hidden truth of the embedded corpora: ``<corpus root>/_truth/``.

Only the generator writes it and only quality reports read it (the oracle, pseudo-labels scored
against the truth, cue correlations). A real corpus has none, so no product stage depends on
it: a report that needs it writes null for those figures and says why in its ``truth`` entry.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = "_truth"


def folder(root: str | Path) -> Path | None:
    """``root/_truth`` when the corpus carries a hidden truth, else None."""
    path = Path(root) / FOLDER
    return path if path.is_dir() else None


def status(roots: dict[str, str | Path]) -> dict:
    """``{"available": bool, "reason": str | None}`` for the corpora a report would read."""
    missing = [f"{name} ({root})" for name, root in roots.items() if folder(root) is None]
    if not missing:
        return {"available": True, "reason": None}
    return {"available": False,
            "reason": f"no hidden truth ({FOLDER}/) in {', '.join(missing)}: only the embedded corpora "
                      f"carry one; real corpora are scored against their gold labels only"}
