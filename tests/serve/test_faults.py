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


def telephone_band(d: Path) -> Path:
    import torch
    import torchaudio.functional as AF

    sf.write(d / "phone.wav", AF.resample(torch.from_numpy(_speech(5.0)), SR, 8000).numpy(), 8000)
    return d / "phone.wav"


def telephone_band_upsampled(d: Path) -> Path:
    import torch
    import torchaudio.functional as AF

    x = AF.resample(AF.resample(torch.from_numpy(_speech(5.0)), SR, 8000), 8000, SR).numpy()
    sf.write(d / "phone16.wav", x, SR)  # 16 kHz in name only: nothing above 4 kHz
    return d / "phone16.wav"


def face_in_few_frames(d: Path) -> Path:
    import real_media

    face = list(real_media.still_frames(1.0, 10))
    wall = [np.full_like(face[0], 128) for _ in range(50)]
    return real_media.write_video(d / "glimpse.mp4", face + wall, 10, _speech(6.0), SR)


FAULTS = {  # name -> (write the input, expected exit code, words the output or a note must hold,
    #          whether windows drop their audio)
    "nan_audio": (nan_audio, 0, "non-finite audio", True),
    "inf_audio": (inf_audio, 0, "non-finite audio", True),
    "all_nan_audio": (all_nan_audio, 1, "nothing to predict from", False),
    "digital_silence": (digital_silence, 1, "nothing to predict from", False),
    "partly_silent": (partly_silent, 0, "silent audio", True),
    "no_face_no_audio": (no_face_no_audio, 1, "nothing to predict from", False),
    "telephone_band": (telephone_band, 0, "narrow-band audio (recorded at 8000 Hz)", False),
    "telephone_band_upsampled": (telephone_band_upsampled, 0, "narrow-band audio", False),
    "face_in_few_frames": (face_in_few_frames, 0, "a face was found in only", False),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_refused_or_flagged(fault, model_dir, tmp_path):
    make, code, words, drops = FAULTS[fault]
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
    assert np.isfinite([s["valence"], s["arousal"]]).all() and s["windows_predicted"] >= 1
    dropped = [r for r in doc["series"] if r["audio_dropped"]]
    assert bool(dropped) == drops
    if drops:  # no face in these files: a window without usable audio has no prediction at all
        assert all(r["streams"] == "none" and r["valence"] is None for r in dropped)
        assert s["windows_predicted"] == s["windows"] - len(dropped) > 0


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
