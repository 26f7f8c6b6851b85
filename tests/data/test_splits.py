import pandas as pd
import pytest

from avemo.config import Splits
from avemo.data.errors import IngestError
from avemo.data.splits import assign_split, check_speaker_disjoint

SPLITS = Splits(train=["Session1", "Session2", "Session3"], val=["Session4"], test=["Session5"])


def test_assign_split() -> None:
    got = [assign_split(f"Session{i}", SPLITS) for i in range(1, 6)]
    assert got == ["train", "train", "train", "val", "test"]


def test_unknown_session() -> None:
    with pytest.raises(IngestError, match=r"'Session6'.*ingest\.splits"):
        assign_split("Session6", SPLITS)


def test_check_speaker_disjoint() -> None:
    df = pd.DataFrame({
        "speaker": ["Ses01_F", "Ses01_F", "Ses04_M", "Ses04_M", "Ses05_F", "talk", "talk", None, None],
        "split": ["train", "train", "val", "test", "test", "unlabelled", "train", "train", "val"],
    })
    assert check_speaker_disjoint(df) == ["Ses04_M"]  # unlabelled and NA speakers ignored
    assert check_speaker_disjoint(df.iloc[:3]) == []
