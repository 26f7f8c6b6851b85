import pytest
import yaml

from avemo import config


def test_project_params_load():
    p = config.load(config.DEFAULT_PARAMS)
    assert p.synthesize.corpus_size.dialogs_per_session >= 1
    assert p.validate_.on_error in ("fail", "quarantine")


def test_unknown_key_is_named(raw_params):
    raw_params = {**raw_params, "ingest": {**raw_params["ingest"], "iemocapp": "x"}}
    with pytest.raises(config.ConfigError, match=r"ingest\.iemocapp: unknown key"):
        config.parse(raw_params)


def test_wrong_type_is_named(raw_params):
    raw_params = {**raw_params, "synthesize": {**raw_params["synthesize"], "seed": "seven"}}
    with pytest.raises(config.ConfigError, match=r"synthesize\.seed: .*integer"):
        config.parse(raw_params)


def test_unknown_size_rejected(raw_params):
    raw_params = {**raw_params, "synthesize": {**raw_params["synthesize"], "size": "huge"}}
    with pytest.raises(config.ConfigError, match="size 'huge'"):
        config.parse(raw_params)


def test_session_in_two_splits_rejected(raw_params):
    splits = {"train": ["Session1", "Session2"], "val": ["Session2"], "test": ["Session5"]}
    raw_params = {**raw_params, "ingest": {**raw_params["ingest"], "splits": splits}}
    with pytest.raises(config.ConfigError, match="Session2.*both train and val"):
        config.parse(raw_params)


@pytest.mark.parametrize("value", ["unlabelled_share", 0.3])
def test_student_lr_mult_is_a_factor_or_the_unlabelled_share(raw_params, value):
    raw = {**raw_params, "student": {**raw_params["student"], "lr_mult": value}}
    assert config.parse(raw).student.lr_mult == value


@pytest.mark.parametrize("value", ["half", 0])
def test_bad_student_lr_mult_is_named(raw_params, value):
    raw = {**raw_params, "student": {**raw_params["student"], "lr_mult": value}}
    with pytest.raises(config.ConfigError, match=r"student\.lr_mult"):
        config.parse(raw)


def test_bad_on_error_value(raw_params):
    raw_params = {**raw_params, "validate": {**raw_params["validate"], "on_error": "ignore"}}
    with pytest.raises(config.ConfigError, match=r"validate\.on_error"):
        config.parse(raw_params)


def test_missing_file(tmp_path):
    with pytest.raises(config.ConfigError, match="not found"):
        config.load(tmp_path / "nope.yaml")


def test_unknown_ssl_objective_is_named(raw_params):
    bad = yaml.safe_load(yaml.safe_dump(raw_params))
    bad["pretrain"]["audio"]["objective"] = "mocov3"
    with pytest.raises(config.ConfigError, match=r"pretrain\.audio\.objective"):
        config.parse(bad)


def test_config_objectives_are_the_registry():
    from typing import get_args

    from avemo.ssl.registry import OBJECTIVES

    assert set(get_args(config.Objective)) == set(OBJECTIVES)


def test_train_lr_and_epochs_resolve_per_stream(raw_params):
    train = {**raw_params["train"], "lr": {"audio": 0.003, "visual": 0.001}, "max_epochs": 30}
    t = config.parse({**raw_params, "train": train}).train
    assert (t.for_stream("audio").lr, t.for_stream("visual").lr) == (0.003, 0.001)
    assert t.for_stream("visual").max_epochs == 30
    scalar = config.parse({**raw_params, "train": {**raw_params["train"], "lr": 0.002, "max_epochs": 20}}).train
    assert scalar.for_stream("visual") == scalar


def test_train_per_stream_value_needs_both_streams(raw_params):
    train = {**raw_params["train"], "max_epochs": {"visual": 30}}
    with pytest.raises(config.ConfigError, match="needs both audio and visual"):
        config.parse({**raw_params, "train": train})


def _disagreements(default, raw, path: str, out: list) -> None:
    """Where a config default (a value or a model instance) differs from params.yaml's ``raw``."""
    from pydantic import BaseModel

    if isinstance(default, BaseModel) and isinstance(raw, dict):
        for name, field in type(default).model_fields.items():
            key = field.alias or name
            if key in raw:
                _disagreements(getattr(default, name), raw[key], f"{path}.{key}", out)
    elif default != raw:
        out.append(f"{path}: config default {default!r}, params.yaml {raw!r}")


def _walk(cls, raw: dict, path: str, out: list) -> None:
    from pydantic import BaseModel

    for name, field in cls.model_fields.items():
        key = field.alias or name
        if key not in raw:
            continue
        if field.is_required():  # no default to disagree with; its own fields may have some
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                _walk(field.annotation, raw[key], f"{path}.{key}", out)
            continue
        _disagreements(field.get_default(call_default_factory=True), raw[key], f"{path}.{key}", out)


def test_params_yaml_and_the_config_defaults_agree(raw_params):
    """One source of defaults: every setting params.yaml spells out equals the typed config's
    default, so code that builds a section with its defaults runs what `dvc repro` runs."""
    out: list[str] = []
    _walk(config.Params, raw_params, "", out)
    assert not out, "\n".join(out)


def test_the_defaults_check_sees_a_disagreement(raw_params):
    raw = {**raw_params, "train": {**raw_params["train"], "lr": 0.5},
           "pretrain": {**raw_params["pretrain"], "visual": {**raw_params["pretrain"]["visual"], "epochs": 99}}}
    out: list[str] = []
    _walk(config.Params, raw, "", out)
    assert out == [".train.lr: config default 0.003, params.yaml 0.5",
                   ".pretrain.visual.epochs: config default 8, params.yaml 99"]
