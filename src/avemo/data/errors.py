"""The one error the ingest stage raises: it names the file (and line) and says how to fix it."""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """A corpus on disk does not match the layout or format the readers accept."""


def at(path: str | Path, lineno: int | None = None) -> str:
    """``path`` or ``path:lineno``, for the start of an error message."""
    return f"{path}:{lineno}" if lineno is not None else str(path)
