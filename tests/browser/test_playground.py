"""The playground in a real browser: Debian's Chromium, headless, driven by
Playwright (its own browser download is not used: tools/install_browser.sh
installs Chromium, and `make test` runs it when the browser is missing)."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("VSL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
IMAGE_RENDERED = """() => {
    const img = document.querySelector('#result-media');
    return img !== null && img.tagName === 'IMG' && img.complete && img.naturalWidth > 0;
}"""


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run tools/install_browser.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text
            and page.csp_violations.append(msg.text))
    page.goto(stack.api_url + "/")
    page.fill("#key", CLIENT_A_KEY)
    page.click("#save-key")
    page.wait_for_selector("#model option[value=flux-schnell]", state="attached")
    yield page
    context.close()


def test_the_page_opens_on_flux_schnell_for_the_users_own_key(page):
    """The spec's first example and the quickest model; the user is make run's key's."""
    assert page.input_value("#model") == "flux-schnell"
    assert page.input_value("#userId") == "user123"


def test_an_image_generated_through_the_form_renders(page):
    page.select_option("#model", "flux-schnell")
    page.fill("#userId", "browser-user")
    page.fill("#p-prompt", "A lighthouse at dusk, seen from the browser test")
    page.fill("#p-width", "512")
    page.fill("#p-height", "512")
    page.click("#submit")

    page.wait_for_function(IMAGE_RENDERED, timeout=60_000)
    assert page.text_content("#job-status") == "completed"
    page.wait_for_function(
        "() => { const t = document.querySelector('#result-thumbnail');"
        " return t !== null && t.complete && t.naturalWidth > 0; }", timeout=30_000)
    job_id = page.text_content("#job code")
    assert page.locator(f"#jobs button[data-open='{job_id}']").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-image.png"), full_page=True)
    assert page.csp_violations == []


def test_an_out_of_range_width_shows_the_apis_message(page, api):
    page.select_option("#model", "flux-schnell")
    page.fill("#p-prompt", "too wide")
    page.fill("#p-width", "99999")
    page.click("#submit")

    page.wait_for_selector("#form-error:not([hidden])")
    shown = page.text_content("#form-error")
    expected = api.submit({"userId": "user123", "mediaType": "image",
                           "modelId": "flux-schnell",
                           "parameters": {"prompt": "too wide", "width": 99999}}).json()
    assert expected["code"] == "OUT_OF_RANGE"
    assert expected["details"] in shown and expected["code"] in shown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-error.png"), full_page=True)
    assert page.csp_violations == []


def test_a_running_job_can_be_cancelled_from_the_page(page, sim):
    sim.faults(latency_s=60)  # long enough to be cancelled while it runs
    page.select_option("#model", "flux-schnell")
    page.fill("#userId", "browser-cancel-user")
    page.fill("#p-prompt", "A job the browser test cancels")
    page.click("#submit")
    page.wait_for_selector("#job button[data-cancel]")
    job_id = page.text_content("#job code")

    page.click("#job button[data-cancel]")
    page.wait_for_function(
        "() => document.querySelector('#job-status')?.textContent === 'cancelled'",
        timeout=30_000)
    assert "cancelled by the client" in page.text_content("#job")
    # The list comes from GET /jobs now that the API has it.
    page.wait_for_selector(f"#jobs button[data-open='{job_id}']")
    assert page.text_content("#jobs-source") == "(from the API)"
    assert page.csp_violations == []


@pytest.mark.parametrize("model_id,ready", [
    # the sample image is prefilled; the video's first frame has decoded
    ("stability-video", "m => m.tagName === 'VIDEO' && m.readyState >= 2 && m.videoWidth > 0"),
    ("musicgen", "m => m.tagName === 'AUDIO' && m.readyState >= 1 && m.duration > 0"),
])
def test_a_video_and_a_sound_play_in_the_page(page, model_id, ready):
    page.select_option("#model", model_id)
    if page.locator("#p-prompt").count():
        page.fill("#p-prompt", "Epic orchestral music with drums")
    else:
        assert page.input_value("#p-image").endswith("/samples/input.jpg")
    page.click("#submit")
    page.wait_for_function(
        f"() => {{ const m = document.querySelector('#result-media'); return m !== null && ({ready})(m); }}",
        timeout=60_000)
    assert page.text_content("#job-status") == "completed"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"playground-{model_id}.png"), full_page=True)
    assert page.csp_violations == []
