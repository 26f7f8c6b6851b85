"""Shared fixtures: the project's params and a tiny generated corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture
def tiny_params(raw_params: dict, tmp_path: Path) -> dict:
    """params.yaml with every path moved under tmp_path and the tiny corpus size."""
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    raw = tmp_path / "raw"
    p["synthesize"].update(size="tiny", out_dir=str(raw), report=str(tmp_path / "reports/corpus.json"))
    p["ingest"].update(
        iemocap=str(raw / "iemocap"), tedlium=str(raw / "tedlium"),
        facesynthetics=str(raw / "facesynthetics"), out_dir=str(tmp_path / "interim"),
    )
    p["validate"].update(
        manifests_dir=str(tmp_path / "interim"), out_dir=str(tmp_path / "validated"),
        expectations_dir=str(ROOT / "expectations"),
        report=str(tmp_path / "reports/validation.json"), report_md=str(tmp_path / "reports/validation.md"),
    )
    return p
