"""The inference fault catalogue: inputs that decode but must not yield a confident number.
Each entry of FAULTS writes one input into a folder and says what `avemo predict` must do:
exit non-zero naming the file, or answer with the broken windows dropped and a note. To add a
fault kind, add an entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from avemo.cli import app

SR = 16000
runner = CliRunner()


def _speech(seconds: float) -> np.ndarray:
    import real_media

    return np.resize(real_media.speech(), int(seconds * SR)).astype(np.float32)


def nan_audio(d: Path) -> Path:
    x = _speech(7.0)
    x[: 2 * SR] = np.nan  # the first two windows are broken, the last two are not
    sf.write(d / "nan.wav", x, SR, subtype="FLOAT")
    return d / "nan.wav"


def inf_audio(d: Path) -> Path:
    x = _speech(7.0)
    x[SR // 2] = np.inf
    sf.write(d / "inf.wav", x, SR, subtype="FLOAT")
    return d / "inf.wav"


def all_nan_audio(d: Path) -> Path:
    sf.write(d / "allnan.wav", np.full(3 * SR, np.nan, np.float32), SR, subtype="FLOAT")
    return d / "allnan.wav"


def digital_silence(d: Path) -> Path:
    sf.write(d / "silence.wav", np.zeros(3 * SR, np.float32), SR, subtype="PCM_16")
    return d / "silence.wav"


def partly_silent(d: Path) -> Path:
    x = _speech(7.0)
    x[3 * SR:] = 0.0
    sf.write(d / "pause.flac", x, SR)
    return d / "pause.flac"


def no_face_no_audio(d: Path) -> Path:
    import real_media

    frames = (np.full((120, 160, 3), 128, np.uint8) for _ in range(40))  # a grey wall, no sound
    return real_media.write_video(d / "wall.mp4", frames, 10, None, SR)


FAULTS = {  # name -> (write the input, expected exit code, words the output or a note must hold)
    "nan_audio": (nan_audio, 0, "non-finite audio"),
    "inf_audio": (inf_audio, 0, "non-finite audio"),
    "all_nan_audio": (all_nan_audio, 1, "nothing to predict from"),
    "digital_silence": (digital_silence, 1, "nothing to predict from"),
    "partly_silent": (partly_silent, 0, "silent audio"),
    "no_face_no_audio": (no_face_no_audio, 1, "nothing to predict from"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_refused_or_flagged(fault, model_dir, tmp_path):
    make, code, words = FAULTS[fault]
    path = make(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["predict", str(path), "--model", str(model_dir), "--out", str(out), "--format", "json"])
    said = res.output.replace("\n", " ")
    assert res.exit_code == code, res.output
    assert words in said
    if code:
        assert path.name in said and not out.exists()  # named, and nothing written
        return
    doc = json.loads((out / f"{path.name}.json").read_text())  # strict JSON: no NaN tokens
    assert any(words in n for n in doc["notes"])
    s = doc["summary"]
    assert 0 < s["windows_predicted"] < s["windows"] or "non-finite" not in words
    assert np.isfinite([s["valence"], s["arousal"]]).all()
    dropped = [r for r in doc["series"] if r["audio_dropped"]]
    assert dropped and all(r["streams"] == "none" and r["valence"] is None for r in dropped)


def test_json_output_is_strict_json(model_dir, tmp_path):
    """Missing values are null, never a bare NaN token."""
    path = partly_silent(tmp_path)
    res = runner.invoke(app, ["predict", str(path), "--model", str(model_dir), "--out", str(tmp_path), "--format", "json"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "pause.flac.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_outputs_of_two_files_with_one_stem_do_not_overwrite_each_other(model_dir, tmp_path):
    x = _speech(3.0)
    sf.write(tmp_path / "x.wav", x, SR)
    sf.write(tmp_path / "x.flac", x[::-1].copy(), SR)
    for name in ("x.wav", "x.flac"):
        res = runner.invoke(app, ["predict", str(tmp_path / name), "--model", str(model_dir), "--out", str(tmp_path / "o")])
        assert res.exit_code == 0, res.output
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"x.wav.csv", "x.wav.png", "x.flac.csv", "x.flac.png"}
