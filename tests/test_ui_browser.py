"""The app in a real browser: `streamlit run` on a free loopback port, driven by Debian's Chromium.

Types a question, checks the answer against ``TableQA.ask``, opens the pictures and the SQL, runs a batch,
and saves full-page screenshots to tests/artifacts/ (git-ignored) for people to look at.
Skips when /usr/bin/chromium is absent (`apt-get install -y chromium`); never downloads a browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ui_fixtures import APP_FILE, ARTIFACTS, ROOT, SAMPLES, choose_model

from nprog.qa import TableQA
from nprog.tables import Table

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "which nation won the most gold medals?"
WAIT_MS = 90_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> Path:
    return choose_model(fallback=tiny_model_dir)


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, NPROG_MODEL=str(model))
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.goto(server)
        yield page
        browser.close()


def screenshot(page, name: str) -> Path:
    """A full-page screenshot: Streamlit scrolls inside its main section, so grow the window to fit it."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(1500)  # charts re-lay out to the new size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    return path


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_ask_pictures_sql_and_batch_in_a_browser(page, model):
    expected = TableQA.load(model, device="cpu").ask(Table.from_csv(SAMPLES / "medals.csv"), QUESTION)

    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")
    shown = page.locator(".np-answer")
    shown.wait_for()
    text = shown.inner_text().strip()
    assert text == " · ".join(expected.answer) if expected.answer else "no answer" in text
    assert page.locator(".np-steps li").count() == len(expected.program.steps)
    assert_no_exception(page)
    assert screenshot(page, "ui-ask.png").stat().st_size > 10_000

    page.get_by_role("tab", name="How it decided").click()
    charts = page.locator('[data-testid="stVegaLiteChart"]:visible')
    charts.nth(3).wait_for()
    assert charts.count() == 4  # operations, columns, rows, question words
    page.locator('[data-testid="stVegaLiteChart"]:visible .marks').nth(3).wait_for()  # drawn by vega
    screenshot(page, "ui-pictures.png")

    page.get_by_role("tab", name="SQL").click()
    page.get_by_role("button", name="Run it here").click()
    page.get_by_text("DuckDB returned").or_(page.get_by_text("nprog.sql")).first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ui-sql.png")

    page.get_by_role("tab", name="Batch").click()
    examples = json.loads((SAMPLES / "questions.json").read_text(encoding="utf-8"))["medals.csv"]
    page.get_by_role("button", name=f"Use the {len(examples)} example questions").click()
    page.get_by_role("button", name="Answer all").click()
    page.get_by_text("Could not be asked").wait_for()
    assert_no_exception(page)
    screenshot(page, "ui-batch.png")

    page.get_by_role("tab", name="About the model").click()
    page.get_by_text("Operations", exact=True).wait_for()
    screenshot(page, "ui-about.png")
