"""A real headless Chromium, as a front end uses the emulator: a page on another origin runs the
upload flows through CORS, and the journal viewer shows what happens."""

from __future__ import annotations

import re
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from docs_blocks import of_kind
from support import FULL, make_app

from upload_emulator.app import emulator_of
from upload_emulator.serving.server import LiveServer

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (bin/setup test installs them when run as root; "
    "or apt-get install chromium chromium-driver)",
)


class PageServer:
    """Serves one HTML page at http://localhost:<port>/page.html: another origin than the emulator's."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/page.html"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def run_page(browser, html: str, timeout: float = 20) -> str:
    """Open the page on its own origin and return #result once the script has written it."""
    page = PageServer(html)
    try:
        browser.get(page.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = browser.find_element("id", "result").text
            if text and text != "running…":
                return text
            time.sleep(0.05)
        raise AssertionError("the page never finished")
    finally:
        page.close()


def readme_page() -> str:
    """The page docs/browser.md shows (its `<!-- run: browser -->` block)."""
    [block] = of_kind("browser")
    return block.text


def page_with(script: str) -> str:
    return (
        f'<!doctype html><meta charset="utf-8"><pre id="result">running…</pre><script type="module">{script}</script>'
    )


def test_the_readme_page_mints_puts_a_blob_and_redeems_from_another_origin(browser, live):
    result = run_page(browser, readme_page().replace("http://127.0.0.1:8080", live.url))
    assert re.fullmatch(r'PUT 200 ETag "[0-9a-f]{32}" job QUEUED', result), result
    emu = emulator_of(live.app)
    [record] = emu.uploads.all("scripe")
    assert record.state == "redeemed" and record.size == len(b"hello from a browser")
    # The mint, the PUT (not a simple method) and the redemption each needed a preflight.
    assert [e["status"] for e in emu.journal.entries(operationId="preflight")] == [204, 204, 204]


def test_the_streamloop_flow_runs_from_a_page_on_another_origin(browser, live):
    script = f"""
const base = "{live.url}/streamloop/v1";
const auth = {{ "X-API-Key": "sl_test_studio_api_key", "X-Workspace-Id": "wksp_studio" }};
try {{
  const json = {{ ...auth, "Content-Type": "application/json" }};
  const record = JSON.stringify({{ mimeType: "video/mp4", name: "clip.mp4", type: "video" }});
  const made = await fetch(`${{base}}/uploads`, {{ method: "POST", headers: json, body: record }});
  const upload = await made.json();
  const post = (path) => fetch(`${{base}}/uploads/${{upload.id}}/${{path}}`, {{ method: "POST", headers: auth }});
  const url = await post("upload-url").then((r) => r.json());
  const put = await fetch(url, {{ method: "PUT", body: new Blob(["frames"], {{ type: "video/mp4" }}) }});
  const done = await post("complete").then((r) => r.json());
  const limit = made.headers.get("RateLimit-Limit");
  document.getElementById("result").textContent =
    `created ${{made.status}} limit ${{limit}} put ${{put.status}} uploaded ${{done.uploaded}} size ${{done.fileSize}}`;
}} catch (error) {{ document.getElementById("result").textContent = `failed: ${{error}}`; }}
"""
    assert run_page(browser, page_with(script)) == "created 201 limit 600 put 200 uploaded true size 6"


def test_a_string_body_fails_with_an_s3_error_that_shows_the_signed_content_type(browser, live):
    minted = requests.post(
        f"{live.url}/scripe/v1/uploads",
        json={"contentType": "text/plain"},
        headers={"Authorization": f"Bearer {FULL}"},
        timeout=10,
    ).json()["data"]
    script = f"""
const put = await fetch({minted["uploadUrl"]!r}, {{ method: "PUT", body: "a string, not a Blob" }});
document.getElementById("result").textContent = `${{put.status}} ${{await put.text()}}`;
"""
    result = run_page(browser, page_with(script))
    assert result.startswith("403 ") and "<Code>SignatureDoesNotMatch</Code>" in result
    assert "content-type:text/plain;charset=utf-8" in result.lower()  # what the browser sent, in CanonicalRequest
    assert emulator_of(live.app).uploads.all("scripe")[0].state == "pending"


def test_an_origin_that_is_not_allowed_is_refused_by_the_browser(browser):
    app = make_app(cors_origins=("https://app.example.test",))
    with LiveServer(app) as server:
        script = f"""
try {{
  await fetch("{server.url}/scripe/v1/uploads", {{ method: "POST",
    headers: {{ Authorization: "Bearer {FULL}", "Content-Type": "application/json" }}, body: "{{}}" }});
  document.getElementById("result").textContent = "allowed";
}} catch (error) {{ document.getElementById("result").textContent = `blocked: ${{error.name}}`; }}
"""
        assert run_page(browser, page_with(script)) == "blocked: TypeError"
        emu = emulator_of(app)
        assert [e["status"] for e in emu.journal.entries(operationId="preflight")] == [403]
        assert emu.uploads.all() == []
    emu.close()


def test_the_viewer_shows_a_request_made_during_the_test_and_an_uploads_state_change(browser, live):
    from selenium.webdriver.common.by import By

    browser.get(f"{live.url}/_emulator/ui")
    minted = requests.post(
        f"{live.url}/scripe/v1/uploads",
        json={"contentType": "text/plain"},
        headers={"Authorization": f"Bearer {FULL}"},
        timeout=10,
    )
    request_id, upload_id = minted.headers["X-Request-Id"], minted.json()["data"]["id"]

    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def wait_for(find, timeout=10.0):
        """Poll `find`; the page redraws its tables every second, so an element may be missing or go stale."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = find()
            except (NoSuchElementException, StaleElementReferenceException):  # not drawn yet, or redrawn
                found = None
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError("the viewer never showed it")

    row_text = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"]').text)
    assert "createUpload" in row_text and "200" in row_text
    state = lambda: browser.find_element(By.CSS_SELECTOR, f'tr[data-upload-id="{upload_id}"] td.state').text  # noqa: E731
    assert wait_for(lambda: state() == "pending")
    requests.put(minted.json()["data"]["uploadUrl"], data=b"viewer", headers={"Content-Type": "text/plain"}, timeout=10)
    assert wait_for(lambda: state() == "uploaded")

    def click_row():
        browser.find_element(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"]').click()
        return True

    wait_for(click_row)
    details = wait_for(
        lambda: (
            browser.find_element(By.ID, "details").text
            if request_id in browser.find_element(By.ID, "details").text
            else ""
        )
    )
    assert "requestHeaders" in details and FULL not in details
