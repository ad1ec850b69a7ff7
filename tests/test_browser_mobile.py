"""The built site on a phone: every toc page at 390 x 844 CSS px (an iPhone 12-14 size,
device pixel ratio 2, mobile and touch emulated through the DevTools protocol).

The page body never scrolls sideways (a wide code block or table may scroll inside its own
box), every image fits the viewport, and chapter 2's static widget fits the width and its
slider is big enough to hit with a finger and moves when tapped. On every page: each
figure's labels are big enough to read (a wide figure scrolls in its own box instead of
shrinking), each table fits or scrolls in its own box, nothing else is wider than the text
column, and the static twins' title, menus and sliders sit inside the column.
Screenshots go to tests/artifacts/mobile/.
"""

from __future__ import annotations

import struct
from pathlib import Path

import matplotlib
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
#: The size of a figure's axis labels and tick labels, points: the chapters draw with
#: matplotlib's defaults (nothing in asp_lab or the notebooks changes font.size).
FIGURE_FONT_PT = float(matplotlib.rcParamsDefault["font.size"])
#: Smallest size, CSS px, that text of FIGURE_FONT_PT may have on the phone. The desktop
#: site (1280 px wide, a 676 px column) shows it at 9.1-10.6 px; a phone's CSS px is about
#: 0.165 mm (390 px across 64 mm) seen from about 30-35 cm, a desktop's about 0.27 mm from
#: about 60 cm, so 9 px on the phone is as large to the eye as the desktop's smallest.
#: book/_static/custom.css shows figures at 2/3 of their natural size on phones, 9.3 px for
#: 10 pt text at 100 dpi; shrunk to the 358 px column they were 4.6-5.9 px.
MIN_LABEL_PX = 9.0

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
    # A figure may be wider than the screen (so that its labels stay readable) only inside a
    # box of its own that scrolls sideways (test_phone_figures_have_readable_labels).
    too_wide = phone.execute_script(
        "const scrolls = i => { const b = i.closest('.cell_output');"
        "  return b && ['auto', 'scroll'].includes(getComputedStyle(b).overflowX)"
        "    && b.getBoundingClientRect().right <= window.innerWidth + 1; };"
        "return [...document.images]"
        ".filter(i => i.getBoundingClientRect().width > window.innerWidth && !scrolls(i))"
        ".map(i => `${i.getAttribute('src')}: ${i.getBoundingClientRect().width}`)"
    )
    assert not too_wide, (
        f"{toc_page}: images wider than the {inner} px screen, in no box that scrolls: {too_wide}"
    )


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


# ------------------------------------------------------- figures, tables and boxes in the column

#: The text column (the article's content box) and, for each element, the nearest ancestor
#: that clips or scrolls it sideways. Shared by the checks below.
BOXES_JS = """
window.aspColumn = () => {
  const a = document.querySelector('.bd-article'), r = a.getBoundingClientRect(),
        s = getComputedStyle(a);
  return {left: r.left + parseFloat(s.paddingLeft), right: r.right - parseFloat(s.paddingRight)};
};
window.aspClipper = el => {
  for (let p = el.parentElement; p && !p.classList.contains('bd-article');
       p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return p;
  }
  return null;
};
window.aspBox = el => {
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {left: r.left, right: r.right, width: r.width, client: el.clientWidth,
          scroll: el.scrollWidth, overflow: getComputedStyle(el).overflowX,
          name: el.tagName.toLowerCase() + '.'
                + String(el.className.baseVal ?? el.className).trim().split(/\\s+/).join('.')};
};
"""

FIGURES_JS = BOXES_JS + """
return {column: aspColumn(), figures: [...document.querySelectorAll('.bd-article .cell_output img')]
  .filter(i => i.getBoundingClientRect().width > 0)
  .map(i => ({src: i.getAttribute('src'), natural: i.naturalWidth, ...aspBox(i),
              box: aspBox(aspClipper(i))}))};
"""

TABLES_JS = BOXES_JS + """
return {column: aspColumn(), tables: [...document.querySelectorAll('.bd-article table')]
  .filter(t => t.getBoundingClientRect().width > 0)
  .map(t => ({head: Array.from((t.querySelector('th, td') || t).innerText.trim()).slice(0, 30)
                     .join(''), ...aspBox(t), box: aspBox(aspClipper(t))}))};
"""

#: Elements of the article that reach outside the column, except inside a code, table or
#: figure box that scrolls sideways itself; and such boxes that reach outside the column.
OUTSIDE_JS = BOXES_JS + """
const col = aspColumn(), out = [], BOX = arguments[0];
const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
for (const el of document.querySelectorAll('.bd-article *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || (r.left >= col.left - 1 && r.right <= col.right + 1)) continue;
  if (el.closest('mjx-assistive-mml')) continue;  // MathJax's copy for screen readers, clipped
  const box = el.parentElement.closest(BOX);
  if (box && scrolls(box) && box.closest('.bd-article') && box !== el) continue;
  out.push(`${aspBox(el).name} x=${Math.round(r.left)}..${Math.round(r.right)}`);
}
return {column: col, outside: out.slice(0, 15)};
"""
#: The boxes that may hold content wider than the column, if they scroll sideways themselves:
#: code, outputs (tables, figures), markdown tables, and display equations (MathJax cannot
#: break a wide equation into lines, so it scrolls in its own box as a table does).
SCROLL_BOXES = (
    "div.highlight, pre, div.cell_output, div.output, .pst-scrollable-table-container, "
    "mjx-container[display='true']"
)

TWIN_JS = BOXES_JS + """
return {column: aspColumn(), twins: [...document.querySelectorAll('.bd-article .js-plotly-plot')]
  .map(f => ({id: f.id, box: aspBox(f), parts: [...f.querySelectorAll(
      '.gtitle, .updatemenu-container, .slider-container')]
    .filter(p => p.getBoundingClientRect().width > 0)
    .map(p => ({part: p.getAttribute('class'), ...aspBox(p)}))}))};
"""


def png_dpi(path: Path) -> float:
    """Pixels per inch stored in a PNG's pHYs chunk (matplotlib writes its dpi there)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    i = 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[i + 8 : i + 17])
            if unit != 1:
                raise ValueError(f"{path}: pHYs without a unit (aspect ratio only)")
            return x * 0.0254
        i += 12 + length
    raise ValueError(f"{path} has no pHYs chunk: its dpi, so its text size, is unknown")


def effective_label_px(font_pt: float, dpi: float, shown: float, natural: float) -> float:
    """CSS px that text of ``font_pt`` points in a ``dpi`` PNG ``natural`` px wide takes up
    when the page shows the PNG ``shown`` px wide."""
    return font_pt * dpi / 72 * shown / natural


def test_effective_label_px_is_the_rendered_size():
    # 10 pt at 100 dpi is 13.9 image px; shown at half its width it is half that.
    assert effective_label_px(10, 100, 450, 900) == pytest.approx(10 * 100 / 72 / 2)
    # 72 dpi: one point is one image pixel.
    assert effective_label_px(12, 72, 300, 300) == pytest.approx(12)


#: Opens every collapsed block (the exercises' solutions, hidden cells), as a reader may.
EXPAND_JS = """
document.querySelectorAll('.bd-article .toggle-hidden button.toggle-button')
  .forEach(b => b.click());
document.querySelectorAll('.bd-article details:not([open])').forEach(d => { d.open = true; });
"""


def _phone_open(drv, site, page: str) -> None:
    """Open ``page`` on the phone with its collapsed solutions and cells opened."""
    errors = open_page(drv, site, f"{page}.html")
    assert not errors, f"{page}: console errors on a phone:\n" + "\n".join(errors)
    drv.execute_script(EXPAND_JS)
    _settle(drv)
    still = drv.execute_script(
        "return document.querySelectorAll('.bd-article .toggle-hidden:not(.admonition-title)')"
        ".length"
    )
    assert not still, f"{page}: {still} collapsed blocks did not open"


def _in_column(rect: dict, column: dict) -> bool:
    return rect["left"] >= column["left"] - 1 and rect["right"] <= column["right"] + 1


def test_phone_figures_have_readable_labels(phone, site, toc_page):
    _phone_open(phone, site, toc_page)
    got = phone.execute_script(FIGURES_JS)
    column, problems = got["column"], []
    page = site.html / f"{toc_page}.html"
    for fig in got["figures"]:
        src = fig["src"]
        if not src.lower().endswith(".png"):
            problems.append(f"{src}: not a PNG, its text size cannot be checked")
            continue
        dpi = png_dpi((page.parent / src).resolve())
        label = effective_label_px(FIGURE_FONT_PT, dpi, fig["width"], fig["natural"])
        name = f"{src.rsplit('/', 1)[-1][:16]} ({fig['natural']} px at {dpi:.0f} dpi)"
        if label < MIN_LABEL_PX:
            problems.append(
                f"{name}: shown {fig['width']:.0f} px wide, its {FIGURE_FONT_PT:g} pt labels "
                f"are {label:.1f} CSS px (< {MIN_LABEL_PX})"
            )
        if not _in_column(fig, column):
            box = fig["box"]
            if box is None or box["overflow"] not in ("auto", "scroll"):
                problems.append(f"{name}: wider than the column and in no box that scrolls")
            elif not _in_column(box, column) or box["scroll"] <= box["client"]:
                problems.append(f"{name}: its box {box} does not fit the column and scroll")
    assert not problems, (
        f"{toc_page} at {WIDTH} px (column {column}):\n" + "\n".join(problems)
    )


def test_phone_tables_fit_or_scroll_in_their_own_box(phone, site, toc_page):
    _phone_open(phone, site, toc_page)
    got = phone.execute_script(TABLES_JS)
    column, problems = got["column"], []
    for table in got["tables"]:
        box, name = table["box"], repr(table["head"])
        if box is None:  # in no box of its own inside the article
            if not _in_column(table, column):
                problems.append(f"table {name} is {table['width']:.0f} px wide, in no box")
            continue
        if not _in_column(box, column):
            problems.append(f"table {name}: its box {box['name']} reaches outside the column")
        if table["width"] > box["client"] + 1 and box["overflow"] not in ("auto", "scroll"):
            problems.append(
                f"table {name} is {table['width']:.0f} px wide in a {box['client']} px box "
                f"that does not scroll (overflow-x: {box['overflow']}): columns are hidden"
            )
    assert not problems, (
        f"{toc_page} at {WIDTH} px (column {column}):\n" + "\n".join(problems)
    )


def test_phone_nothing_but_code_tables_and_figures_leaves_the_column(phone, site, toc_page):
    _phone_open(phone, site, toc_page)
    got = phone.execute_script(OUTSIDE_JS, SCROLL_BOXES)
    assert got["column"]["right"] - got["column"]["left"] <= WIDTH
    assert not got["outside"], (
        f"{toc_page}: outside the {WIDTH} px phone's column {got['column']} and not in a "
        f"scrolling code, table or figure box:\n" + "\n".join(got["outside"])
    )


def test_phone_static_twins_title_menus_and_sliders_sit_in_the_column(phone, site, chapter_page):
    if "plotly-graph-div" not in (site.html / f"{chapter_page}.html").read_text(encoding="utf-8"):
        pytest.skip(f"{chapter_page} has no plotly figure")
    _phone_open(phone, site, chapter_page)
    got = phone.execute_script(TWIN_JS)
    column, problems = got["column"], []
    assert got["twins"], f"{chapter_page}: plotly's div is in the HTML but drew no figure"
    for twin in got["twins"]:
        if not _in_column(twin["box"], column):
            problems.append(f"#{twin['id']} spans x = {twin['box']['left']:.0f}.."
                            f"{twin['box']['right']:.0f}")
        problems += [
            f"#{twin['id']} {p['part']} spans x = {p['left']:.0f}..{p['right']:.0f}"
            for p in twin["parts"]
            if not _in_column(p, column)
        ]
    assert not problems, (
        f"{chapter_page}: parts of the static twins outside the column "
        f"x = {column['left']:.0f}..{column['right']:.0f} of a {WIDTH} px phone:\n"
        + "\n".join(problems)
    )


SCROLLERS_JS = """
return [...document.querySelectorAll(
    ".bd-article .cell_output, .bd-article mjx-container[display='true']")]
  .filter(b => b.scrollWidth > b.clientWidth + 1)
  .map(b => ({tag: b.tagName, tabindex: b.getAttribute("tabindex"),
              label: b.getAttribute("aria-label"), width: b.scrollWidth}));
"""


def test_phone_boxes_that_scroll_can_be_reached_by_keyboard(phone, site, toc_page):
    """A box that scrolls sideways holds no focusable element of its own (an image, a
    table, maths), so it needs tabindex=0 itself, or a keyboard cannot scroll it."""
    _phone_open(phone, site, toc_page)
    boxes = phone.execute_script(SCROLLERS_JS)
    unreachable = [b for b in boxes if b["tabindex"] != "0" or not b["label"]]
    assert not unreachable, f"{toc_page}: scrolling boxes without tabindex/label: {unreachable}"
