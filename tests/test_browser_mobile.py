"""The built site on a phone: every toc page at 390 x 844 CSS px (an iPhone 12-14 size,
device pixel ratio 2, mobile and touch emulated through the DevTools protocol).

The page body never scrolls sideways (a wide code block or table may scroll inside its own
box), every image fits the viewport, and chapter 2's static widget fits the width and its
slider is big enough to hit with a finger and moves when tapped. Screenshots go to
tests/artifacts/mobile/.
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_browser import CHAPTER_2, FIGURE_STATE, WIDGET_ID, _settle, open_page, start_chrome

pytestmark = pytest.mark.browser

WIDTH, HEIGHT, SCALE = 390, 844, 2
#: Smallest comfortable touch target, CSS px (WCAG 2.5.8's minimum is 24 x 24).
TOUCH_PX = 24
MOBILE_SHOTS = ARTIFACTS / "mobile"

#: Elements wider than the viewport that are not inside a box that scrolls on its own.
OVERFLOWING = """
const limit = arguments[0] + 1, out = [];
function scrollsItself(el) {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX) && p.clientWidth <= limit)
      return true;
  }
  return false;
}
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > limit && !scrollsItself(el)) {
    const cls = String(el.className.baseVal ?? el.className).trim().replace(/\\s+/g, '.');
    out.push(`${el.tagName.toLowerCase()}#${el.id}.${cls} right=${Math.round(r.right)}`);
  }
}
return out.slice(0, 15);
"""


@pytest.fixture(scope="module")
def phone(chromium_paths):
    drv = start_chrome(chromium_paths, window_size=f"{WIDTH},{HEIGHT}")
    drv.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": SCALE, "mobile": True},
    )
    drv.execute_cdp_cmd(
        "Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}
    )
    try:
        yield drv
    finally:
        drv.quit()


def phone_shot(drv, name: str) -> None:
    MOBILE_SHOTS.mkdir(parents=True, exist_ok=True)
    (MOBILE_SHOTS / f"{name.replace('/', '_')}.png").write_bytes(drv.get_screenshot_as_png())


def test_phone_page_fits_the_width(phone, site, toc_page):
    errors = open_page(phone, site, f"{toc_page}.html")
    assert not errors, f"{toc_page}: console errors on a phone:\n" + "\n".join(errors)
    phone_shot(phone, toc_page)
    # A mobile browser zooms out to show content wider than the screen: a viewport wider
    # than the emulated screen means the page is too wide, as does a wider scrollWidth.
    inner, scroll = phone.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert inner == WIDTH and scroll <= inner + 1, (
        f"{toc_page}: the page is wider than a {WIDTH} px phone (innerWidth {inner}, "
        f"scrollWidth {scroll}); too wide: {phone.execute_script(OVERFLOWING, WIDTH)}"
    )
    too_wide = phone.execute_script(
        "return [...document.images]"
        ".filter(i => i.getBoundingClientRect().width > window.innerWidth)"
        ".map(i => `${i.getAttribute('src')}: ${i.getBoundingClientRect().width}`)"
    )
    assert not too_wide, f"{toc_page}: images wider than the {inner} px screen: {too_wide}"


def phone_rect(drv, element) -> dict:
    return drv.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return {x: r.left, y: r.top, width: r.width, height: r.height};",
        element,
    )


def _slider_parts(drv):
    figure = drv.find_element(By.ID, WIDGET_ID)
    sliders = [
        s for s in figure.find_elements(By.CSS_SELECTOR, "g.slider-container") if s.is_displayed()
    ]
    assert sliders, f"#{WIDGET_ID} shows no slider on a phone"
    slider = sliders[0]
    # Viewport coordinates (getBoundingClientRect), as touch actions take them.
    rects = {
        name: phone_rect(drv, slider.find_element(By.CSS_SELECTOR, f"rect.slider-{name}-rect"))
        for name in ("rail", "grip", "rail-touch")
    }
    return figure, rects


def test_phone_chapter_2_widget_fits_and_taps(phone, site):
    errors = open_page(phone, site, f"{CHAPTER_2}.html")
    assert not errors, "console errors:\n" + "\n".join(errors)
    figure = phone.find_element(By.ID, WIDGET_ID)
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure)
    _settle(phone)
    box = phone.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.width];", figure
    )
    assert box[0] >= -1 and box[1] <= WIDTH + 1, (
        f"#{WIDGET_ID} spans x = {box[0]}..{box[1]} on a {WIDTH} px screen"
    )
    figure, rects = _slider_parts(phone)
    target_height = max(rects["grip"]["height"], rects["rail-touch"]["height"])
    assert target_height >= TOUCH_PX, (
        f"the slider's touch target is {target_height:.0f} px high (< {TOUCH_PX}): {rects}"
    )
    assert rects["rail"]["x"] >= 0 and rects["rail"]["x"] + rects["rail"]["width"] <= WIDTH + 1, (
        f"the slider's rail is off screen: {rects['rail']}"
    )

    before = phone.execute_script(FIGURE_STATE, WIDGET_ID)
    assert before is not None, f"#{WIDGET_ID} has no plotly data: did plotly.js load?"
    MOBILE_SHOTS.mkdir(parents=True, exist_ok=True)
    (MOBILE_SHOTS / "chapter2_widget_before.png").write_bytes(figure.screenshot_as_png)
    # Tap the rail near its far end (or its start, if the grip already sits at the end).
    rail, grip = rects["rail"], rects["grip"]
    grip_x = grip["x"] + grip["width"] / 2
    far = rail["x"] + rail["width"] - 3
    x = far if far - grip_x > 10 else rail["x"] + 3
    y = rects["rail-touch"]["y"] + rects["rail-touch"]["height"] / 2
    actions = ActionBuilder(phone, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    actions.pointer_action.move_to_location(round(x), round(y)).pointer_down().pause(
        0.05
    ).pointer_up()
    actions.perform()
    try:
        WebDriverWait(phone, 10).until(
            lambda d: d.execute_script(FIGURE_STATE, WIDGET_ID) != before
        )
    except TimeoutException:
        (MOBILE_SHOTS / "chapter2_widget_after.png").write_bytes(figure.screenshot_as_png)
        pytest.fail(
            f"tapping the slider of #{WIDGET_ID} at ({x:.0f}, {y:.0f}) did not change the figure"
        )
    _settle(phone)
    (MOBILE_SHOTS / "chapter2_widget_after.png").write_bytes(figure.screenshot_as_png)
    phone_shot(phone, "chapter2_widget_page")
