"""The label-efficiency experiment: teacher vs student per gold fraction, merged into the report."""

import pytest
from md_tables import table_rows

from avemo.pseudo import experiment, report


def test_label_efficiency_rows_for_each_fraction(train_params):
    seen = []
    table = report.score_runs(train_params, experiment.run(train_params, ["audio"],
                                                           progress=lambda d, t: seen.append((d, t))))
    assert seen[-1] == (2, 2)
    assert set(table) == {"25", "100"}
    for row in table.values():
        for key in ("teacher_audio", "student_audio"):
            assert {"ccc_valence", "ccc_arousal", "ccc_mean"} <= set(row[key])
            assert row[key]["ccc_mean"] == pytest.approx(row[key]["seeds"]["42"]["ccc_mean"], abs=1e-4)
        assert {"selected_ccc_mean", "rejected_ccc_mean", "labelled", "seeds_scored"} == set(row["pseudo_audio"])
        assert set(row["pseudo_audio"]["labelled"]) == {"selected_ccc_mean", "rejected_ccc_mean", "dims", "seeds_scored"}
    assert experiment.table(table).row_count == 2
    md = experiment.markdown(table)
    rows = table_rows(md)
    assert len(md.splitlines()) == 4 and rows[1][:3] == ["25 %", "audio", "42"] and rows[2][:3] == ["100 %", "audio", "42"]
    gain = table["25"]["student_audio"]["ccc_mean"] - table["25"]["teacher_audio"]["ccc_mean"]
    assert rows[1][5] == f"{gain:+.3f} ({gain:+.3f})"
    merged = experiment.merge({"25": {"teacher_visual": {"ccc_mean": 0.1}}, "10": {"x": {}}}, table)
    assert set(merged) == {"10", "25", "100"} and "teacher_visual" in merged["25"] and "teacher_audio" in merged["25"]
