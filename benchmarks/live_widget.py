"""How fast the live widget (book/try_it.md) answers in headless Chromium, on this machine.

    python benchmarks/live_widget.py [--html _build/html] [--repeats 3] [--out FILE.json]

Serves the built site as GitHub Pages does (tests/conftest.py's PagesServer) and, in a fresh
browser each time (nothing cached), measures

- from the click on Start to the first attention plot, onnxruntime-web's 14 MB of
  WebAssembly, the model and the recording downloaded from the local server included, for
  a 9 s and a 15 s book utterance;
- each later change of a control (noise, SNR, place, model) on a 10 s file, from the
  control's event to the redrawn plot, once the widget has loaded the other models and the
  noises in the background;
- the bytes the page has loaded before Start and after the first plot (Resource Timing).

A measurement, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from conftest import PagesServer, pages_prefix  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from test_browser_live import STATE, _chrome, change, pick_file, select, set_range  # noqa: E402

from asp_lab import analysis, data  # noqa: E402

LOADED = ("return performance.getEntriesByType('navigation').concat("
          "performance.getEntriesByType('resource')).reduce((n, e) => n + e.encodedBodySize, 0);")


def first_plot(paths, site, utterance: str, capture: str) -> dict:
    drv = _chrome(paths, capture)
    try:
        drv.get(site.url("book/try_it.html"))
        time.sleep(1.0)
        before = drv.execute_script(LOADED)
        drv.execute_script("document.querySelector('.asp-live').dataset.utterance = arguments[0];",
                           utterance)
        t0 = time.perf_counter()
        drv.find_element(By.CSS_SELECTOR, ".asp-live .asp-start").click()
        while not (drv.execute_script(STATE, "") or {}).get("runs"):
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        state = drv.execute_script(STATE, "")
        time.sleep(0.5)
        return {"utterance": utterance, "seconds": state["samples"] / data.SAMPLE_RATE,
                "click_to_plot_ms": round(state["firstPlotMs"]), "wall_ms": round(1000 * wall),
                "bytes_before": before, "bytes_after": drv.execute_script(LOADED)}
    finally:
        drv.quit()


def control_changes(paths, site, clip: str) -> list[dict]:
    drv = _chrome(paths, clip)
    out = []
    try:
        drv.get(site.url("book/try_it.html"))
        drv.find_element(By.CSS_SELECTOR, ".asp-live .asp-start").click()
        while not (drv.execute_script(STATE, "") or {}).get("runs"):
            time.sleep(0.02)
        pick_file(drv, "", clip)
        while not drv.execute_script(STATE, "").get("preloaded"):  # the other models, noises
            time.sleep(0.05)
        steps = [("noise", select, "Noise", "white_noise")]
        steps += [("snr", set_range, "SNR", v) for v in (-10, -5, 0, 5, 10, 15, 20, 25, 30)]
        steps += [("place", set_range, "Noise starts at", v) for v in (0, 25, 50, 75, 100)]
        steps += [("model", select, "Model", m) for m in
                  ("asp-channel", "stats", "asp-scalar-clean", "asp-scalar", "asp-channel")]
        for kind, action, label, value in steps:
            start = drv.execute_script("return performance.now();")
            state = change(drv, "", action, label, value)
            out.append({"control": kind, "value": value, "model": state["model"],
                        "ms": round(state["finishedAt"] - start, 1)})
        return out
    finally:
        drv.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", default=str(REPO / "_build" / "html"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    paths = (shutil.which("chromium"), shutil.which("chromedriver"))
    site = PagesServer(Path(args.html).resolve(), pages_prefix())
    tmp = Path(tempfile.mkdtemp())
    speech = np.concatenate([analysis._audio(u.path) for u in data.utterances("test-other")[:2]])
    clip = tmp / "clip-10s.wav"
    sf.write(clip, speech[: 10 * data.SAMPLE_RATE], data.SAMPLE_RATE, subtype="PCM_16")
    try:
        firsts = [first_plot(paths, site, u, str(clip))
                  for u in ("2033-164914-0000", "1688-142285-0000") for _ in range(args.repeats)]
        changes = [c for _ in range(args.repeats) for c in control_changes(paths, site, str(clip))]
    finally:
        site.close()
        shutil.rmtree(tmp)
    for f in firsts:
        print(f"click -> first plot, {f['utterance']} ({f['seconds']:.1f} s): "
              f"{f['click_to_plot_ms']} ms; loaded {f['bytes_before'] / 1e6:.2f} MB before "
              f"Start, {f['bytes_after'] / 1e6:.2f} MB after")
    for kind in ("noise", "snr", "place", "model"):
        ms = [c["ms"] for c in changes if c["control"] == kind]
        print(f"change of {kind}: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms "
              f"over {len(ms)}")
    if args.out:
        Path(args.out).write_text(json.dumps({"first_plot": firsts, "changes": changes},
                                             indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
