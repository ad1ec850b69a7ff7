"""asp_lab.viz: the table and source helpers every chapter uses, and the static twins' controls."""

from __future__ import annotations

import re

import IPython.display
import numpy as np
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


# ------------------------------------------------------------------ the static twins' controls


class Reader:
    """What plotly.js does when a reader moves a twin's control: a slider step or a menu entry
    is ``Plotly.update(gd, traces, layout[, indices])``, and the moved control keeps the step.
    Enough of it to check, without a browser, that every sequence of moves shows one
    consistent state."""

    def __init__(self, fig):
        self.visible = [t.visible is not False for t in fig.data]
        self.names = [t.name for t in fig.data]
        layout = fig.layout
        self.sliders = [{"visible": s.visible is not False, "active": s.active,
                         "steps": [st.args for st in s.steps],
                         "labels": [st.label for st in s.steps],
                         "prefix": s.currentvalue.prefix} for s in layout.sliders]
        self.menu = [b.args for b in layout.updatemenus[0].buttons]
        self.layout = {"title.text": layout.title.text}
        self.layout.update({f"yaxis{r}.range": list(getattr(layout, f"yaxis{r}").range or [])
                            for r in range(2, 6) if getattr(layout, f"yaxis{r}", None)})
        self.notes = [a.text for a in layout.annotations]

    def _apply(self, args) -> None:
        traces, changes = args[0], args[1]
        indices = args[2] if len(args) > 2 else range(len(self.visible))
        for index, flag in zip(indices, traces["visible"], strict=True):
            self.visible[index] = flag
        for key, value in changes.items():
            if key.startswith("sliders["):
                k, attr = int(key[8:key.index("]")]), key.rsplit(".", 1)[1]
                self.sliders[k][attr] = value
            elif key.startswith("annotations["):
                self.notes[int(key[12:key.index("]")])] = value
            else:
                self.layout[key] = value

    def move(self, k: int, n: int) -> None:
        """Move drawn slider ``k`` to its step ``n``."""
        assert self.sliders[k]["visible"], f"slider {k} is not drawn"
        self._apply(self.sliders[k]["steps"][n])
        self.sliders[k]["active"] = n

    def pick(self, n: int) -> None:
        self._apply(self.menu[n])

    def drawn(self, prefix: str) -> list[int]:
        return [k for k, s in enumerate(self.sliders) if s["visible"] and s["prefix"] == prefix]

    def value(self, k: int) -> str:
        return self.sliders[k]["labels"][self.sliders[k]["active"]]


def _chapter_2_states(rng, names=("a", "b"), scales=(0.5, 1.0, 2.0), taus=(0.1, 1.0, 10.0)):
    states = {}
    for u, name in enumerate(names):
        loudness = rng.normal(size=40 + 5 * u)
        e = np.maximum(loudness - np.median(loudness), 0)
        alphas = np.array([[np.exp(v * e / t) / np.exp(v * e / t).sum() for t in taus]
                           for v in scales])
        states[name] = {"loudness": loudness, "threshold": float(np.median(loudness)),
                        "alphas": alphas}
    return states, list(scales), list(taus)


def test_chapter_2_twin_shows_the_state_both_sliders_name_after_any_moves():
    rng = np.random.default_rng(0)
    states, scales, taus = _chapter_2_states(rng)
    reader = Reader(viz.attention_slider_figure(states, taus, scales=scales))
    for _ in range(200):  # a reader's random moves: either slider, or the menu
        kind = rng.integers(3)
        if kind == 2:
            u = int(rng.integers(len(states)))
            reader.pick(u)
        else:
            (k,) = reader.drawn("temperature τ = " if kind == 0 else "scale v = ")
            reader.move(k, int(rng.integers(len(reader.sliders[k]["labels"]))))
        (tau_k,), (v_k,) = reader.drawn("temperature τ = "), reader.drawn("scale v = ")
        v, tau = reader.value(v_k), reader.value(tau_k)
        shown = [name for name, flag in zip(reader.names, reader.visible, strict=True)
                 if flag and name.startswith("α")]
        assert shown == [f"α_t, v = {v}, τ = {tau}"], (shown, v, tau)
        assert sum(reader.visible) == 4  # loudness, threshold, uniform and that alpha
        title = reader.layout["title.text"]
        assert f": v = {v}, τ = {tau}<br>" in title
        name = title.split(":")[0]
        i, j = scales.index(float(v)), taus.index(float(tau))
        alpha = states[name]["alphas"][i, j]
        assert reader.layout["yaxis2.range"][1] == pytest.approx(1.1 * alpha.max(), rel=1e-6)


def test_chapter_2_twin_without_scales_takes_one_row_per_temperature_and_checks_shapes():
    rng = np.random.default_rng(1)
    states, _, taus = _chapter_2_states(rng, scales=(1.0,))
    flat = {n: {**s, "alphas": s["alphas"][0]} for n, s in states.items()}
    fig = viz.attention_slider_figure(flat, taus)
    assert "v =" not in fig.layout.title.text and "τ = 1" in fig.layout.title.text
    assert not any(s.visible for s in fig.layout.sliders if s.currentvalue.prefix == "scale v = ")
    with pytest.raises(ValueError, match=r"states\['a'\]\['alphas'\] must have shape"):
        viz.attention_slider_figure(flat, taus[:2])


def _chapter_6_cases(rng, models=("m1", "m2", "m3"), snrs=(-5.0, 0.0, 5.0), cases=3):
    out = []
    for c in range(cases):
        frames = 60 + 10 * c
        out.append({"label": f"case {c}", "segment": (0.1, 0.3),
                    "energy": rng.normal(size=(len(snrs), frames + 14)),
                    "alphas": {m: rng.dirichlet(np.ones(frames) * (n + 1), size=len(snrs))
                               for n, m in enumerate(models)},
                    "masses": {m: rng.uniform(0, 2, size=len(snrs)) for m in models}})
    return out, list(models), list(snrs)


def test_chapter_6_twin_rows_share_one_scale_and_notes_follow_the_state():
    rng = np.random.default_rng(2)
    cases, models, snrs = _chapter_6_cases(rng)
    reader = Reader(viz.noise_attention_twin(cases, snrs, models))
    for _ in range(100):
        if rng.integers(2):
            reader.pick(int(rng.integers(len(cases))))
        else:
            (k,) = reader.drawn("SNR (dB) = ")
            reader.move(k, int(rng.integers(len(snrs))))
        (k,) = reader.drawn("SNR (dB) = ")
        c, j = k, reader.sliders[k]["active"]
        ranges = [reader.layout[f"yaxis{r}.range"] for r in range(2, 2 + len(models))]
        if len({tuple(r) for r in ranges}) != 1:
            raise AssertionError(f"model rows on different scales: {ranges}")
        assert reader.layout["title.text"].startswith(cases[c]["label"])
        for n, m in enumerate(models):
            assert f"{cases[c]['masses'][m][j]:.2f}" in reader.notes[n] and m in reader.notes[n]
        shown = {name for name, flag in zip(reader.names, reader.visible, strict=True) if flag}
        assert {f"{m}, {snrs[j]:g} dB" for m in models} <= shown
        assert sum(reader.visible) == 2 * len(models) + 1  # uniform lines, energy, weights


# ------------------------------------------------------------------ chapter 6 at a glance


def test_chapter_6_glance_bars_are_the_shares_and_bands_the_weights_on_their_time_grid():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(3)
    frames = 90
    times = 0.07 + 0.01 * np.arange(frames)  # centre times of the output frames
    weights = {m: (times, rng.dirichlet(np.ones(frames) * (k + 1)))
               for k, m in enumerate(("asp-scalar", "asp-channel", "asp-scalar-clean"))}
    shares = {m: (0.3 + 0.4 * k, 0.2 + 0.4 * k, 0.45 + 0.4 * k) for k, m in enumerate(weights)}
    fig, axes = viz.attention_glance(rng.normal(size=(40, frames + 14)), weights, shares,
                                     segment=(0.4, 0.7))
    bars = axes["bars"].patches
    assert [b.get_width() for b in bars] == pytest.approx([s[0] for s in shares.values()])
    heights = [b.get_y() + b.get_height() / 2 for b in bars]
    assert heights == sorted(heights, reverse=True)  # the first model on top, as its band
    for name, (t, alpha) in weights.items():
        (image,) = axes["bands"][name].get_images()
        assert np.asarray(image.get_array()) == pytest.approx(alpha[None, :] * frames)
        left, right, _, _ = image.get_extent()
        step = (right - left) / frames  # column k is centred on times[k]
        assert left + step * (np.arange(frames) + 0.5) == pytest.approx(t)
    with pytest.raises(ValueError, match="shares must name the models"):
        viz.attention_glance(np.zeros((40, frames + 14)), weights, dict(list(shares.items())[:2]))
    plt.close("all")
