"""Reading a Comet offline archive back in tests: the metrics, params and uploaded files.

The archive's layout (json lines of messages in a zip) is Comet's private format; only the
tests that check what a run logged read it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _messages(zip_path: Path) -> Iterator[dict]:
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if not name.endswith((".json", ".jsonl")):
                continue
            text = zf.read(name).decode("utf-8", errors="replace")
            for line in text.splitlines():
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


def _find_metrics(obj: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict):
        if "metricName" in obj and "metricValue" in obj:
            yield obj["metricName"], obj["metricValue"]
        for v in obj.values():
            yield from _find_metrics(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find_metrics(v)


def metrics(zip_path: str | Path) -> dict[str, list[float]]:
    """Metric name -> values (in logged order) from a Comet offline archive."""
    out: dict[str, list[float]] = {}
    for msg in _messages(Path(zip_path)):
        for name, value in _find_metrics(msg):
            try:
                out.setdefault(str(name), []).append(float(value))
            except (TypeError, ValueError):
                continue
    return out


def params(zip_path: str | Path) -> dict[str, Any]:
    """Parameter name -> value from a Comet offline archive."""
    out: dict[str, Any] = {}
    for msg in _messages(Path(zip_path)):
        stack = [msg]
        while stack:
            obj = stack.pop()
            if isinstance(obj, dict):
                if "paramName" in obj and "paramValue" in obj:
                    out[str(obj["paramName"])] = obj["paramValue"]
                stack.extend(obj.values())
            elif isinstance(obj, list):
                stack.extend(obj)
    return out


def assets(zip_path: str | Path) -> dict[str, str]:
    """Uploaded file name (``model.safetensors``; images as ``<name>.png``) -> member in the archive."""
    out: dict[str, str] = {}
    for msg in _messages(Path(zip_path)):
        if msg.get("type") != "file_upload":
            continue
        payload = msg.get("payload", {})
        extra = payload.get("additional_params") or {}
        name = extra.get("fileName")
        if not name and extra.get("figName"):
            name = f"{extra['figName']}.{extra.get('extension', 'png')}"
        if name and payload.get("file_path"):
            out[str(name)] = str(payload["file_path"])
    return out
