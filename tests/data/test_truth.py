from avemo.data import truth


def test_status_names_every_corpus_without_truth(tmp_path):
    (tmp_path / "embedded" / "_truth").mkdir(parents=True)
    (tmp_path / "real").mkdir()
    assert truth.folder(tmp_path / "embedded") == tmp_path / "embedded" / "_truth"
    assert truth.folder(tmp_path / "real") is None
    assert truth.status({"a": tmp_path / "embedded"}) == {"available": True, "reason": None}
    s = truth.status({"a": tmp_path / "embedded", "b": tmp_path / "real", "c": tmp_path / "missing"})
    assert s["available"] is False and "b (" in s["reason"] and "c (" in s["reason"] and "a (" not in s["reason"]
