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
        ("AaronHuey_2010X 1 AaronHuey_2010X 17.82", "4 fields"),
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


def _tree(root: Path, talk: str, stm: str) -> None:
    """``<root>/stm/<talk>.stm`` and ``<root>/sph/<talk>.sph`` (one second of silence)."""
    (root / "stm").mkdir(parents=True, exist_ok=True)
    (root / "sph").mkdir(parents=True, exist_ok=True)
    (root / "stm" / f"{talk}.stm").write_text(stm)
    sf.write(root / "sph" / f"{talk}.sph", np.zeros(16000, np.int16), 16000, format="NIST", subtype="PCM_16")


# legacy/dev and legacy/test as released: the gaps between scored segments are
# `inter_segment_gap` lines with an `<o,,unknown>` label, ignored in scoring
DEV = (
    "AlGore_2009 1 inter_segment_gap 0 15.02 <o,,unknown> ignore_time_segment_in_scoring\n"
    "AlGore_2009 1 AlGore_2009 15.02 19.29 <o,f0,male> i have a lot\n"
)


def test_release_trees(tmp_path: Path) -> None:
    """The release root reads data/ only; legacy/ reads its three splits; a split reads itself."""
    release = tmp_path / "TEDLIUM_release-3"
    _tree(release / "data", "AaronHuey_2010X", STM)
    _tree(release / "data", "AlGore_2009", DEV)
    _tree(release / "legacy/train", "AaronHuey_2010X", STM)   # the same talks again
    _tree(release / "legacy/dev", "AlGore_2009", DEV)
    _tree(release / "speaker-adaptation/train", "AaronHuey_2010X", STM)
    every = tedlium.read(release)
    assert len(every) == 3 and set(every["audio_path"]) == {"data/sph/AaronHuey_2010X.sph", "data/sph/AlGore_2009.sph"}
    legacy = tedlium.read(release / "legacy")
    assert len(legacy) == 3
    assert set(legacy["audio_path"]) == {"train/sph/AaronHuey_2010X.sph", "dev/sph/AlGore_2009.sph"}
    dev = tedlium.read(release / "legacy/dev")
    assert list(dev["clip_id"]) == ["AlGore_2009-0001502-0001929"]
    assert dev["speaker"].tolist() == ["AlGore_2009"] and dev["sample_rate"].tolist() == [16000]


def test_stm_without_label_field(tmp_path: Path) -> None:
    """NIST STM: the label field is optional and the transcript may be empty."""
    stm = ("T_2020 1 T_2020 0.0 2.0 ignore_time_segment_in_scoring\n"
           "T_2020 1 T_2020 2.0 4.5 hello there\n"
           "T_2020 1 T_2020 4.5 6.0\n"
           "T_2020 1 T_2020 6.0 7.0 <NA> ignore_time_segment_in_scoring\n"
           "T_2020 1 T_2020 7.0 8.0 <o,f0,female> ignore_time_segment_in_scoring but not only\n")
    path = tmp_path / "x.stm"
    path.write_text(stm)
    assert tedlium.parse_stm(path) == [("T_2020", "T_2020", 2.0, 4.5), ("T_2020", "T_2020", 4.5, 6.0),
                                       ("T_2020", "T_2020", 7.0, 8.0)]


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.stm"
    path.write_bytes(b"\xef\xbb\xbf" + STM2.replace("\n", "\r\n").encode())
    assert tedlium.parse_stm(path) == [("BillGates_2010", "BillGates_2010", 3.1, 7.25)]


def test_a_talk_in_two_trees_is_an_error(tmp_path: Path) -> None:
    _tree(tmp_path / "train", "AaronHuey_2010X", STM)
    _tree(tmp_path / "dev", "AaronHuey_2010X", STM)
    with pytest.raises(IngestError, match="one tree only"):
        tedlium.read(tmp_path)
