from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from avemo.config import Splits
from avemo.data import iemocap, manifest
from avemo.data.errors import IngestError

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
IMPRO = HEADER + (
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    "C-E2:\tNeutral state; ()\n"
    "C-E3:\tNeutral state; ()\n"
    "C-F1:\tNeutral state; (curious)\n"
    "A-E3:\tval 3; act 2; dom  2;\t()\n"
    "A-E4:\tval 2; act 3; dom  3;\t(mildly aggravated but staying polite, attitude)\n"
    "\n"
    "[10.0100 - 11.3925]\tSes01F_impro01_M003\txxx\t[1.5000, 4.0000, 3.5000]\n"
    "C-E2:\tFrustration; ()\n"
    "C-E3:\tAnger; ()\n"
    "A-E3:\tval 2; act 4; dom  4;\t()\n"
    "\n"
)
SCRIPT = HEADER + (
    "[20.5000 - 23.0000]\tSes02M_script03_2_M041\thap\t[4.0000, 3.0000, 3.0000]\n"
    "C-E1:\tHappiness; ()\n"
    "\n"
)
IMPRO3 = HEADER + "[1.0000 - 2.5000]\tSes03M_impro05b_F012\tsad\t[1.0000, 5.0000, 2.0000]\n\n"
SPLITS = Splits(train=["Session1"], val=["Session2"], test=["Session3"])


def write_eval(root: Path, session: str, dialog: str, text: str) -> Path:
    path = root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_wav(root: Path, session: str, dialog: str, utt: str) -> Path:
    path = root / session / "sentences" / "wav" / dialog / f"{utt}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(160, dtype=np.float32), 16000)
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_eval(tmp_path, "Session1", "Ses01F_impro01", IMPRO)
    (tmp_path / "Session1/dialog/EmoEvaluation/._Ses01F_impro01.txt").write_bytes(b"\x00\x05\x16")
    write_eval(tmp_path, "Session2", "Ses02M_script03_2", SCRIPT)
    write_eval(tmp_path, "Session3", "Ses03M_impro05b", IMPRO3)
    (tmp_path / "._Session4").mkdir()  # a hidden folder that is not a session
    write_wav(tmp_path, "Session1", "Ses01F_impro01", "Ses01F_impro01_F000")
    broken = write_wav(tmp_path, "Session2", "Ses02M_script03_2", "Ses02M_script03_2_M041")
    broken.write_bytes(b"RIFF not really a wav")
    return tmp_path


def test_parse_skips_header_and_rater_lines(corpus: Path) -> None:
    turns = iemocap.parse_evaluation(corpus / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt")
    assert [t.utt for t in turns] == ["Ses01F_impro01_F000", "Ses01F_impro01_M003"]
    assert turns[0].start == 6.2901 and turns[0].end == 8.2357 and turns[0].lineno == 3
    assert turns[1].category == "xxx" and turns[1].vad == (1.5, 4.0, 3.5)


def test_read_rows(corpus: Path) -> None:
    df = iemocap.read(corpus, SPLITS)
    assert list(df.columns) == manifest.COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == manifest.SCHEMA
    assert list(df["clip_id"]) == sorted(df["clip_id"])
    r = df.set_index("clip_id")
    assert len(r) == 4
    # speaker = session + the letter of the LAST id part, not the one after SesNN
    assert r.loc["Ses01F_impro01_F000", "speaker"] == "Ses01_F"
    assert r.loc["Ses01F_impro01_M003", "speaker"] == "Ses01_M"
    assert r.loc["Ses02M_script03_2_M041", "speaker"] == "Ses02_M"
    assert r.loc["Ses03M_impro05b_F012", "speaker"] == "Ses03_F"
    assert list(r["split"]) == ["train", "train", "val", "test"]
    assert list(r["session"]) == ["Session1", "Session1", "Session2", "Session3"]
    row = r.loc["Ses02M_script03_2_M041"]
    assert row["audio_path"] == "Session2/sentences/wav/Ses02M_script03_2/Ses02M_script03_2_M041.wav"
    assert row["video_path"] == "Session2/dialog/avi/DivX/Ses02M_script03_2.avi"
    assert (row["start_s"], row["end_s"], row["duration_s"]) == (20.5, 23.0, 2.5)
    assert row["category"] == "hap" and row["label_source"] == "gold" and row["label_weight"] == 1.0


def test_labels_normalised_and_xxx_kept(corpus: Path) -> None:
    r = iemocap.read(corpus, SPLITS).set_index("clip_id")
    assert tuple(r.loc["Ses01F_impro01_F000", list(manifest.LABELS)]) == (-0.25, -0.25, -0.25)
    xxx = r.loc["Ses01F_impro01_M003"]
    assert xxx["category"] == "xxx"
    assert (xxx["valence"], xxx["arousal"], xxx["dominance"]) == (-0.75, 0.5, 0.25)
    assert tuple(r.loc["Ses03M_impro05b_F012", list(manifest.LABELS)]) == (-1.0, 1.0, -0.5)


def test_sample_rate_missing_or_broken_is_na(corpus: Path) -> None:
    sr = iemocap.read(corpus, SPLITS).set_index("clip_id")["sample_rate"]
    assert sr["Ses01F_impro01_F000"] == 16000
    assert pd.isna(sr["Ses01F_impro01_M003"])  # no wav
    assert pd.isna(sr["Ses02M_script03_2_M041"])  # unreadable wav


@pytest.mark.parametrize(
    "line",
    [
        "6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000",
        "[6.2901 - abc]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, x, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\textra\t[2.5000, 2.5000, 2.5000]",
        "[8.2357 - 6.2901]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tbored\t[2.5000, 2.5000, 2.5000]",
        "[6.2901 - 8.2357]\tutterance7\tneu\t[2.5000, 2.5000, 2.5000]",
    ],
)
def test_malformed_turn_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    path = write_eval(tmp_path, "Session1", "Ses01F_impro01", HEADER + line + "\nC-E2:\tx; ()\n")
    with pytest.raises(IngestError) as err:
        iemocap.read(tmp_path, SPLITS)
    msg = str(err.value)
    assert f"{path}:3" in msg and repr(line) in msg and "[START - END]" in msg


def test_session_not_in_splits(corpus: Path) -> None:
    write_eval(corpus, "Session4", "Ses04F_impro01", HEADER)
    with pytest.raises(IngestError, match=r"'Session4'.*ingest\.splits"):
        iemocap.read(corpus, SPLITS)


def test_utterance_in_wrong_session_folder(tmp_path: Path) -> None:
    write_eval(tmp_path, "Session2", "Ses01F_impro01", IMPRO)
    with pytest.raises(IngestError, match=r"Ses01F_impro01\.txt:3: .*Session2"):
        iemocap.read(tmp_path, SPLITS)


def test_no_sessions(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="ingest.iemocap"):
        iemocap.read(tmp_path, SPLITS)


def test_release_layout_quirks(tmp_path: Path) -> None:
    """IEMOCAP_full_release as distributed: EmoEvaluation's annotator subfolders (their .txt
    files are not turn files), macOS ._* files, a BOM and CRLF line ends, the other trees."""
    session = tmp_path / "Session1"
    emo = session / "dialog/EmoEvaluation"
    write_eval(tmp_path, "Session1", "Ses01F_impro01", IMPRO)
    (emo / "Ses01F_impro02.txt").write_bytes(
        b"\xef\xbb\xbf" + IMPRO.replace("impro01", "impro02").replace("\n", "\r\n").encode())
    for sub, name, text in (
        ("Attribute", "Ses01F_impro01_atr.txt", "Ses01F_impro01_F000 :act 2; val 3; dom 2; ()\n"),
        ("Categorical", "Ses01F_impro01_e2_cat.txt", "Ses01F_impro01_F000 :Neutral state; ()\n"),
        ("Self-evaluation", "Ses01F_impro01.anvil", "<annotation/>\n"),
    ):
        (emo / sub).mkdir()
        (emo / sub / name).write_text(text)
    (emo / "Attribute" / "._Ses01F_impro01_atr.txt").write_bytes(b"\x00\x05\x16\x07")
    (emo / "._Ses01F_impro02.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02")
    for tree in ("dialog/lab/Ses01_F", "dialog/transcriptions", "dialog/wav", "dialog/MOCAP_rotated",
                 "sentences/ForcedAlignment/Ses01F_impro01", "../Documentation"):
        (session / tree).mkdir(parents=True)
    (session / "dialog/transcriptions/Ses01F_impro01.txt").write_text(
        "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.\n")
    (tmp_path / "._Session1").write_bytes(b"\x00\x05\x16\x07")
    df = iemocap.read(tmp_path, Splits(train=["Session1"], val=[], test=[]))
    assert df["clip_id"].tolist() == ["Ses01F_impro01_F000", "Ses01F_impro01_M003",
                                      "Ses01F_impro02_F000", "Ses01F_impro02_M003"]
    assert df.loc[2, "audio_path"] == "Session1/sentences/wav/Ses01F_impro02/Ses01F_impro02_F000.wav"
    assert df.loc[2, "valence"] == -0.25 and df.loc[3, "arousal"] == 0.5
