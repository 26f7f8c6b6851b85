from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from avemo.data import manifest, tedlium
from avemo.data.errors import IngestError

STM = (
    ";; CATEGORY \"0\" \"\" \"\"\n"
    ";; LABEL \"O\" \"Overall\" \"Overall\"\n"
    "AaronHuey_2010X 1 AaronHuey_2010X 0.00 17.82 <o,f0,male> ignore_time_segment_in_scoring\n"
    "AaronHuey_2010X 1 AaronHuey_2010X 17.82 28.81 <o,f0,male> he spent the last two years\n"
    "\n"
    "AaronHuey_2010X 1 AaronHuey_2010X 28.81 33.5 <o,f0,male> i 'm going to talk today\n"
)
STM2 = "BillGates_2010 1 BillGates_2010 3.1 7.25 <o,f0,male> energy and climate\n"


def write_talk(root: Path, talk: str, stm: str, sph: bool = True) -> Path:
    (root / "data/stm").mkdir(parents=True, exist_ok=True)
    (root / "data/sph").mkdir(parents=True, exist_ok=True)
    path = root / f"data/stm/{talk}.stm"
    path.write_text(stm)
    if sph:
        x = np.zeros(1600, dtype=np.int16)
        sf.write(root / f"data/sph/{talk}.sph", x, 16000, format="NIST", subtype="PCM_16")
    return path


def test_clip_id() -> None:
    assert tedlium.clip_id("AaronHuey_2010X", 17.82, 28.81) == "AaronHuey_2010X-0001782-0002881"
    assert tedlium.clip_id("T", 0.0, 1234.56) == "T-0000000-0123456"


def test_read(tmp_path: Path) -> None:
    write_talk(tmp_path, "AaronHuey_2010X", STM)
    write_talk(tmp_path, "BillGates_2010", STM2, sph=False)
    (tmp_path / "data/stm/._AaronHuey_2010X.stm").write_bytes(b"\x00\x05\x16\x07")
    df = tedlium.read(tmp_path)
    assert list(df.columns) == manifest.COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == manifest.SCHEMA
    assert list(df["clip_id"]) == [
        "AaronHuey_2010X-0001782-0002881",
        "AaronHuey_2010X-0002881-0003350",
        "BillGates_2010-0000310-0000725",
    ]
    first = df.iloc[0]
    assert first["speaker"] == "AaronHuey_2010X" and first["session"] == "AaronHuey_2010X"
    assert first["audio_path"] == "data/sph/AaronHuey_2010X.sph"
    assert (first["start_s"], first["end_s"]) == (17.82, 28.81)
    assert first["duration_s"] == pytest.approx(10.99)
    assert first["sample_rate"] == 16000
    assert pd.isna(df.iloc[2]["sample_rate"])  # no sph
    assert (df["split"] == "unlabelled").all() and (df["label_source"] == "none").all()
    assert (df["label_weight"] == 0.0).all()
    assert df[list(manifest.LABELS)].isna().all().all()
    assert df["video_path"].isna().all() and df["category"].isna().all()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("AaronHuey_2010X 1 AaronHuey_2010X 17.82 28.81", "5 fields"),
        ("AaronHuey_2010X 1 AaronHuey_2010X 17.82 x <o,f0,male> he spent", "non-numeric"),
        ("AaronHuey_2010X 1 AaronHuey_2010X 28.81 17.82 <o,f0,male> he spent", "not after"),
        ("AaronHuey_2010X 1 AaronHuey_2010X 5.0 5.0 <o,f0,male> he spent", "not after"),
    ],
)
def test_malformed_line(tmp_path: Path, line: str, why: str) -> None:
    path = write_talk(tmp_path, "AaronHuey_2010X", STM + line + "\n", sph=False)
    with pytest.raises(IngestError) as err:
        tedlium.read(tmp_path)
    assert f"{path}:7" in str(err.value) and why in str(err.value)


def test_missing_stm_folder(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="ingest.tedlium"):
        tedlium.read(tmp_path)
