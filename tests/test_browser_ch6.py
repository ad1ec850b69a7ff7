"""Chapter 6 in a real browser (headless Chromium, the site served as Pages serves it): the
page renders without console errors, its static widget (a plotly figure with an SNR slider
and a menu of utterance and noise) changes when the slider moves and when the menu picks
another entry, and its <audio> players load their inlined WAV data.

Screenshots go to tests/artifacts/ (gitignored). Without chromium/chromedriver these tests
are skipped, except under CI=true (see ``chromium_paths`` in conftest.py).
"""

from __future__ import annotations

import json

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_browser import _settle, assert_renders, open_page, shot, start_chrome

pytestmark = pytest.mark.browser

CHAPTER_6 = "notebooks/06_attention_noise"
WIDGET_ID = "asp-noise-widget"
#: The chapter's players: the clean utterance and four noisy versions of it.
MIN_AUDIO = 5

#: What the widget shows: which traces are visible, the title, the controls' positions.
WIDGET_STATE = """
const gd = document.getElementById(arguments[0]);
if (!gd || !gd.data || !gd.layout) return null;
return JSON.stringify({
  visible: gd.data.map(t => t.visible === true),
  title: (gd.layout.title || {}).text,
  sliders: (gd.layout.sliders || []).map(s => [s.active, s.visible]),
  menus: (gd.layout.updatemenus || []).map(m => m.active),
  shapes: (gd.layout.shapes || []).map(s => [s.x0, s.x1]),
});
"""

AUDIO_STATE = """
return Array.from(document.querySelectorAll('article audio')).map(a => ({
  ready: a.readyState, duration: a.duration, error: a.error ? a.error.code : null,
  label: a.getAttribute('aria-label'), data_uri: a.src.startsWith('data:audio/wav;base64,'),
}));
"""


@pytest.fixture(scope="module")
def driver(chromium_paths):
    drv = start_chrome(chromium_paths)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture()
def chapter(driver, site):
    errors = open_page(driver, site, f"{CHAPTER_6}.html")
    assert not errors, f"{CHAPTER_6}: console errors:\n" + "\n".join(errors)
    return driver


def _widget(drv):
    figures = drv.find_elements(By.ID, WIDGET_ID)
    assert figures, f"{CHAPTER_6}: no element with id '{WIDGET_ID}' (the static widget)"
    figure = figures[0]
    assert "plotly-graph-div" in (figure.get_attribute("class") or ""), (
        f"#{WIDGET_ID} is not a plotly figure"
    )
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure)
    _settle(drv)
    return figure


def _state(drv) -> dict:
    state = drv.execute_script(WIDGET_STATE, WIDGET_ID)
    assert state is not None, f"#{WIDGET_ID} has no plotly data: did plotly.js load?"
    return json.loads(state)


def _wait_for_change(drv, before: dict, what: str, figure) -> dict:
    try:
        WebDriverWait(drv, 10).until(lambda d: _state(d) != before)
    except TimeoutException:
        shot(drv, f"chapter6_widget_{what}_failed", figure)
        pytest.fail(f"{what} did not change #{WIDGET_ID}")
    _settle(drv)
    return _state(drv)


def _console_errors(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def test_chapter_6_renders_without_console_errors(chapter):
    assert_renders(chapter, CHAPTER_6)
    shot(chapter, "chapter6_top")
    assert "Attention on clean and noisy speech" in chapter.title


def test_static_widget_slider_and_menu_change_the_figure(chapter):
    figure = _widget(chapter)
    before = _state(chapter)
    shown = sum(before["visible"])
    assert shown > 0, "the widget shows no trace"
    png_before = shot(chapter, "chapter6_widget_before", figure)

    # 1. Drag the visible SNR slider's grip to the far end of its rail.
    sliders = [s for s in figure.find_elements(By.CSS_SELECTOR, "g.slider-container")
               if s.is_displayed()]
    assert len(sliders) == 1, f"#{WIDGET_ID} shows {len(sliders)} sliders, expected 1"
    rail = sliders[0].find_element(By.CSS_SELECTOR, "rect.slider-rail-rect")
    grip = sliders[0].find_element(By.CSS_SELECTOR, "rect.slider-grip-rect")
    grip_x = grip.rect["x"] + grip.rect["width"] / 2
    far_right = rail.rect["x"] + rail.rect["width"] - 2
    target = far_right if far_right - grip_x > 10 else rail.rect["x"] + 2
    (ActionChains(chapter).move_to_element(grip).click_and_hold()
     .move_by_offset(round((target - grip_x) / 2), 0).pause(0.1)
     .move_by_offset(round(target - grip_x) - round((target - grip_x) / 2), 0).pause(0.1)
     .release().perform())
    after_slider = _wait_for_change(chapter, before, "moving the SNR slider", figure)
    assert after_slider["visible"] != before["visible"], "the slider moved no trace"
    assert after_slider["sliders"] != before["sliders"], "the slider's active step is the same"
    assert after_slider["title"] != before["title"], "the title (masses per SNR) did not change"
    assert sum(after_slider["visible"]) == shown
    png_slider = shot(chapter, "chapter6_widget_after_slider", figure)
    assert png_slider != png_before, "the figure looks the same after moving the slider"

    # 2. Open the menu and pick another utterance and noise (the third entry).
    header = figure.find_element(By.CSS_SELECTOR, "g.updatemenu-header")
    chapter.execute_script("arguments[0].scrollIntoView({block: 'center'});", header)
    _settle(chapter)
    ActionChains(chapter).move_to_element(header).click().perform()
    _settle(chapter)
    buttons = [b for b in figure.find_elements(By.CSS_SELECTOR, "g.updatemenu-dropdown-button")
               if b.is_displayed()]
    assert len(buttons) >= 3, f"the menu opened with {len(buttons)} entries"
    label = buttons[2].text
    ActionChains(chapter).move_to_element(buttons[2]).click().perform()
    after_menu = _wait_for_change(chapter, after_slider, "picking a menu entry", figure)
    assert after_menu["menus"] == [2], f"the menu's active entry is {after_menu['menus']}"
    assert after_menu["visible"] != after_slider["visible"], "the menu changed no trace"
    assert after_menu["title"].startswith(label.split(" ")[0]), (after_menu["title"], label)
    assert sum(after_menu["visible"]) == shown
    visible_sliders = [i for i, (_, v) in enumerate(after_menu["sliders"]) if v]
    assert visible_sliders == [2], f"visible sliders after the menu: {visible_sliders}"
    chapter.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure)
    _settle(chapter)
    png_menu = shot(chapter, "chapter6_widget_after_menu", figure)
    assert png_menu != png_slider, "the figure looks the same after picking another entry"

    errors = _console_errors(chapter)
    assert not errors, "console errors while using the widget:\n" + "\n".join(errors)


def test_audio_players_load(chapter):
    players = chapter.find_elements(By.CSS_SELECTOR, "article audio")
    assert len(players) >= MIN_AUDIO, f"{len(players)} <audio> players, expected {MIN_AUDIO}"
    chapter.execute_script("arguments[0].scrollIntoView({block: 'center'});", players[-1])
    try:
        WebDriverWait(chapter, 20).until(
            lambda d: all(a["ready"] >= 1 and a["duration"] > 0
                          for a in d.execute_script(AUDIO_STATE))
        )
    except TimeoutException:
        pass  # reported below, player by player
    states = chapter.execute_script(AUDIO_STATE)
    shot(chapter, "chapter6_audio")
    bad = [s for s in states if s["ready"] < 1 or not s["duration"] > 0 or s["error"]]
    assert not bad, f"players that did not load: {bad}"
    assert all(s["data_uri"] and s["label"] for s in states), states
    # Every clip is one utterance long: between 1 s and 30 s.
    assert all(1 < s["duration"] < 30 for s in states), [s["duration"] for s in states]
    errors = _console_errors(chapter)
    assert not errors, "console errors while loading the audio:\n" + "\n".join(errors)
