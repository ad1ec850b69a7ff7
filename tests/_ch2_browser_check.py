"""Check chapter 2's static widget twin in headless Chromium, as a reader would use it.

A plain script (pytest does not collect files starting with ``_``); the browser tests can
reuse the approach. It opens the built chapter from ``file://``, finds the plotly figure by
its id (``asp-static-widget``), and then, with real mouse clicks:

1. clicks the temperature slider's rail at both ends and checks that the visible
   ``alpha_t`` trace (its data, not just its label) and the title change each time;
2. does exercise 1 of the chapter on the twin: sets the scale slider and the temperature
   slider to ``v = 2, tau = 2``, ``v = 1, tau = 1`` and ``v = 0.5, tau = 0.5`` and checks that
   each move keeps the other slider where it was and that the three weights are the same;
3. opens the utterance menu, picks another utterance, and checks that the figure now shows
   that utterance's traces and its own sliders, and that its temperature slider moves too.

It saves a screenshot of the figure after each step and prints the browser console.

Usage::

    python tests/_ch2_browser_check.py [page.html] [--shots DIR] [--strict-network]

Default page: ``_build/html/notebooks/02_asp_step_by_step.html``. Exit status 0 when every
check passed, 1 otherwise. Needs ``chromium`` and ``chromedriver`` (Debian: ``chromium``,
``chromium-driver``) and selenium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DIV_ID = "asp-static-widget"
#: Console errors a plain Jupyter Book 1 page logs by itself (see _config.yml), allowed by name.
KNOWN_ERRORS = ("THEBE_JS_URL", "invalid theme mode")

# What the figure shows now: the visible traces (index, name, a fingerprint of the data),
# the title, and which slider is drawn.
STATE_JS = f"""
const gd = document.getElementById("{DIV_ID}");
const visible = gd._fullData.filter(t => t.visible === true).map(t => ({{
    index: t.index, name: t.name, n: t.y.length,
    max: Math.max(...Array.from(t.y)), first: Number(t.y[0]) }}));
return {{
    visible: visible,
    title: gd.layout.title.text,
    sliders: gd.layout.sliders.map(s => ({{visible: s.visible, active: s.active, name: s.name,
        prefix: s.currentvalue.prefix, labels: s.steps.map(t => t.label)}})),
}};
"""


def find_chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return browser, driver


def start_browser() -> webdriver.Chrome:
    browser, driver = find_chromium()
    options = Options()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1400",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def alpha_trace(state: dict) -> dict:
    """The one visible alpha_t trace (its name starts with the Greek alpha)."""
    traces = [t for t in state["visible"] if t["name"].startswith("α")]
    if len(traces) != 1:
        raise AssertionError(f"expected exactly one visible alpha trace, got {traces}")
    return traces[0]


def shoot(driver, figure, path: Path) -> None:
    """Screenshot of the figure alone, centred in the window first so that none is cut off."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure)
    time.sleep(0.3)
    figure.screenshot(str(path))


def click_rail(driver, fraction: float, which: int = 0) -> None:
    """Click a drawn slider's rail at ``fraction`` (0 = left end, 1 = right end); ``which``
    counts the drawn sliders from the top (0: temperature, 1: scale)."""
    # The rail as drawn (the wider touch area over it is transparent, so Selenium calls it
    # not displayed); the click lands on whatever is on top there, as a user's would.
    rails = sorted((r for r in driver.find_elements(By.CSS_SELECTOR, f"#{DIV_ID} .slider-rail-rect")
                    if r.is_displayed()), key=lambda r: r.location["y"])
    if len(rails) <= which:
        raise AssertionError(f"expected slider {which} to be drawn, found {len(rails)} rails")
    rail = rails[which]
    width = rail.size["width"]
    offset = round((fraction - 0.5) * (width - 20))  # from the rail's centre, inside its ends
    ActionChains(driver).move_to_element_with_offset(rail, offset, 0).click().perform()
    time.sleep(0.6)


def drawn(state: dict, prefix: str) -> dict:
    """The one drawn slider whose current value starts with ``prefix``."""
    found = [s for s in state["sliders"] if s["visible"] and s["prefix"].startswith(prefix)]
    if len(found) != 1:
        raise AssertionError(f"expected one drawn {prefix!r} slider, got {found}")
    return found[0]


def set_slider(driver, which: int, prefix: str, label: str) -> dict:
    """Click the drawn slider ``which`` at its step ``label``; return the figure's state."""
    steps = drawn(driver.execute_script(STATE_JS), prefix)["labels"]
    click_rail(driver, steps.index(label) / (len(steps) - 1), which)
    return driver.execute_script(STATE_JS)


def pick_menu_item(driver, label: str) -> None:
    """Open the utterance drop-down and click the item ``label``."""
    header = driver.find_element(By.CSS_SELECTOR, f"#{DIV_ID} .updatemenu-header")
    ActionChains(driver).move_to_element(header).click().perform()
    time.sleep(0.4)
    for item in driver.find_elements(By.CSS_SELECTOR, f"#{DIV_ID} .updatemenu-dropdown-button"):
        if (item.get_attribute("textContent") or "").strip() == label:
            ActionChains(driver).move_to_element(item).click().perform()
            time.sleep(0.6)
            return
    raise AssertionError(f"no menu item {label!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", default="_build/html/notebooks/02_asp_step_by_step.html")
    parser.add_argument("--shots", default="tests/artifacts/ch2", help="screenshot folder")
    parser.add_argument("--strict-network", action="store_true",
                        help="also fail when remote resources (e.g. MathJax's CDN) do not load")
    args = parser.parse_args()
    page = Path(args.page).resolve()
    if not page.is_file():
        print(f"no built page at {page}: build the book first", file=sys.stderr)
        return 1
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(("PASS " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    driver = start_browser()
    try:
        driver.get(page.as_uri())
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            f'const g = document.getElementById("{DIV_ID}"); return !!(g && g._fullData);'))
        figure = driver.find_element(By.ID, DIV_ID)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure)
        time.sleep(0.5)
        html_bytes = page.stat().st_size
        check(html_bytes < 5_000_000, f"page size {html_bytes / 1e6:.2f} MB < 5 MB")

        before = driver.execute_script(STATE_JS)
        shoot(driver, figure, shots / "1_initial.png")
        a0 = alpha_trace(before)
        print("initial:", before["title"])
        shown = [s for s in before["sliders"] if s["visible"]]
        check(len(shown) == 2, f"two sliders drawn, temperature and scale "
              f"({len(before['sliders'])} defined)")

        click_rail(driver, 0.0)  # leftmost step: the smallest temperature
        low = driver.execute_script(STATE_JS)
        shoot(driver, figure, shots / "2_slider_left.png")
        a1 = alpha_trace(low)
        print("slider left:", low["title"])
        check(a1["index"] != a0["index"], "slider click shows another alpha trace")
        check(a1["max"] > 2 * a0["max"], f"smallest temperature: peak weight grows "
              f"({a0['max']:.4f} -> {a1['max']:.4f})")
        check(low["title"] != before["title"], "title (temperature, N_eff) changes")

        click_rail(driver, 1.0)  # rightmost step: the largest temperature, nearly uniform
        high = driver.execute_script(STATE_JS)
        shoot(driver, figure, shots / "3_slider_right.png")
        a2 = alpha_trace(high)
        print("slider right:", high["title"])
        check(abs(a2["max"] * a2["n"] - 1) < 0.05,
              f"largest temperature: weights nearly uniform (max * T = {a2['max'] * a2['n']:.3f})")

        # Exercise 1: v = 2, tau = 2; v = 1, tau = 1; v = 0.5, tau = 0.5.
        same = []
        for value in ("2", "1", "0.5"):
            set_slider(driver, 1, "scale", value)
            state = set_slider(driver, 0, "temperature", value)
            shoot(driver, figure, shots / f"4_exercise_1_{value}.png")
            print(f"v = tau = {value}:", state["title"])
            check(f"v = {value}, τ = {value}" in state["title"],
                  f"both sliders set to {value} (the title says so)")
            tau, v = drawn(state, "temperature"), drawn(state, "scale")
            check(tau["labels"][tau["active"]] == value and v["labels"][v["active"]] == value,
                  f"each slider stays where it was set ({value})")
            same.append(alpha_trace(state))
        check(len({t["index"] for t in same}) == 3, "three different precomputed states")
        check(max(t["max"] for t in same) - min(t["max"] for t in same) < 1e-6 * same[0]["max"],
              f"exercise 1: the three settings give the same weights "
              f"(peaks {[round(t['max'], 6) for t in same]})")

        first = drawn(before, "temperature")["name"]
        other = next(s["name"] for s in before["sliders"] if s["name"] != first)
        pick_menu_item(driver, other)
        switched = driver.execute_script(STATE_JS)
        shoot(driver, figure, shots / "5_other_utterance.png")
        a3 = alpha_trace(switched)
        print("menu:", switched["title"])
        check(switched["title"].startswith(other), f"menu shows utterance {other}")
        check(a3["n"] != a0["n"] or a3["first"] != a0["first"], "menu changes the data shown")
        now = sorted({s["name"] for s in switched["sliders"] if s["visible"]})
        check(now == [other], f"the new utterance's sliders are drawn ({now})")

        click_rail(driver, 0.0)
        moved = driver.execute_script(STATE_JS)
        shoot(driver, figure, shots / "6_other_slider_left.png")
        a4 = alpha_trace(moved)
        print("its slider left:", moved["title"])
        check(a4["index"] != a3["index"] and a4["max"] > 2 * a3["max"],
              "the new utterance's slider moves its weights")

        logs = driver.get_log("browser")
    finally:
        driver.quit()

    print(f"\nbrowser console ({len(logs)} entries):")
    for entry in logs:
        print(f"  {entry['level']}: {entry['message']}")
    severe = [e for e in logs if e["level"] == "SEVERE"]
    # A file:// page that cannot reach the network still fails to load the site's remote
    # scripts (MathJax from its CDN): reported, but only fatal with --strict-network.
    offline = [e for e in severe if e.get("source") == "network"
               and e["message"].startswith(("http://", "https://"))]
    if offline:
        print(f"remote resources that did not load ({len(offline)}): "
              + "; ".join(e["message"] for e in offline))
    if not args.strict_network:
        severe = [e for e in severe if e not in offline]
    unknown = [e for e in severe if not any(k in e["message"] for k in KNOWN_ERRORS)]
    check(not unknown, f"no console errors besides the known ones: {json.dumps(unknown)}")
    print(f"\nscreenshots in {shots.resolve()}")
    print("ALL PASSED" if not failures else f"{len(failures)} FAILED: {failures}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
