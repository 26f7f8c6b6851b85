"""Shared fixtures: the project's params and a tiny generated corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_params(raw_params: dict):
    """Factory: params.yaml as a dict with the tiny corpus size and every path under ``base``."""

    def make(base: Path) -> dict:
        p = yaml.safe_load(yaml.safe_dump(raw_params))
        raw = base / "raw"
        p["synthesize"].update(size="tiny", out_dir=str(raw), report=str(base / "reports/corpus.json"))
        p["ingest"].update(
            iemocap=str(raw / "iemocap"), tedlium=str(raw / "tedlium"),
            facesynthetics=str(raw / "facesynthetics"), out_dir=str(base / "interim"),
        )
        p["validate"].update(
            manifests_dir=str(base / "interim"), out_dir=str(base / "validated"),
            expectations_dir=str(ROOT / "expectations"),
            report=str(base / "reports/validation.json"), report_md=str(base / "reports/validation.md"),
        )
        p["features"].update(out_dir=str(base / "features"), report=str(base / "reports/features.json"))
        return p

    return make
