"""The web workbench end to end in a real browser: Playwright drives Debian's chromium against
a uvicorn server on a free port.  Open the library, upload an example with a mistake, see the
problem next to its line, fix it, run the deal, see the tranche table and a chart that plotly
drew, download the Excel report.  scripts/test installs chromium with apt where it is missing."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from greenabs.store import RunStore
from greenabs.web import create_app
from tests.conftest import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
#: CI sets it: there the browser test must run, a missing chromium is a failure, not a skip
REQUIRED = os.environ.get("GREENABS_REQUIRE_BROWSER") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason="needs Debian's chromium at /usr/bin/chromium (scripts/test installs it: "
        "apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, RunStore]]:
    """The workbench served by uvicorn in a thread; yields its address and run store."""
    import uvicorn

    store = RunStore.open(tmp_path / "runs.duckdb")
    port = _free_port()
    config = uvicorn.Config(
        create_app(store=store), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(accept_downloads=True)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield tab
        context.close()
        browser.close()
        assert not errors, errors  # no script failed, nothing refused by the CSP


def test_upload_fix_run_and_download_in_a_browser(
    server: tuple[str, RunStore], page: Any, tmp_path: Path
) -> None:
    base, store = server
    # the library, with the examples one click away
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Deals"
    assert page.locator("button[data-example='green_loans_2026_1.yaml']").count() == 1
    # upload the example with a mistake: class B's balance negative
    text = (EXAMPLES / "green_loans_2026_1.yaml").read_text()
    broken = tmp_path / "green_loans_2026_1.yaml"
    broken.write_text(text.replace("balance: 12000000", "balance: -12000000"))
    page.set_input_files("input[name=deal]", str(broken))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#validation")
    problems = page.locator("#problems li")
    assert problems.count() == 1
    assert "structure.tranches[1].balance" in problems.first.inner_text()
    line = 1 + text.split("\n").index(next(s for s in text.split("\n") if "balance: 12000000" in s))
    # shown next to its line of YAML, and a click selects that line in the editor
    bad = page.locator(f"#L{line} .ln.bad")
    assert "-12000000" in bad.inner_text()
    assert "structure.tranches[1].balance" in page.locator(f"#L{line} .msg").inner_text()
    problems.first.click()
    selected = page.evaluate(
        "() => { const t = document.getElementById('text');"
        " return t.value.substring(t.selectionStart, t.selectionEnd); }"
    )
    assert "-12000000" in selected
    # fix it in the editor and save
    page.fill("#text", text)
    page.click("#edit button[type=submit]")
    page.wait_for_selector("#validation.valid")
    assert "Valid" in page.locator("#validation").inner_text()
    # run it: the progress page sends the browser to the result
    page.click("form[action$='/actions/run'] button")
    page.wait_for_url("**/runs/r*", timeout=60_000)
    (run,) = store.list()
    assert page.url.endswith(f"/runs/{run.id}")
    tranches = page.locator("#table-tranches table")
    assert tranches.count() == 1
    first_row = tranches.locator("tbody tr").first.inner_text()
    assert first_row.split("\t")[0].strip() == "A"
    assert "80,000,000.00" in first_row
    # a chart that plotly drew, with data
    page.wait_for_selector(".plot .main-svg")
    traces = page.evaluate(
        "() => Array.from(document.querySelectorAll('.plot')).map(d => (d.data || []).length)"
    )
    assert traces
    assert max(traces) > 0
    # download the Excel report
    with page.expect_download() as info:
        page.click("#xlsx")
    saved = tmp_path / "report.xlsx"
    info.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert "tranches" in book.sheetnames
    sheet = book["tranches"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header
    numbers = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    assert any(isinstance(v, int | float) and v == 80_000_000 for v in numbers)


def test_progress_stops_polling_a_job_the_server_forgot(server: tuple[str, RunStore]) -> None:
    """A job page whose job the server no longer knows (it restarted: 404) says so and stops
    asking, where it once asked again every 2 seconds for ever."""
    from playwright.sync_api import Route, sync_playwright

    base, _ = server
    asked: list[str] = []

    def gone(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=404, content_type="application/json", body='{"detail": "gone"}')

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        tab = browser.new_page()
        tab.goto(base + "/")
        tab.click("button[data-example='green_loans_2026_1.yaml']")
        tab.wait_for_selector("#validation.valid")
        tab.route("**/jobs/*/status", gone)
        tab.fill("form[action$='/actions/rate'] input[name=scenarios]", "100000")
        tab.click("form[action$='/actions/rate'] button")
        tab.wait_for_url("**/jobs/j*")
        tab.wait_for_function(
            "() => document.getElementById('stage').textContent.includes('no longer known')"
        )
        tab.wait_for_timeout(4500)  # it asked again after 2 s before
        assert len(asked) == 1, asked
        assert tab.locator("#cancel").is_hidden()
        browser.close()
