"""The playground in a real browser: Debian's Chromium, headless, driven by
Playwright (its own browser download is not used: tools/install_browser.sh
installs Chromium, and `make test` runs it when the browser is missing)."""
import os
import time
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
    # The list is fetched again when the status changes: its answer may come a moment later.
    page.wait_for_selector(f"#jobs button[data-open='{job_id}']", timeout=10_000)
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


# ---- a file of this computer as the input image, and the job's progress ------------------------

VIDEO_READY = ("() => { const m = document.querySelector('#result-media');"
               " return m !== null && m.tagName === 'VIDEO' && m.readyState >= 2 && m.videoWidth > 0; }")


def picture(path: Path, fmt: str = "PNG") -> Path:
    from PIL import Image
    Image.new("RGB", (320, 180), (40, 160, 90)).save(path, fmt)
    return path


def test_a_file_picked_from_disk_becomes_a_video_with_a_progress_bar(page, sim, tmp_path):
    sim.faults(latency_s=6)   # long enough to watch the bar move
    uploads = []
    page.on("request", lambda r: r.method in ("POST", "PUT") and "/uploads" in r.url
            and uploads.append((r.method, r.url.split("?")[0])))
    page.select_option("#model", "stability-video")
    page.set_input_files("#p-image-file", str(picture(tmp_path / "cat.png")))
    assert page.input_value("#p-image") == ""          # the file, not the sample URL
    assert "cat.png" in page.text_content("#p-image-chosen")
    page.wait_for_function("() => document.querySelector('#p-image-preview')?.naturalWidth > 0")
    page.click("#submit")

    shown = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = page.evaluate("""() => ({status: document.querySelector('#job-status')?.textContent,
            value: document.querySelector('#job-progress')?.getAttribute('value'),
            stage: document.querySelector('#job-stage')?.textContent})""")
        shown.append(state)
        if state["status"] == "completed":
            break
        time.sleep(0.2)
    page.wait_for_function(VIDEO_READY, timeout=30_000)
    values = [int(s["value"]) for s in shown if s["value"] is not None]
    assert values == sorted(values) and len(set(values)) >= 2, shown
    assert any((s["stage"] or "").startswith("generating") for s in shown), shown
    # POST /uploads to the API, then the PUT straight into the bucket
    assert [m for m, _ in uploads] == ["POST", "PUT"] and "/uploads/upl_" in uploads[1][1]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-upload.png"), full_page=True)
    assert page.csp_violations == []


def test_a_file_dropped_on_the_page_is_used(page, tmp_path):
    data = picture(tmp_path / "dropped.jpg", "JPEG").read_bytes()
    page.select_option("#model", "stability-video")
    transfer = page.evaluate_handle("""bytes => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'}));
        return dt; }""", list(data))
    page.dispatch_event("#p-image-drop", "drop", {"dataTransfer": transfer})
    assert "dropped.jpg" in page.text_content("#p-image-chosen")
    page.click("#submit")
    page.wait_for_function(VIDEO_READY, timeout=60_000)
    assert page.text_content("#job-status") == "completed"
    assert page.csp_violations == []


def test_a_file_that_is_not_an_image_shows_the_apis_error(page, tmp_path):
    (tmp_path / "notes.png").write_text("these are notes, not a picture")
    page.select_option("#model", "stability-video")
    page.set_input_files("#p-image-file", str(tmp_path / "notes.png"))
    page.click("#submit")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "UNSUPPORTED_UPLOAD" in page.text_content("#form-error")
