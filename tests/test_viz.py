"""asp_lab.viz.show_table: the one table helper every chapter uses."""

from __future__ import annotations

import re

import IPython.display
import pytest

from asp_lab import viz


def test_show_table_has_a_header_cell_per_column_and_a_cell_per_value(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    viz.show_table(["model", "EER %", "minDCF"], [["stats", 5.6, 0.53], ["asp", "4.7", "<b>x</b>"]])
    (table,) = shown
    html = table.data
    assert re.findall(r'<th scope="col">([^<]*)</th>', html) == ["model", "EER %", "minDCF"]
    rows = re.findall(r"<tr>(.*?)</tr>", html)[1:]  # the first is the header
    assert len(rows) == 2
    assert all(len(re.findall(r"<td", row)) == 3 for row in rows)
    assert "<td>stats</td>" in rows[0] and "<b>x</b>" in rows[1]  # HTML passes through


def test_source_from_shows_the_lines_that_run_and_names_a_missing_marker():
    from asp_lab import pooling

    lines = viz.source_from(pooling.weighted_moments, "sum_t = ")
    assert lines.startswith("sum_t = ") and "sigma = var.clamp(min=VAR_FLOOR).sqrt()" in lines
    with pytest.raises(ValueError, match="weighted_moments"):
        viz.source_from(pooling.weighted_moments, "no such line")
