from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from avemo.config import IngestConfig, Splits
from avemo.data import ingest, manifest
from avemo.data.errors import IngestError

EVAL = (
    "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    "[1.0000 - 2.0000]\t{d}_F000\tneu\t[3.0000, 3.0000, 3.0000]\n"
    "C-E2:\tNeutral state; ()\n"
    "A-E3:\tval 3; act 3; dom  3;\t()\n\n"
    "[2.5000 - 4.0000]\t{d}_M001\tang\t[1.5000, 4.5000, 4.0000]\n"
    "C-E2:\tAnger; ()\n\n"
)


def make_corpora(root: Path) -> IngestConfig:
    for n in (1, 2, 3):
        d = f"Ses0{n}F_impro01"
        path = root / f"iemocap/Session{n}/dialog/EmoEvaluation/{d}.txt"
        path.parent.mkdir(parents=True)
        path.write_text(EVAL.format(d=d))
        wav = root / f"iemocap/Session{n}/sentences/wav/{d}/{d}_F000.wav"
        wav.parent.mkdir(parents=True)
        sf.write(wav, np.zeros(160, dtype=np.float32), 16000)
    for sub in ("stm", "sph"):
        (root / f"tedlium/data/{sub}").mkdir(parents=True)
    (root / "tedlium/data/stm/T1.stm").write_text(
        "T1 1 T1 0.0 1.0 <o,f0,male> ignore_time_segment_in_scoring\n"
        "T1 1 T1 1.0 2.5 <o,f0,male> hello there\n"
    )
    sf.write(root / "tedlium/data/sph/T1.sph", np.zeros(160, dtype=np.int16), 16000,
             format="NIST", subtype="PCM_16")
    faces = root / "facesynthetics"
    faces.mkdir()
    for i in (1, 0):
        cv2.imwrite(str(faces / f"{i:06d}.png"), np.zeros((4, 4, 3), dtype=np.uint8))
    (faces / "000000_ldmks.txt").write_text("1 1\n" * 70)
    return IngestConfig(
        iemocap=str(root / "iemocap"), tedlium=str(root / "tedlium"),
        facesynthetics=str(faces), out_dir=str(root / "interim"),
        splits=Splits(train=["Session1"], val=["Session2"], test=["Session3"]),
    )


def test_run_write_summarize(tmp_path: Path) -> None:
    cfg = make_corpora(tmp_path)
    manifests = ingest.run(cfg)
    assert list(manifests) == ["iemocap", "tedlium", "facesynthetics"]
    for df in manifests.values():
        assert list(df.columns) == manifest.COLUMNS
        assert {c: str(t) for c, t in df.dtypes.items()} == manifest.SCHEMA
        assert list(df["clip_id"]) == sorted(df["clip_id"]) and df.index.is_monotonic_increasing
    assert len(manifests["iemocap"]) == 6 and len(manifests["tedlium"]) == 1
    assert list(manifests["facesynthetics"]["clip_id"]) == ["000000", "000001"]

    paths = ingest.write(manifests, cfg.out_dir)
    assert sorted(p.name for p in Path(cfg.out_dir).iterdir()) == [
        "facesynthetics.parquet", "iemocap.parquet", "tedlium.parquet"]
    for name, path in paths.items():
        back = manifest.read(path)
        assert list(back.columns) == manifest.COLUMNS
        pd.testing.assert_frame_equal(back, manifests[name])

    assert ingest.summarize(manifests) == {
        "iemocap": {"rows": 6, "splits": {"test": 2, "train": 2, "val": 2}},
        "tedlium": {"rows": 1, "splits": {"unlabelled": 1}},
        "facesynthetics": {"rows": 2, "splits": {"unlabelled": 2}},
        "images_without_landmarks": 1,
    }


@pytest.mark.parametrize("corpus", ingest.CORPORA)
def test_missing_root_names_the_key(tmp_path: Path, corpus: str) -> None:
    cfg = make_corpora(tmp_path)
    cfg = cfg.model_copy(update={corpus: str(tmp_path / "nowhere")})
    with pytest.raises(IngestError, match=rf"nowhere: {corpus} corpus root not found.*ingest\.{corpus}"):
        ingest.run(cfg)


def test_release_layouts_ingest(release_roots: dict[str, Path]) -> None:
    """The corpora as released, quirks included (tests/support/release_corpora.py)."""
    cfg = IngestConfig(**{c: str(r) for c, r in release_roots.items()}, out_dir="unused",
                       splits=Splits(train=["Session1", "Session2", "Session3"], val=["Session4"], test=["Session5"]))
    manifests = ingest.run(cfg)
    iemo, ted, faces = manifests["iemocap"], manifests["tedlium"], manifests["facesynthetics"]
    assert len(iemo) == 20 and iemo["split"].value_counts().to_dict() == {"train": 12, "val": 4, "test": 4}
    assert iemo["sample_rate"].eq(16000).all() and iemo["speaker"].nunique() == 10
    assert len(ted) == 15 and ted["audio_path"].str.startswith("data/sph/").all()  # data/ only, not legacy/ too
    assert len(faces) == 40 and ingest.summarize(manifests)["images_without_landmarks"] == 1


def test_a_broken_release_file_stops_ingest_naming_it(release_roots: dict[str, Path], tmp_path: Path) -> None:
    """Bad input on real data: the file and line named, exit 1, no manifest written."""
    import shutil

    from typer.testing import CliRunner

    from avemo.cli import app

    roots = {c: shutil.copytree(r, tmp_path / c) for c, r in release_roots.items()}
    stm = next((roots["tedlium"] / "data/stm").glob("S*.stm"))
    stm.write_text(stm.read_text() + "Speaker0_2010X 1 Speaker0_2010X 9.0 oops <o,f0,male> words\n")
    params = tmp_path / "params.yaml"
    raw = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())
    raw["synthesize"]["generate"] = []
    raw["ingest"].update({c: str(r) for c, r in roots.items()}, out_dir=str(tmp_path / "interim"))
    params.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["ingest", "--params", str(params)])
    said = res.output.replace("\n", "")  # rich wraps long lines
    assert res.exit_code == 1 and f"{stm}:" in said and "non-numeric" in said
    assert not (tmp_path / "interim").exists()
