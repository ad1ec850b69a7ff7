"""Ratios between layers (chapter 7): against statistics pooling and against SpeechBrain's
layer, of the medians and paired within rounds; and the targets at the headline size."""

from __future__ import annotations

import statistics

from .layers import HEADLINE, LAYERS, SPEECHBRAIN_REF


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _paired(times: dict[str, list[float]], name: str, ref: str) -> float | None:
    """Median over the rounds of time(name) / time(ref) in the same round: the layers took
    turns, so a burst of load from elsewhere that slows one round slows both."""
    if ref not in times or name not in times:
        return None
    return statistics.median(a / b for a, b in zip(times[name], times[ref], strict=True))


def _add_ratios(rows: dict[str, dict], times: dict[str, list[float]] | None = None) -> None:
    """Add time/memory ratios against ``stats`` and against SpeechBrain's matching layer:
    ratios of the medians, and (with ``times``) the median of the per-round ratios."""
    times = times or {}
    for name, row in rows.items():
        stats = rows.get("stats", {})
        ref = SPEECHBRAIN_REF[LAYERS[name][1]]
        sb = rows.get(ref, {})
        row["time_vs_stats"] = _ratio(row["time_median_s"], stats.get("time_median_s"))
        row["time_vs_stats_paired"] = _paired(times, name, "stats")
        row["memory_vs_stats"] = _ratio(row["peak_memory_bytes"], stats.get("peak_memory_bytes"))
        row["speechbrain_reference"] = ref if sb else None
        row["time_vs_speechbrain"] = _ratio(row["time_median_s"], sb.get("time_median_s"))
        row["time_vs_speechbrain_paired"] = _paired(times, name, ref) if sb else None
        row["memory_vs_speechbrain"] = _ratio(row["peak_memory_bytes"],
                                              sb.get("peak_memory_bytes"))


#: (name, layer, reference, quantity, limit): the targets the issue set, at HEADLINE. Against
#: SpeechBrain, asp_lab's layer in SpeechBrain's configuration (``asp-ecapa-gc``): the same
#: function, so the ratio measures how it is computed, not what is computed.
TARGETS = (
    ("channel ASP + global context, SpeechBrain's scoring, vs SpeechBrain: time",
     "asp-ecapa-gc", "speechbrain-asp-gc", "time", 0.6),
    ("channel ASP + global context, SpeechBrain's scoring, vs SpeechBrain: peak memory",
     "asp-ecapa-gc", "speechbrain-asp-gc", "memory", 0.6),
    ("scalar ASP vs statistics pooling: time", "asp-scalar", "stats", "time", 2.0),
)


def targets(result: dict, size: tuple[int, int, int] = HEADLINE) -> list[dict]:
    """The targets at ``size``: each with its measured ratio, limit and ``met`` (None if the
    size or a layer is missing). Chapter 7 (the three ratios of section 6)."""
    entry = next((r for r in result["results"] if (r["B"], r["C"], r["T"]) == tuple(size)),
                 None)
    out = []
    for label, layer, ref, quantity, limit in TARGETS:
        key = "time_median_s" if quantity == "time" else "peak_memory_bytes"
        rows = entry["rows"] if entry else {}
        ratio = _ratio(rows.get(layer, {}).get(key), rows.get(ref, {}).get(key))
        paired = None
        if quantity == "time" and layer in rows:
            paired = rows[layer].get("time_vs_stats_paired" if ref == "stats"
                                     else "time_vs_speechbrain_paired")
        out.append({"target": label, "layer": layer, "reference": ref, "quantity": quantity,
                    "size": list(size), "ratio": ratio, "ratio_paired": paired,
                    "limit": limit, "met": None if ratio is None else ratio <= limit})
    return out
