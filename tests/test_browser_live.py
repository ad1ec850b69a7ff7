"""The live widget (book/try_it.md, chapter 6) in headless Chromium, the site served as Pages
serves it: the shipped models run in the page by onnxruntime-web give the weights that
``asp_lab.frame_attention`` gives, the page mixes noise as ``asp_lab.data.mix_noise`` does,
a recording from Chromium's fake microphone gives a plot, no console errors, and on a
phone's screen every control can be reached.

The fake microphone is fed a WAV file (``--use-file-for-fake-audio-capture``); captured audio
runs in real time, so the recording test waits in real time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_browser import open_page

import asp_lab
from asp_lab import analysis, data

pytestmark = pytest.mark.browser

TRY_IT = "book/try_it.html"
CHAPTER_6 = "notebooks/06_attention_noise.html"
#: The page's weights must equal the library's to this (float32 in both, ONNX vs torch).
ALPHA_TOL = 1e-4
#: Seconds to wait for the runtime, a model and a recording to load and run.
LOAD_TIMEOUT_S = 60
PHONE = (390, 844)

STATE = "return document.querySelector(arguments[0] + ' .asp-live').aspLive;"


def _chrome(chromium_paths, capture: str, size=(1280, 900)):
    chromium, chromedriver = chromium_paths
    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                f"--window-size={size[0]},{size[1]}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={capture}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(chromedriver))
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(60)
    return drv


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> tuple[str, np.ndarray]:
    """A 10 s stereo WAV at 16 kHz (a test-other utterance, each channel scaled apart), and
    what asp_lab reads from it (the channels averaged)."""
    speech = np.concatenate([data.cached_audio(u.path) for u in data.utterances("test-other")[:2]])
    speech = speech[: 10 * data.SAMPLE_RATE]
    path = tmp_path_factory.mktemp("live") / "stereo.wav"
    sf.write(path, np.stack([speech, 0.5 * speech], axis=1), data.SAMPLE_RATE, subtype="PCM_16")
    return str(path), data.load_audio(path)


@pytest.fixture(scope="module")
def driver(chromium_paths, speech_wav):
    drv = _chrome(chromium_paths, speech_wav[0])
    try:
        yield drv
    finally:
        drv.quit()


def console_errors(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def start(drv, site, page: str = TRY_IT, scope: str = "") -> dict:
    errors = open_page(drv, site, page)
    assert not errors, f"{page}: console errors before start:\n" + "\n".join(errors)
    button = drv.find_element(By.CSS_SELECTOR, f"{scope} .asp-live .asp-start")
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    return wait_for_run(drv, scope, 0)


def wait_for_run(drv, scope: str, runs_before: int) -> dict:
    def done(d):
        s = d.execute_script(STATE, scope)
        return s if s and s["runs"] > runs_before and not s.get("busy") else False

    try:
        return WebDriverWait(drv, LOAD_TIMEOUT_S, 0.05).until(done)
    except Exception:
        status = drv.find_element(By.CSS_SELECTOR, f"{scope} .asp-live .asp-status").text
        pytest.fail(f"the widget did not show a result: its status says {status!r}; console: "
                    f"{console_errors(drv)}")


def set_range(drv, scope: str, label: str, value) -> None:
    drv.execute_script(
        "const i = [...document.querySelectorAll(arguments[0] + ' .asp-live input[type=range]')]"
        ".find(e => document.querySelector(`label[for=${e.id}]`).textContent"
        ".startsWith(arguments[1]));"
        "i.value = arguments[2]; i.dispatchEvent(new Event('input'));", scope, label, value)


def select(drv, scope: str, label: str, value: str) -> None:
    label_el = drv.find_element(By.XPATH, f"//div[contains(@class, 'asp-live')]//label"
                                          f"[starts-with(normalize-space(.), '{label}')]")
    Select(drv.find_element(By.ID, label_el.get_attribute("for"))).select_by_value(value)


def pick_file(drv, scope: str, path: str) -> dict:
    runs = drv.execute_script(STATE, scope)["runs"]
    drv.find_element(By.CSS_SELECTOR, f"{scope} .asp-live input[type=file]").send_keys(path)
    return wait_for_run(drv, scope, runs)


def change(drv, scope, action, *args) -> dict:
    runs = drv.execute_script(STATE, scope)["runs"]
    action(drv, scope, *args)
    return wait_for_run(drv, scope, runs)


# --------------------------------------------------------------------------------- the tests


def test_picked_file_gives_the_librarys_alpha(driver, site, speech_wav):
    path, audio = speech_wav
    start(driver, site)
    state = pick_file(driver, "", path)
    assert state["samples"] == audio.size, "the page did not read the file at 16 kHz"
    for model in ("asp-scalar", "asp-channel", "stats"):
        if state["model"] != model:
            state = change(driver, "", select, "Model", model)
        _, want = asp_lab.frame_attention(asp_lab.load_model(model), audio)
        got = np.array(state["alpha"])
        assert got.shape == want.shape, f"{model}: {got.size} frames, the library {want.size}"
        np.testing.assert_allclose(got, want, rtol=0, atol=ALPHA_TOL, err_msg=model)
    assert not console_errors(driver)


def test_noise_is_mixed_as_mix_noise_mixes_it(driver, site, speech_wav):
    path, audio = speech_wav
    start(driver, site)
    pick_file(driver, "", path)
    noise = data.load_noise("white_noise")
    change(driver, "", select, "Noise", "white_noise")
    for mode, snr, position, length in (("replace", 0, 50, 33), ("add", 5, 0, 20),
                                        ("add", -10, 100, 60), ("replace", 20, 10, 100)):
        if driver.execute_script(STATE, "")["mode"] != mode:
            change(driver, "", select, "The noise", mode)
        change(driver, "", set_range, "SNR", snr)
        change(driver, "", set_range, "Noise starts", position)
        state = change(driver, "", set_range, "Noise lasts", length)
        assert state["mode"] == mode and state["snr"] == snr
        mixed, frame_mask = data.mix_noise(audio, noise, snr, state["start"], state["length"],
                                           mode=mode)
        _, want = asp_lab.frame_attention(asp_lab.load_model(state["model"]), mixed)
        np.testing.assert_allclose(state["alpha"], want, rtol=0, atol=ALPHA_TOL,
                                   err_msg=f"{mode} at {snr} dB")
        expected = analysis.relative_mass(want, frame_mask)
        assert abs(state["relative"] - expected) < 1e-3, (mode, snr, state["relative"], expected)
    assert not console_errors(driver)


def test_recording_from_the_microphone_gives_weights_that_sum_to_one(driver, site):
    start(driver, site)
    runs = driver.execute_script(STATE, "")["runs"]
    record = driver.find_element(By.XPATH, "//div[contains(@class,'asp-live')]//button"
                                           "[starts-with(normalize-space(.), 'Record')]")
    record.click()
    time.sleep(3.0)  # captured audio advances in real time only
    record.click()  # stop
    state = wait_for_run(driver, "", runs)
    assert state["label"] == "your recording"
    assert state["recordedSamples"] > data.SAMPLE_RATE, "less than a second was captured"
    assert abs(sum(state["alpha"]) - 1) < 1e-4
    assert len(state["alpha"]) == 1 + state["samples"] // 160 - 14
    assert not console_errors(driver)


def test_chapter_6_widget_runs(driver, site):
    state = start(driver, site, CHAPTER_6)
    assert abs(sum(state["alpha"]) - 1) < 1e-4
    assert not console_errors(driver)


def test_unreadable_file_is_refused_in_words(driver, site, tmp_path):
    start(driver, site)
    bad = tmp_path / "not-audio.wav"
    bad.write_bytes(b"this is not a recording")
    status = (By.CSS_SELECTOR, ".asp-live .asp-status")
    driver.find_element(By.CSS_SELECTOR, ".asp-live input[type=file]").send_keys(str(bad))
    WebDriverWait(driver, 20).until(lambda d: "could not decode" in d.find_element(*status).text)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32_000), data.SAMPLE_RATE)
    driver.find_element(By.CSS_SELECTOR, ".asp-live input[type=file]").send_keys(str(silent))
    WebDriverWait(driver, 20).until(lambda d: "silent" in d.find_element(*status).text)


def test_every_control_is_usable_on_a_phone(chromium_paths, site, speech_wav):
    drv = _chrome(chromium_paths, speech_wav[0], size=PHONE)
    try:
        start(drv, site)
        width = drv.execute_script("return document.documentElement.clientWidth")
        controls = drv.find_elements(By.CSS_SELECTOR, ".asp-live select, .asp-live input, "
                                                      ".asp-live button, .asp-live audio")
        assert len(controls) >= 9
        for c in controls:
            drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", c)
            box = drv.execute_script(
                "const r = arguments[0].getBoundingClientRect();"
                "const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
                "return {left: r.left, right: r.right, height: r.height,"
                " hit: !!e && (e === arguments[0] || arguments[0].contains(e))};", c)
            name = c.get_attribute("id") or c.tag_name
            assert box["left"] >= 0 and box["right"] <= width + 1, f"{name} overflows: {box}"
            assert box["height"] >= 24, f"{name} is too small to touch: {box}"
            assert box["hit"], f"{name} is covered by another element"
        assert drv.execute_script("return document.documentElement.scrollWidth") <= width + 1
        assert not console_errors(drv)
    finally:
        drv.quit()


def test_started_widget_has_no_serious_accessibility_violations(driver, site):
    import json

    from test_accessibility import RUN_AXE, axe_source, describe

    for page, scope in ((TRY_IT, ""), (CHAPTER_6, "")):
        start(driver, site, page, scope)
        driver.execute_script(axe_source())
        result = json.loads(driver.execute_async_script(RUN_AXE))
        assert isinstance(result, list), f"axe failed: {result}"
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not serious, f"{page}, widget started:\n" + describe(serious)
