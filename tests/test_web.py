"""The web workbench through its HTTP interface (FastAPI's test client): every route, and each
safety case (token, forgery, path traversal, oversize uploads, bad YAML, errors as pages)."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from greenabs.cli import app as cli_app
from greenabs.errors import SpecError
from greenabs.store import RunStore
from greenabs.web import create_app
from greenabs.web.deals import examples
from greenabs.web.security import MAX_BODY, check_bind
from tests.conftest import EXAMPLES

CONTRACT = EXAMPLES / "green_loans_2026_1.yaml"
TOKEN = "a-long-enough-test-token-0123456789"
BASE = "http://127.0.0.1"


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore.open(tmp_path / "runs.duckdb")


@pytest.fixture
def client(store: RunStore) -> TestClient:
    return TestClient(create_app(store=store), base_url=BASE, raise_server_exceptions=False)


def csrf(client: TestClient, path: str = "/") -> str:
    """The form token of the client's session, read from a page's hidden field."""
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def open_example(client: TestClient, file: str = CONTRACT.name) -> str:
    """Open a packaged example; returns the deal's address."""
    r = client.post(f"/examples/{file}", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def upload(client: TestClient, name: str, text: str, tape: tuple[str, bytes] | None = None) -> Any:
    files: dict[str, Any] = {"deal": (name, text.encode(), "application/x-yaml")}
    if tape is not None:
        files["tape"] = (tape[0], tape[1], "text/csv")
    return client.post("/deals", data={"csrf_token": csrf(client)}, files=files)


def act(client: TestClient, deal: str, kind: str, **fields: str) -> str:
    """Start an action; returns the job's address."""
    r = client.post(
        f"{deal}/actions/{kind}",
        data={"csrf_token": csrf(client, deal), **fields},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = str(r.headers["location"])
    assert location.startswith("/jobs/")
    return location


def finish(client: TestClient, job: str) -> dict[str, Any]:
    """Poll a job's status until it ends."""
    for _ in range(600):
        status: dict[str, Any] = client.get(f"{job}/status").json()
        if status["status"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"{job} did not finish: {status}")


def run_example(client: TestClient, kind: str = "run", **fields: str) -> str:
    """Run an action on the contract example to the end; returns the run id."""
    status = finish(client, act(client, open_example(client), kind, **fields))
    assert status["status"] == "done", status
    return str(status["run_id"])


# ---------------------------------------------------------------------------- the library


def test_library_lists_every_packaged_example(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    shipped = {p.name for p in EXAMPLES.glob("*.yaml")} - {"bank_mid_sized.yaml"}
    assert {e.file for e in examples()} == shipped
    for file in shipped:
        assert f'action="/examples/{file}"' in page.text


def test_every_example_file_is_packaged() -> None:
    """The package carries every example deal, tape and bank (users do not have the repo):
    src/greenabs/web/examples links each file of examples/, installed as package data."""
    packaged = Path(__file__).parents[1] / "src" / "greenabs" / "web" / "examples"
    for path in [*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.csv")]:
        copy = packaged / path.name
        assert copy.exists(), f"add the link: ln -s ../../../../examples/{path.name} {copy}"
        assert copy.read_bytes() == path.read_bytes()


def test_open_an_example_shows_it_valid_in_the_editor(client: TestClient) -> None:
    deal = open_example(client, "ib_green_2014.yaml")
    page = client.get(deal)
    assert page.status_code == 200
    assert 'id="validation"' in page.text
    assert "<strong>Valid</strong>" in page.text
    assert "tape: ib_green_2014_tape.csv" in page.text  # the YAML is in the textarea
    assert client.get(f"{deal}/deal.yaml").text == (EXAMPLES / "ib_green_2014.yaml").read_text()


def test_unknown_example_is_a_404_page(client: TestClient) -> None:
    token = csrf(client)
    for name in ("nope.yaml", "..%2F..%2Fpyproject.toml", "bank_mid_sized.yaml"):
        r = client.post(f"/examples/{name}", data={"csrf_token": token})
        assert r.status_code == 404, name
        assert "Not found" in r.text
        assert "pyproject" not in r.text.split("<main>")[1][:40]


def test_upload_a_deal_with_its_tape(client: TestClient) -> None:
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    tape = (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    r = upload(client, "ib.yaml", text, ("ib_green_2014_tape.csv", tape))
    assert r.status_code == 200
    assert "<strong>Valid</strong>" in r.text
    assert "+ ib_green_2014_tape.csv" in r.text


def test_upload_without_the_tape_it_names_is_a_field_error(client: TestClient) -> None:
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    r = upload(client, "ib.yaml", text)
    assert r.status_code == 200
    assert "pool.tape" in r.text
    assert "upload the loan tape with the deal" in r.text


def test_upload_needs_a_deal_file(client: TestClient) -> None:
    r = client.post("/deals", data={"csrf_token": csrf(client)})
    assert r.status_code == 400
    assert "choose a deal file" in r.text


def test_upload_not_utf8_is_refused_by_name(client: TestClient) -> None:
    files = {"deal": ("deal.yaml", b"name: \xff\xfe", "application/x-yaml")}
    r = client.post("/deals", data={"csrf_token": csrf(client)}, files=files)
    assert r.status_code == 400
    assert "not UTF-8 text" in r.text


def test_a_stored_deal_version_opens_again(client: TestClient, store: RunStore) -> None:
    run_example(client)
    (version,) = store.deals()
    page = client.get("/")
    assert f'action="/library/{version.hash}"' in page.text
    r = client.post(f"/library/{version.hash}", data={"csrf_token": csrf(client)})
    assert r.status_code == 200
    assert "<strong>Valid</strong>" in r.text
    assert client.post("/library/" + "0" * 64, data={"csrf_token": csrf(client)}).status_code == 404
    assert client.post("/library/zz", data={"csrf_token": csrf(client)}).status_code == 404


# ---------------------------------------------------------------------------- the editor


def test_bad_field_shows_its_path_next_to_its_line(client: TestClient) -> None:
    deal = open_example(client)
    text = CONTRACT.read_text().replace("balance: 12000000", "balance: -12000000")
    r = client.post(deal, data={"csrf_token": csrf(client, deal), "text": text})
    assert r.status_code == 422
    line = 1 + next(i for i, s in enumerate(text.split("\n")) if "-12000000" in s)
    # the problem is listed with its line, and shown under that line of the YAML
    assert re.search(rf'data-line="{line}".*?structure\.tranches\[1\]\.balance', r.text, re.S)
    ctx = re.search(rf'<div class="ctx" id="L{line}">(.*?)</div>\s*</div>', r.text, re.S)
    assert ctx
    assert "-12000000" in ctx.group(1)
    assert re.search(r'class="msg">.*structure\.tranches\[1\]\.balance', r.text)
    # fixed, it saves and is valid again
    r = client.post(deal, data={"csrf_token": csrf(client, deal), "text": CONTRACT.read_text()})
    assert r.status_code == 200
    assert "<strong>Valid</strong>" in r.text
    assert "Saved." in r.text


def test_bad_yaml_shows_the_line(client: TestClient) -> None:
    deal = open_example(client)
    text = "name: x\ndates: [unclosed\n"
    r = client.post(deal, data={"csrf_token": csrf(client, deal), "text": text})
    assert r.status_code == 422
    assert "not valid YAML" in r.text
    assert 'data-line="3"' in r.text


def test_yaml_is_parsed_safely(client: TestClient) -> None:
    deal = open_example(client)
    for text in (
        "!!python/object/apply:os.system ['echo hacked']\n",
        "name: x\nname: y\n",
    ):
        r = client.post(deal, data={"csrf_token": csrf(client, deal), "text": text})
        assert r.status_code == 422, text
        assert 'class="problems"' in r.text
        assert "Traceback" not in r.text


def test_tape_outside_the_upload_is_refused(client: TestClient, tmp_path: Path) -> None:
    """A deal cannot make the server read one of its files as a tape."""
    secret = tmp_path / "secret.csv"
    secret.write_text("id,type,balance\nS1,loan,1\n")
    for tape in (str(secret), "../" * 8 + str(secret).lstrip("/"), "secret.csv"):
        r = upload(client, "x.yaml", f"name: x\npool:\n  tape: {tape}\n")
        assert r.status_code == 200
        assert "pool.tape" in r.text
        assert "upload the loan tape" in r.text
        assert "S1" not in r.text


def test_tape_names_are_reduced_to_a_plain_name(client: TestClient) -> None:
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    tape = (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    r = upload(client, "ib.yaml", text, ("../../ib_green_2014_tape.csv", tape))
    assert "<strong>Valid</strong>" in r.text
    r = upload(client, "ib.yaml", text, ("tape.exe", tape))
    assert r.status_code == 400
    assert "is not a loan tape name" in r.text


# ---------------------------------------------------------------------------- actions and runs


def test_run_records_in_the_store_and_shows_tables_and_charts(
    client: TestClient, store: RunStore
) -> None:
    deal = open_example(client)
    job = act(client, deal, "run")
    page = client.get(job)
    assert page.status_code in (200, 303)
    status = finish(client, job)
    assert status["status"] == "done"
    assert status["stage"] == "done"
    run_id = status["run_id"]
    (info,) = store.list()
    assert (info.id, info.kind, info.deal) == (run_id, "run", "Example Green Loans 2026-1")
    stored = store.get(run_id)
    assert stored.meta["kind"] == "run"
    assert "deal_file" in stored.meta["inputs"]
    assert stored.meta["deal"] == "Example Green Loans 2026-1"
    assert stored.meta["deal_assumptions"]["default"] == {"cdr": 0.01}
    # the job page now sends the browser to the run
    r = client.get(job, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/runs/{run_id}"
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "<h1>Example Green Loans 2026-1: deal run" in page.text
    assert 'id="table-tranches"' in page.text
    tranches = page.text.split('id="table-tranches"')[1].split("</section>")[0]
    assert "80,000,000.00" in tranches  # class A's balance
    figures = re.findall(r'<script type="application/json" id="fig-\d+">(.*?)</script>', page.text)
    assert figures
    assert any(json.loads(f)["data"] for f in figures)
    assert '<script src="/assets/plotly.js"></script>' in page.text


def test_downloads_html_xlsx_json(client: TestClient) -> None:
    run_id = run_example(client)
    html = client.get(f"/runs/{run_id}/report.html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "attachment" in html.headers["content-disposition"]
    xlsx = client.get(f"/runs/{run_id}/report.xlsx")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert "tranches" in book.sheetnames
    data = client.get(f"/runs/{run_id}/run.json").json()
    assert data["meta"]["kind"] == "run"
    assert data["tranches"][0]["name"] == "A"
    assert client.get(f"/runs/{run_id}/report.pdf").status_code == 404


def test_path_traversal_in_downloads_is_a_404(client: TestClient) -> None:
    run_id = run_example(client)
    for path in (
        "/runs/..%2F..%2F..%2Fetc%2Fpasswd/report.html",
        "/runs/../../etc/passwd",
        f"/runs/{run_id}%2F..%2F..%2Fpyproject.toml/run.json",
        "/runs/r/report.xlsx",  # a prefix of any id: the web takes whole ids only
        f"/runs/{run_id}/report.html%2F..%2F..%2F..%2Fpyproject.toml",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        "/static/../app.py",
        "/deals/..%2Fapp.py/deal.yaml",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "[build-system]" not in r.text
        assert "root:" not in r.text


def test_pool_rate_size_and_bank_actions(client: TestClient, store: RunStore) -> None:
    deal = open_example(client)
    jobs = {
        "pool": act(client, deal, "pool"),
        "rate": act(client, deal, "rate", scenarios="40", seed="7"),
        "size": act(client, deal, "size", targets="A=AA", scenarios="40", seed="7"),
        "bank": act(client, deal, "bank", horizon_quarters="4"),
    }
    for kind, job in jobs.items():
        status = finish(client, job)
        assert status["status"] == "done", (kind, status["problems"])
        run = store.get(status["run_id"])
        assert run.kind == kind
        page = client.get(f"/runs/{run.id}")
        assert page.status_code == 200, kind
    rate = store.get(finish(client, jobs["rate"])["run_id"])
    assert rate.seed == 7
    assert rate.params["scenarios"] == 40
    assert finish(client, jobs["rate"])["total"] == 40
    assert store.get(finish(client, jobs["size"])["run_id"]).params["targets"] == {"A": "AA"}
    bank = store.get(finish(client, jobs["bank"])["run_id"])
    assert bank.payload["bank"] == "Example City Commercial Bank"
    assert len({r["quarter"] for r in bank.payload["projection"]}) >= 4


def test_bad_action_parameters_are_named(client: TestClient) -> None:
    deal = open_example(client)
    token = csrf(client, deal)
    r = client.post(f"{deal}/actions/rate", data={"csrf_token": token, "scenarios": "many"})
    assert r.status_code == 422
    assert "scenarios" in r.text
    assert "expected a whole number" in r.text
    r = client.post(f"{deal}/actions/size", data={"csrf_token": token, "targets": "A"})
    assert r.status_code == 422
    assert "expected TRANCHE=RATING" in r.text
    r = client.post(f"{deal}/actions/launch", data={"csrf_token": token})
    assert r.status_code == 404


def test_a_failing_job_shows_its_problems(client: TestClient) -> None:
    deal = open_example(client)
    job = act(client, deal, "size", targets="Z=AAA", scenarios="20")
    status = finish(client, job)
    assert status["status"] == "failed"
    assert status["run_id"] is None
    assert any("Z" in p["reason"] or "Z" in p["where"] for p in status["problems"])
    page = client.get(job)
    assert page.status_code == 200
    assert "The size failed" in page.text


def test_an_invalid_deal_does_not_start(client: TestClient) -> None:
    r = upload(client, "x.yaml", "name: only a name\n")
    deal = str(r.url).removeprefix(BASE)
    r = client.post(f"{deal}/actions/run", data={"csrf_token": csrf(client, deal)})
    assert r.status_code == 422
    assert 'class="problems"' in r.text


def test_runs_list_and_comparison(client: TestClient) -> None:
    deal = open_example(client)
    a = finish(client, act(client, deal, "run"))["run_id"]
    text = CONTRACT.read_text().replace("cdr: 0.01", "cdr: 0.05")
    client.post(deal, data={"csrf_token": csrf(client, deal), "text": text})
    b = finish(client, act(client, deal, "run"))["run_id"]
    runs = client.get("/runs")
    assert runs.status_code == 200
    assert a in runs.text
    assert b in runs.text
    assert client.get("/compare").status_code == 200
    page = client.get(f"/compare?a={a}&b={b}")
    assert page.status_code == 200
    assert "deal version" in page.text
    assert "differs" in page.text
    assert "B − A" in page.text
    assert client.get(f"/compare?a={a}&b=nope").status_code == 404


def test_unknown_deal_job_and_run_are_404_pages(client: TestClient) -> None:
    for path in (
        "/deals/d000000000000",
        "/jobs/j000000000000",
        "/jobs/j000000000000/status",
        "/runs/r0000000000000",
        "/nowhere",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "<h1>" in r.text
        assert "Traceback" not in r.text


def test_static_assets_are_served_by_the_app(client: TestClient) -> None:
    assert "Plotly.newPlot" in client.get("/static/app.js").text
    assert client.get("/static/app.css").status_code == 200
    bundle = client.get("/assets/plotly.js")
    assert bundle.status_code == 200
    assert "plotly" in bundle.text[:2000].lower()
    page = client.get("/")
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page.text)


# ---------------------------------------------------------------------------- safety


def test_pages_carry_protective_headers(client: TestClient) -> None:
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    cookie = r.headers["set-cookie"]
    assert "greenabs_session=" in cookie
    assert "SameSite=Strict" in cookie
    assert "HttpOnly" in cookie


def test_post_without_the_form_token_is_refused(client: TestClient) -> None:
    deal = open_example(client)
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": ""}):
        r = client.post(f"{deal}/actions/run", data=data)
        assert r.status_code == 403, data
        assert "security token" in r.text
    # a token from another browser's session is refused too
    other = TestClient(client.app, base_url=BASE)
    r = other.post(f"{deal}/actions/run", data={"csrf_token": csrf(client)})
    assert r.status_code == 403
    assert client.get("/jobs/j000000000000/status").status_code == 404
    r = client.post("/examples/green_loans_2026_1.yaml", data={})
    assert r.status_code == 403
    r = client.post("/deals", files={"deal": ("x.yaml", b"name: x", "application/x-yaml")})
    assert r.status_code == 403


def test_oversize_upload_is_a_413_page(client: TestClient) -> None:
    big = b"# " + b"x" * (MAX_BODY + 10)
    r = client.post(
        "/deals", data={"csrf_token": csrf(client)}, files={"deal": ("big.yaml", big, "x")}
    )
    assert r.status_code == 413
    assert "Too large" in r.text
    assert "10 MB" in r.text


def test_oversize_streamed_body_is_a_413_page(store: RunStore) -> None:
    small = TestClient(
        create_app(store=store, max_body=1000), base_url=BASE, raise_server_exceptions=False
    )
    token = csrf(small)

    def chunks() -> Any:
        yield b"csrf_token=" + token.encode() + b"&text="
        for _ in range(10):
            yield b"x" * 500

    r = small.post(
        "/deals/d000000000000",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert "Too large" in r.text


def test_other_host_names_are_refused_without_a_token(client: TestClient) -> None:
    """A page elsewhere cannot reach a loopback workbench through a name of its own (DNS
    rebinding): the Host header must name this machine."""
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        r = client.get("/", headers={"host": host})
        assert r.status_code == 400, host
        assert "Unknown host" in r.text
    for host in ("127.0.0.1:8765", "localhost", "[::1]:8765"):
        assert client.get("/", headers={"host": host}).status_code == 200, host


def test_token_is_required_when_given(store: RunStore) -> None:
    client = TestClient(create_app(store=store, token=TOKEN), raise_server_exceptions=False)
    for path in ("/", "/runs", "/static/app.js", "/assets/plotly.js", "/?token=wrong"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert "Token required" in r.text
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/", headers={"X-Greenabs-Token": TOKEN}).status_code == 200
    assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 401
    # ?token= logs in: a cookie, and the token leaves the address
    r = client.get(f"/runs?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/runs"
    assert "SameSite=Strict" in r.headers["set-cookie"]
    assert client.get("/").status_code == 200
    assert client.get("/runs").status_code == 200


def test_listening_beyond_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", TOKEN)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        with pytest.raises(SpecError, match="--host"):
            check_bind(host, None)
    with pytest.raises(SpecError, match="at least 16 characters"):
        check_bind("0.0.0.0", "short")


def test_serve_refuses_to_start_without_a_token() -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0"], env={"GREENABS_TOKEN": ""})
    assert r.exit_code != 0
    assert isinstance(r.exception, SpecError)
    assert "--token" in str(r.exception)
    r = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0"], env={"GREENABS_TOKEN": "short"})
    assert isinstance(r.exception, SpecError)
    assert "at least 16" in str(r.exception)
    assert "serve" in runner.invoke(cli_app, ["--help"]).output


def test_serve_names_a_port_in_use() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(cli_app, ["serve", "--port", str(port)])
    assert isinstance(r.exception, SpecError)
    assert str(r.exception).startswith(f"--port: cannot listen on 127.0.0.1:{port}")


def test_server_errors_are_pages_without_tracebacks(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = run_example(client)
    from greenabs import reports

    def broken(kind: str, payload: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(reports, "tables", broken)
    r = client.get(f"/runs/{run_id}")
    assert r.status_code == 500
    assert "Internal error" in r.text
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text
    r = client.post("/deals/d000000000000", data={"csrf_token": csrf(client)})
    assert r.status_code == 404
    assert client.put("/").status_code == 405
    assert "Method not allowed" in client.put("/").text


def test_bank_sections_cannot_name_files_of_the_server(client: TestClient, tmp_path: Path) -> None:
    secret = tmp_path / "loans.csv"
    secret.write_text("name,segment,balance\nSECRET,corporate,1\n")
    bank = (EXAMPLES / "bank_mid_sized.yaml").read_text()
    bank = re.sub(r"(?ms)^loans:\n.*?(?=^\w)", f"loans: {secret}\n", bank)
    deal = open_example(client)
    r = client.post(
        f"{deal}/actions/bank",
        data={"csrf_token": csrf(client, deal)},
        files={"bank": ("bank.yaml", bank.encode(), "application/x-yaml")},
        follow_redirects=False,
    )
    status = finish(client, str(r.headers["location"]))
    assert status["status"] == "failed"
    assert status["problems"][0]["where"] == "loans"
    assert "not a CSV file" in str(status)
    assert "SECRET" not in str(status)


def test_greenabs_serve_serves_the_workbench(tmp_path: Path) -> None:
    """The command itself: it listens on 127.0.0.1 at --port and serves the library."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "greenabs.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GREENABS_HOME": str(tmp_path)},
    )
    try:
        for _ in range(300):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert r.status_code == 200
        assert "Examples" in r.text
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err


def test_difference_subtracts_measures_and_keeps_keys() -> None:
    import pandas as pd

    from greenabs.web.app import difference

    a = pd.DataFrame({"period": [1, 2], "date": ["2026-05-26", "2026-06-26"], "paid": [10.0, 5.0]})
    b = pd.DataFrame({"period": [1, 2], "date": ["2026-05-26", "2026-06-26"], "paid": [12.5, 4.0]})
    d = difference(a, b)
    assert d is not None
    assert d["period"].tolist() == [1, 2]
    assert d["date"].tolist() == ["2026-05-26", "2026-06-26"]
    assert d["paid"].tolist() == [2.5, -1.0]
    assert difference(a, b.head(1)) is None
    assert difference(a, b.rename(columns={"paid": "due"})) is None


def test_the_deals_in_memory_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenabs.web import deals

    monkeypatch.setattr(deals, "MAX_DEALS", 3)
    monkeypatch.setattr(deals, "MAX_BYTES", 100)
    library = deals.DealLibrary()
    first = library.add("a.yaml", "x" * 10)
    kept = [library.add(f"{i}.yaml", "y" * 10) for i in range(3)]
    assert library.get(first.id) is None
    assert [d.id for d in library.all()] == [d.id for d in reversed(kept)]
    big = library.add("big.yaml", "z" * 95)  # past the bytes: only the newest stays
    assert [d.id for d in library.all()] == [big.id]


def test_a_busy_run_store_is_a_page_that_names_no_file(
    client: TestClient, store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenabs.store import StoreLockedError

    def held(**_: Any) -> Any:
        raise StoreLockedError("/srv/secret/greenabs.duckdb: in use by process 42")

    monkeypatch.setattr(store, "list", held)
    r = client.get("/runs")
    assert r.status_code == 503
    assert "Run store busy" in r.text
    assert "/srv/secret" not in r.text
    unknown = client.get("/runs/r" + "0" * 13)
    assert unknown.status_code == 404
    assert str(store.path) not in unknown.text


def test_difference_of_a_key_value_table() -> None:
    """A summary table mixes text, dates and numbers in one column: numbers are subtracted."""
    import pandas as pd

    from greenabs.web.app import difference

    a = pd.DataFrame(
        {"item": ["name", "closing", "loss", "call"], "value": ["D", "2026-04-15", 1.5, True]}
    )
    b = pd.DataFrame(
        {"item": ["name", "closing", "loss", "call"], "value": ["D", "2026-04-15", 4.0, False]}
    )
    d = difference(a, b)
    assert d is not None
    assert d["value"].tolist() == ["D", "2026-04-15", 2.5, False]


def test_a_job_can_be_cancelled(client: TestClient, store: RunStore) -> None:
    deal = open_example(client)
    job = act(client, deal, "rate", scenarios="100000")
    token = csrf(client, job)
    assert 'action="' + job + '/cancel"' in client.get(job).text
    for _ in range(300):  # cancel once it simulates, so the engine itself stops
        if client.get(f"{job}/status").json()["done"] > 0:
            break
        time.sleep(0.05)
    r = client.post(f"{job}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    status = finish(client, job)
    assert status["status"] == "cancelled"
    assert status["done"] < 100_000
    assert store.list() == []
    page = client.get(job)
    assert "Cancelled: nothing was recorded." in page.text
    assert client.post(f"{job}/cancel", data={}).status_code == 403
    assert client.post("/jobs/j000000000000/cancel", data={"csrf_token": token}).status_code == 404


def test_field_paths_find_their_line() -> None:
    from greenabs.web.deals import field_line, yaml_tree

    text = (
        "name: x\n"  # 1
        "pool:\n"  # 2
        "  assets:\n"  # 3
        "    - {id: L1, rate: 0.05}\n"  # 4
        "    - id: L2\n"  # 5
        "      rate: -1\n"  # 6
        "structure:\n"  # 7
        "  tranches: []\n"  # 8
    )
    tree = yaml_tree(text)
    assert field_line(tree, "pool.assets[1].rate") == 6
    assert field_line(tree, "pool.assets[0].rate") == 4
    assert field_line(tree, "pool.assets[0]") == 4
    assert field_line(tree, "pool.assets[9].rate") == 3  # the deepest part that exists
    assert field_line(tree, "structure.tranches") == 8
    assert field_line(tree, "dates.cutoff") is None  # a missing section: no line
    assert field_line(tree, "line 12, column 3") == 12
    assert field_line(tree, "") is None
    assert field_line(yaml_tree("a: [unclosed\n"), "a") is None


@given(
    st.lists(
        st.tuples(st.floats(-1e12, 1e12, allow_nan=False), st.floats(-1e12, 1e12, allow_nan=False)),
        min_size=1,
        max_size=20,
    )
)
def test_difference_adds_back_to_b(pairs: list[tuple[float, float]]) -> None:
    """Property: A + (B - A) is B for every number, and keys and text stay B's."""
    import pandas as pd

    from greenabs.web.app import difference

    n = len(pairs)
    a = pd.DataFrame({"period": range(n), "name": ["x"] * n, "v": [p[0] for p in pairs]})
    b = pd.DataFrame({"period": range(n), "name": ["y"] * n, "v": [p[1] for p in pairs]})
    d = difference(a, b)
    assert d is not None
    assert d["period"].tolist() == list(range(n))
    assert d["name"].tolist() == ["y"] * n
    for x, y, dv in zip(a["v"], b["v"], d["v"], strict=True):
        assert x + dv == pytest.approx(y, rel=1e-12, abs=1e-3)


def test_runs_the_command_line_recorded_show_in_the_workbench() -> None:
    """The workbench and the command line share the run store ($GREENABS_HOME)."""
    runner = CliRunner()
    r = runner.invoke(cli_app, ["run", str(CONTRACT), "-q"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["pool", str(CONTRACT), "-q"])
    assert r.exit_code == 0, r.output
    client = TestClient(create_app(), base_url=BASE, raise_server_exceptions=False)
    runs = RunStore.open().list()
    assert [x.kind for x in runs] == ["pool", "run"]
    listing = client.get("/runs").text
    for x in runs:
        assert x.id in listing
        page = client.get(f"/runs/{x.id}")
        assert page.status_code == 200
        assert "Example Green Loans 2026-1" in page.text
    assert client.get(f"/compare?a={runs[1].id}&b={runs[0].id}").status_code == 200


@pytest.mark.parametrize("where", ["absolute", "parent", "subfolder"])
def test_a_stored_deal_writes_its_tape_only_in_its_own_folder(
    client: TestClient,
    store: RunStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """A deal the command line ran names its tape as its file did (an absolute path,
    ``../x.csv``, ``tapes/x.csv``): viewing or running it in the workbench reads the stored
    tape from the deal's private folder and never writes the user's file or outside it."""
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    real = tmp_path / "user" / "tape.csv"
    real.parent.mkdir()
    real.write_text("edited by the user since\n")
    name = {"absolute": str(real), "parent": "../tape.csv", "subfolder": "tapes/tape.csv"}[where]
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    text = text.replace("tape: ib_green_2014_tape.csv", f"tape: {name}")
    assert name in text
    tape = (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    store.record("pool", {"meta": {}}, deal_text=text, tape=tape, tape_name=name, deal_name="IB")
    (version,) = store.deals()
    r = client.post(f"/library/{version.hash}", data={"csrf_token": csrf(client)})
    assert r.status_code == 200, r.text[-2000:]
    assert "<strong>Valid</strong>" in r.text
    deal = r.url.path
    assert client.get(deal).status_code == 200
    status = finish(client, act(client, deal, "pool"))
    assert status["status"] == "done", status
    if where == "absolute":  # the bank command reads the deal from a file of its own
        status = finish(client, act(client, deal, "bank"))
        assert status["status"] == "done", status
    assert real.read_text() == "edited by the user since\n"
    assert list(temp.iterdir()) == []  # nothing written beside the private folders


def test_the_command_line_stores_the_tape_by_its_file_name(tmp_path: Path) -> None:
    """A run of a deal whose tape is in a subfolder opens in the workbench, valid."""
    (tmp_path / "tapes").mkdir()
    tape = tmp_path / "tapes" / "loans.csv"
    tape.write_bytes((EXAMPLES / "ib_green_2014_tape.csv").read_bytes())
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    deal = tmp_path / "deal.yaml"
    deal.write_text(text.replace("tape: ib_green_2014_tape.csv", "tape: tapes/loans.csv"))
    r = CliRunner().invoke(cli_app, ["pool", str(deal), "-q"])
    assert r.exit_code == 0, r.output
    store = RunStore.open()
    (version,) = store.deals()
    assert store.deal_tape(version.hash) == ("loans.csv", tape.read_bytes())
    client = TestClient(create_app(), base_url=BASE, raise_server_exceptions=False)
    r = client.post(f"/library/{version.hash}", data={"csrf_token": csrf(client)})
    assert "<strong>Valid</strong>" in r.text


def test_many_problems_are_found_in_one_parse_and_listed_up_to_a_cap(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 bad assets: the YAML is composed once for all their lines (it was once per
    problem, minutes of work), and the page lists 200 and counts the rest."""
    import yaml

    from greenabs.web import deals

    composed = []
    compose = yaml.compose

    def counted(*args: Any, **kwargs: Any) -> Any:
        composed.append(1)
        return compose(*args, **kwargs)

    monkeypatch.setattr(deals.yaml, "compose", counted)
    assets = "".join(
        f"    - {{id: L{i}, type: loan, balance: 1000, rate: -1, original_term: 60}}\n"
        for i in range(300)
    )
    text = re.sub(r"(?ms)^  assets:\n.*?(?=^\w)", "  assets:\n" + assets, CONTRACT.read_text())
    deal = open_example(client)
    r = client.post(deal, data={"csrf_token": csrf(client, deal), "text": text})
    assert r.status_code == 422
    assert len(composed) == 1
    listed = re.search(r'<ul class="problems" id="problems">(.*?)</ul>', r.text, re.S)
    assert listed
    assert listed.group(1).count("<li") == deals.MAX_PROBLEMS + 1
    heading = re.search(r"<h2>([\d,]+) problems</h2>", r.text)
    assert heading
    total = int(heading.group(1).replace(",", ""))
    assert total >= 300  # one per asset, and what follows from them
    assert f"and {total - deals.MAX_PROBLEMS:,} more problems" in listed.group(1)
    assert 'data-line="12"' in listed.group(1)  # pool.assets[0].rate: each on its own line
    assert 'data-line="211"' in listed.group(1)  # pool.assets[199].rate


def bank_command(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """The bank action runs ``python -c code`` instead of ``greenabs bank``."""
    import sys

    from greenabs.web import jobs

    monkeypatch.setattr(jobs, "BANK_COMMAND", (sys.executable, "-c", code))


def test_the_bank_command_is_stopped_by_cancel_and_by_its_time_limit(
    client: TestClient, store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenabs.web import jobs

    bank_command(monkeypatch, "import time; time.sleep(60)")
    deal = open_example(client)
    job = act(client, deal, "bank")
    for _ in range(300):
        if client.get(f"{job}/status").json()["stage"].startswith("running the deal"):
            break
        time.sleep(0.05)
    started = time.monotonic()
    client.post(f"{job}/cancel", data={"csrf_token": csrf(client, job)})
    assert finish(client, job)["status"] == "cancelled"
    assert time.monotonic() - started < 10
    monkeypatch.setattr(jobs, "BANK_SECONDS", 0.5)
    status = finish(client, act(client, deal, "bank"))
    assert status["status"] == "failed"
    assert "ran past 0.5 seconds and was stopped" in status["problems"][0]["reason"]
    assert store.list() == []


def test_the_bank_command_shows_its_own_errors_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    deal = open_example(client)
    bank_command(monkeypatch, "raise RuntimeError('secret internals /srv/x')")
    status = finish(client, act(client, deal, "bank"))
    assert status["status"] == "failed"
    assert "secret internals" not in str(status)
    assert "Traceback" not in str(status)
    assert "greenabs bank stopped (status 1); the server's log has the details" in str(status)
    bank_command(monkeypatch, "import sys; sys.stderr.write('error: bank.yaml: capital: low'); 1/0")
    status = finish(client, act(client, deal, "bank"))
    assert "capital" not in str(status)  # a message, then a crash: not the command's own
    bank_command(
        monkeypatch,
        "import sys; sys.stderr.write('error: ' + sys.argv[1] + ': capital: low\\n'); sys.exit(1)",
    )
    status = finish(client, act(client, deal, "bank"))
    assert status["problems"] == [{"where": "", "reason": "bank_mid_sized.yaml: capital: low"}]


def test_stopping_the_server_cancels_its_jobs(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank_command(monkeypatch, "import time; time.sleep(60)")
    with TestClient(create_app(store=store), base_url=BASE) as client:
        deal = open_example(client)
        running = act(client, deal, "bank")
        queued = act(client, deal, "run")
        for _ in range(300):
            if client.get(f"{running}/status").json()["stage"].startswith("running the deal"):
                break
            time.sleep(0.05)
    started = time.monotonic()
    assert finish(client, queued)["status"] == "cancelled"
    assert finish(client, running)["status"] == "cancelled"  # the command was killed
    assert time.monotonic() - started < 10
    assert store.list() == []


def test_a_failed_record_names_no_file_of_the_server(
    client: TestClient, store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenabs.store import StoreLockedError

    def held(*_: Any, **__: Any) -> Any:
        raise StoreLockedError("/srv/secret/greenabs.duckdb: in use by process 42")

    monkeypatch.setattr(store, "record", held)
    client = TestClient(create_app(store=store), base_url=BASE, raise_server_exceptions=False)
    job = act(client, open_example(client), "pool")
    status = finish(client, job)
    assert status["status"] == "failed"
    assert "Run store busy" in str(status)
    assert "/srv/secret" not in str(status)
    assert "process 42" not in str(status)
    assert "/srv/secret" not in client.get(job).text


def test_the_deals_own_scenarios_are_capped_too(client: TestClient) -> None:
    text = CONTRACT.read_text() + "simulation:\n  scenarios: 5000000\n"
    r = upload(client, "big.yaml", text)
    assert "<strong>Valid</strong>" in r.text
    status = finish(client, act(client, r.url.path, "rate"))
    assert status["status"] == "failed"
    assert status["problems"][0]["where"] == "simulation.scenarios"
    assert "at most 100,000" in status["problems"][0]["reason"]
    assert status["done"] == 0


def test_error_pages_show_their_status(client: TestClient) -> None:
    r = client.get("/deals/d000000000000")
    assert r.status_code == 404
    assert '<span class="status">404</span> Not found' in r.text
    assert "<title>404 Not found" in r.text


def test_token_login_stays_on_the_workbench(store: RunStore) -> None:
    """``//evil.example/x?token=`` must not redirect to another site after logging in."""
    client = TestClient(create_app(store=store, token=TOKEN), raise_server_exceptions=False)
    for path in ("//evil.example/x", "///evil.example/x", "/\\evil.example/x"):
        r = client.get(f"{BASE}{path}?token={TOKEN}&a=1", follow_redirects=False)
        assert r.status_code == 303, path
        location = r.headers["location"]
        assert location.startswith("/"), path
        assert location[1] not in "/\\", path  # a browser reads /\ as //
        assert location.endswith("evil.example/x?a=1"), path


def test_websockets_are_refused(store: RunStore) -> None:
    """The guard refuses what is not an HTTP request (no token check would apply to it)."""
    from starlette.websockets import WebSocketDisconnect

    client = TestClient(create_app(store=store, token=TOKEN), base_url=BASE)
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/"):
        pass
    assert refused.value.code == 1008


def test_difference_of_ints_and_floats_is_not_cast() -> None:
    """B - A takes the type of the result, not B's column: 3 - 1.5 is 1.5, NaN stays NaN."""
    import math

    import pandas as pd

    from greenabs.web.app import difference

    a = pd.DataFrame({"v": [1.5, float("nan"), 2.0]})
    b = pd.DataFrame({"v": [3, 4, 5]})
    d = difference(a, b)
    assert d is not None
    assert d["v"].tolist()[0] == 1.5
    assert math.isnan(d["v"].tolist()[1])
    assert d["v"].tolist()[2] == 3.0
    empty = difference(a.head(0), b.head(0))
    assert empty is not None
    assert empty.empty


def test_uploaded_files_are_closed(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload's spooled temporary files are closed when the request ends."""
    from starlette.datastructures import UploadFile

    closed: list[str | None] = []
    close = UploadFile.close

    async def counted(self: UploadFile) -> None:
        closed.append(self.filename)
        await close(self)

    monkeypatch.setattr(UploadFile, "close", counted)
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    tape = (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    r = upload(client, "ib.yaml", text, ("ib_green_2014_tape.csv", tape))
    assert sorted(c or "" for c in closed) == ["ib.yaml", "ib_green_2014_tape.csv"]
    bank = (EXAMPLES / "bank_mid_sized.yaml").read_bytes()
    client.post(
        f"{r.url.path}/actions/bank",
        data={"csrf_token": csrf(client, r.url.path), "horizon_quarters": "x"},
        files={"bank": ("bank.yaml", bank, "application/x-yaml")},
    )
    assert closed[-1] == "bank.yaml"


def test_progress_stops_polling_a_job_the_server_forgot(client: TestClient) -> None:
    script = client.get("/static/app.js").text
    gone = script.index("r.status === 404")
    assert "return null" in script[gone : gone + 400]
    assert "if (job === null) return;" in script


@pytest.mark.parametrize("section", ["loans", "hqla", "deposits", "wholesale"])
def test_every_csv_section_of_a_bank_is_refused(client: TestClient, section: str) -> None:
    """The workbench refuses the sections the bank loader reads from CSV files
    (greenabs.bank.io.CSV_SECTIONS), not a list of its own."""
    from greenabs.bank.io import CSV_SECTIONS

    assert section in CSV_SECTIONS
    bank = (EXAMPLES / "bank_mid_sized.yaml").read_text()
    bank = re.sub(rf"(?ms)^{section}:\n.*?(?=^\w)", f"{section}: /srv/{section}.csv\n", bank)
    assert f"{section}: /srv/" in bank
    deal = open_example(client)
    r = client.post(
        f"{deal}/actions/bank",
        data={"csrf_token": csrf(client, deal)},
        files={"bank": ("bank.yaml", bank.encode(), "application/x-yaml")},
        follow_redirects=False,
    )
    status = finish(client, str(r.headers["location"]))
    assert status["problems"] == [
        {
            "where": section,
            "reason": "the workbench takes the rows written in the bank file, not a CSV file",
        }
    ]


def test_the_bank_command_keeps_a_tape_named_like_its_own_files(client: TestClient) -> None:
    """The bank action's own files in the deal's folder cannot take a tape's name."""
    text = (EXAMPLES / "ib_green_2014.yaml").read_text()
    text = text.replace("tape: ib_green_2014_tape.csv", "tape: stderr.txt")
    tape = (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    r = upload(client, "ib.yaml", text, ("stderr.txt", tape))
    assert "<strong>Valid</strong>" in r.text
    status = finish(client, act(client, r.url.path, "bank"))
    assert status["status"] == "done", status
