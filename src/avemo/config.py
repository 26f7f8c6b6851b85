"""params.yaml -> typed config. One section per stage; unknown keys and wrong types are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PARAMS = "params.yaml"


class ConfigError(ValueError):
    """params.yaml is missing, unreadable, or does not match the schema."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- synthesize -------------------------------------------------------------------------


class CorpusSize(Section):
    dialogs_per_session: int = Field(ge=1)
    turns_per_dialog: int = Field(ge=2)
    talks: int = Field(ge=1)
    segments_per_talk: int = Field(ge=1)
    faces: int = Field(ge=1)
    face_identities: int = Field(ge=1)


class SynthAudio(Section):
    sample_rate: int = 16000
    snr_db: list[float] = Field(default=[12.0, 35.0], min_length=2, max_length=2)


class SynthVideo(Section):
    fps: int = Field(default=10, ge=1)
    face_px: int = Field(default=96, ge=32)
    image_px: int = Field(default=128, ge=32)


class SynthLabels(Section):
    raters: int = Field(default=3, ge=1)
    rater_noise: float = Field(default=0.45, ge=0.0)
    drift: float = Field(default=0.15, ge=0.0)


class SynthesizeConfig(Section):
    seed: int = 0
    size: str = "default"
    sizes: dict[str, CorpusSize]
    out_dir: str = "data/raw"
    report: str = "reports/corpus.json"
    workers: int = Field(default=2, ge=1)
    audio: SynthAudio = SynthAudio()
    video: SynthVideo = SynthVideo()
    labels: SynthLabels = SynthLabels()

    @model_validator(mode="after")
    def _size_known(self) -> SynthesizeConfig:
        if self.size not in self.sizes:
            raise ValueError(f"size {self.size!r} is not one of sizes: {sorted(self.sizes)}")
        return self

    @property
    def corpus_size(self) -> CorpusSize:
        return self.sizes[self.size]


# --- ingest -----------------------------------------------------------------------------


class Splits(Section):
    train: list[str]
    val: list[str]
    test: list[str]

    @model_validator(mode="after")
    def _disjoint(self) -> Splits:
        seen: dict[str, str] = {}
        for name in ("train", "val", "test"):
            for s in getattr(self, name):
                if s in seen:
                    raise ValueError(f"session {s!r} is in both {seen[s]} and {name}")
                seen[s] = name
        return self


class IngestConfig(Section):
    iemocap: str = "data/raw/iemocap"
    tedlium: str = "data/raw/tedlium"
    facesynthetics: str = "data/raw/facesynthetics"
    splits: Splits
    out_dir: str = "data/interim"


# --- validate ---------------------------------------------------------------------------


class ValidateConfig(Section):
    manifests_dir: str = "data/interim"
    out_dir: str = "data/validated"
    expectations_dir: str = "expectations"
    on_error: Literal["fail", "quarantine"] = "fail"
    sample_rate: int = 16000
    min_duration_s: float = 0.2
    max_duration_s: float = 60.0
    video_frames: int = Field(default=3, ge=1)
    workers: int = Field(default=2, ge=1)
    report: str = "reports/validation.json"
    report_md: str = "reports/validation.md"


class Params(Section):
    synthesize: SynthesizeConfig
    ingest: IngestConfig
    validate_: ValidateConfig = Field(alias="validate")


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: {len(err.errors())} invalid setting(s):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        key = key.replace("validate_", "validate")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo? remove it or check the section's allowed keys)"
        else:
            msg = e["msg"]
        got = "" if e["type"] == "missing" else f" (got {e.get('input')!r})"
        lines.append(f"  - {key}: {msg}{got if e['type'] != 'extra_forbidden' else ''}")
    return "\n".join(lines)


def parse(raw: dict, source: str = DEFAULT_PARAMS) -> Params:
    """Validate a params mapping; raise ConfigError naming every bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: top level must be a mapping of stage sections")
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load(path: str | Path = DEFAULT_PARAMS) -> Params:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found (run from the project root or pass --params)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse(raw, str(path))
