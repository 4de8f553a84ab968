"""The workbench's pages: the deal library, the editor, actions with progress, results,
comparisons and downloads (see docs/web.md).

Pages are rendered on the server (Jinja2, autoescaped); the browser runs two scripts, both
served by the app: ``app.js`` (progress polling, charts, jumping to a problem's line) and the
plotly.js bundle the HTML reports embed (``greenabs/data``).  Everything a request names is an
id checked against a pattern and looked up (a deal, a job, a run, an example's file name from
the packaged list), never a path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import numbers
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Collection
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException

from greenabs.errors import ARGUMENT, GreenabsError, Problem, SpecError
from greenabs.store import RunStore, StoredRun, StoreError, UnknownRunError
from greenabs.web import deals as dl
from greenabs.web.jobs import KINDS, JobRunner, parse_params, store_trouble
from greenabs.web.security import CSRF_FIELD, LOOPBACK_NAMES, MAX_BODY, Guard, verify_csrf

__all__ = ["create_app"]

log = logging.getLogger("greenabs.web")

_HERE = resources.files("greenabs.web")
#: Run ids as the store makes them ("r" and 13 base-32 digits); deal versions as SHA-256.
RUN_ID = re.compile(r"^r[0-9a-z]{13}$")
DEAL_HASH = re.compile(r"^[0-9a-f]{64}$")
#: Rows of a table shown on a page (the downloads hold all of them).
MAX_ROWS = 400
_CSRF = [Depends(verify_csrf)]


def table_view(df: pd.DataFrame) -> dict[str, Any]:
    """A report table as the template shows it: title, column names, rows of text (each cell
    the way its kind reads, :mod:`greenabs.reports.formats`), and the rows left out."""
    from greenabs.reports.formats import cells, column_kinds, show

    kinds = column_kinds(df, guess=True)
    rows = [[show(v, k) for v, k in row] for row in cells(df.head(MAX_ROWS), kinds)]
    return {
        "title": df.attrs.get("title"),
        "columns": [str(c) for c in df.columns],
        "numeric": [k not in ("text", "date") for k in kinds],
        "rows": rows,
        "more": max(0, len(df) - MAX_ROWS),
    }


def _figure_json(fig: Any) -> str:
    """A plotly figure as the HTML report draws it (:func:`greenabs.reports.html.figure_data`),
    as JSON safe inside a ``<script type="application/json">`` block."""
    from greenabs.reports.html import figure_data

    return json.dumps(figure_data(fig), separators=(",", ":")).replace("<", "\\u003c")


#: Numeric columns that name a row (a period, a quarter) rather than measure it: kept as in B.
_KEYS = frozenset({"period", "quarter", "month", "year", "scenario", "bin", "row"})


def _number(v: Any) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_)


def difference(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame | None:
    """Run B minus run A, cell by cell, where two tables have the same rows and columns: a
    number in both is B - A; text, dates and key columns such as ``period`` are kept from B
    (a key-value table's ``value`` column mixes them).  ``None`` where the tables do not line
    up."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return None
    out = b.copy()
    if b.empty:
        return out
    for c in b.columns:
        if str(c).lower() in _KEYS:
            continue
        cells = [
            y - x if _number(x) and _number(y) else y
            for x, y in zip(a[c].tolist(), b[c].tolist(), strict=True)
        ]
        out[c] = pd.Series(cells, index=b.index)  # B - A may not be B's type: 2 - 0.5, NaN
    return out


def create_app(
    *,
    store: RunStore | None = None,
    token: str | None = None,
    max_body: int = MAX_BODY,
    hosts: Collection[str] | None = LOOPBACK_NAMES,
) -> FastAPI:
    """The workbench as an ASGI app.

    Parameters
    ----------
    store
        The run store results go to (default: ``RunStore.open()``, as the command line).
    token
        The access token every request must carry (required when listening beyond this
        machine; see :func:`greenabs.web.security.check_bind`).
    max_body
        The largest request body, in bytes.
    hosts
        The names a request's ``Host`` header may give when there is no token (default: this
        machine's loopback names); ``None`` takes any.  With a token, any host is taken.
    """
    runs_store = store if store is not None else RunStore.open()
    library = dl.DealLibrary()
    jobs = JobRunner(runs_store.record)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals["CSRF_FIELD"] = CSRF_FIELD

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(
        title="greenabs workbench",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("csrf", getattr(request.state, "csrf", ""))
        context.setdefault("status", status)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def refuse(status: int, title: str, detail: str) -> tuple[bytes, str]:
        html = templates.get_template("error.html").render(
            status=status, title=title, detail=detail, problems=[], csrf=""
        )
        return html.encode("utf-8"), "text/html; charset=utf-8"

    app.add_middleware(
        Guard,
        token=token,
        hosts=frozenset(hosts) if hosts is not None and token is None else None,
        secret=secrets.token_bytes(32),
        max_body=max_body,
        refuse=refuse,
    )

    # ------------------------------------------------------------------ errors as pages

    titles = {
        400: "Bad request",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Too large",
    }

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        title = titles.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address."
        return page(request, "error.html", exc.status_code, title=title, detail=detail, problems=[])

    @app.exception_handler(RequestValidationError)
    async def form_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            Problem(".".join(str(p) for p in e["loc"][1:]), str(e["msg"])) for e in exc.errors()
        ]
        return page(
            request,
            "error.html",
            400,
            title="Bad request",
            detail="The form is incomplete.",
            problems=problems,
        )

    @app.exception_handler(GreenabsError)
    async def greenabs_error(request: Request, exc: GreenabsError) -> Response:
        if isinstance(exc, StoreError):  # its message names the server's files: the log has it
            busy, title, detail = store_trouble(exc)
            status = 503 if busy else 500
            return page(request, "error.html", status, title=title, detail=detail, problems=[])
        problems = exc.problems if isinstance(exc, SpecError) else [Problem("", str(exc))]
        return page(
            request, "error.html", 400, title="Cannot do that", detail="", problems=problems
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return page(
            request,
            "error.html",
            500,
            title="Internal error",
            detail="Something went wrong on the server; its log has the details.",
            problems=[],
        )

    # ------------------------------------------------------------------ lookups

    def the_deal(deal_id: str) -> dl.Deal:
        deal = library.get(deal_id)
        if deal is None:
            raise HTTPException(404, "No such deal in this workbench (it may have been closed).")
        return deal

    def the_run(run_id: str) -> StoredRun:
        if not RUN_ID.match(run_id):
            raise HTTPException(404, "No such run.")
        try:
            return runs_store.get(run_id)
        except UnknownRunError:
            raise HTTPException(404, "No such run.") from None

    def editor(
        request: Request,
        deal: dl.Deal,
        problems: list[dl.FieldProblem],
        status: int = 200,
        **extra: Any,
    ) -> HTMLResponse:
        return page(
            request,
            "editor.html",
            status,
            deal=deal,
            problems=problems,
            lines=deal.text.split("\n"),
            bank=dl.example_bank()[0],
            **extra,
        )

    def validate(deal: dl.Deal) -> tuple[Any, list[dl.FieldProblem]]:
        try:
            return dl.load(deal), []
        except SpecError as exc:
            return None, dl.problems_of(deal, exc)

    # ------------------------------------------------------------------ the library

    @app.get("/", response_class=HTMLResponse)
    def library_page(request: Request) -> HTMLResponse:
        return page(
            request,
            "library.html",
            examples=dl.examples(),
            deals=library.all(),
            stored=runs_store.deals()[:50],
            runs=runs_store.list(limit=10),
        )

    @app.post("/deals", dependencies=_CSRF)
    async def upload(request: Request) -> Response:
        form = await request.form()
        try:
            return await _upload(form)
        finally:
            await form.close()

    async def _upload(form: FormData) -> Response:
        file, tape = form.get("deal"), form.get("tape")
        if not isinstance(file, StarletteUpload) or not file.filename:
            raise SpecError(ARGUMENT, Problem("deal", "choose a deal file (YAML) to upload"))
        name = Path(file.filename.replace("\\", "/")).name[:100] or "deal.yaml"
        raw = await file.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SpecError(name, Problem("", "not UTF-8 text")) from None
        tape_name, tape_bytes = None, None
        if isinstance(tape, StarletteUpload) and tape.filename:
            tape_name = dl.check_tape_name(tape.filename)
            tape_bytes = await tape.read()
        deal = library.add(name, text, tape_name, tape_bytes)
        return RedirectResponse(f"/deals/{deal.id}", status_code=303)

    @app.post("/examples/{file}", dependencies=_CSRF)
    def open_example(file: str) -> Response:
        try:
            deal = library.add_example(file)
        except KeyError:
            raise HTTPException(404, "No such example.") from None
        return RedirectResponse(f"/deals/{deal.id}", status_code=303)

    @app.post("/library/{deal_hash}", dependencies=_CSRF)
    def open_stored(deal_hash: str) -> Response:
        if not DEAL_HASH.match(deal_hash):
            raise HTTPException(404, "No such deal version.")
        info = next((d for d in runs_store.deals() if d.hash == deal_hash), None)
        if info is None:
            raise HTTPException(404, "No such deal version.")
        tape_name, tape = runs_store.deal_tape(deal_hash)
        name = info.name or "deal.yaml"
        deal = library.add(name, runs_store.deal_text(deal_hash), tape_name, tape)
        return RedirectResponse(f"/deals/{deal.id}", status_code=303)

    # ------------------------------------------------------------------ the editor

    @app.get("/deals/{deal_id}", response_class=HTMLResponse)
    def deal_page(request: Request, deal_id: str) -> HTMLResponse:
        deal = the_deal(deal_id)
        spec, problems = validate(deal)
        return editor(request, deal, problems, spec=spec)

    @app.post("/deals/{deal_id}", dependencies=_CSRF)
    async def save(request: Request, deal_id: str) -> Response:
        the_deal(deal_id)
        form = await request.form()
        text = form.get("text")
        if not isinstance(text, str):
            raise SpecError(ARGUMENT, Problem("text", "the deal's YAML is missing"))
        deal = library.update(deal_id, text.replace("\r\n", "\n"))
        assert deal is not None
        problems = (await run_in_threadpool(validate, deal))[1]
        if problems:
            return editor(request, deal, problems, 422, spec=None)
        return RedirectResponse(f"/deals/{deal.id}?saved=1", status_code=303)

    @app.get("/deals/{deal_id}/deal.yaml")
    def deal_text(deal_id: str) -> Response:
        deal = the_deal(deal_id)
        return Response(
            deal.text,
            media_type="application/x-yaml; charset=utf-8",
            headers={"content-disposition": _attachment(deal.name, ".yaml")},
        )

    @app.post("/deals/{deal_id}/actions/{kind}", dependencies=_CSRF)
    async def act(request: Request, deal_id: str, kind: str) -> Response:
        deal = the_deal(deal_id)
        if kind not in KINDS:
            raise HTTPException(404, "No such action.")
        form = await request.form()
        try:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            bank = dl.example_bank()
            upload_bank = form.get("bank")
            if kind == "bank" and isinstance(upload_bank, StarletteUpload) and upload_bank.filename:
                raw = await upload_bank.read()
                try:
                    name = Path(upload_bank.filename.replace("\\", "/")).name[:100]
                    bank = (name, raw.decode("utf-8-sig"))
                except UnicodeDecodeError:
                    why = "the bank file is not UTF-8 text"
                    raise SpecError("bank", Problem("", why)) from None
        finally:
            await form.close()
        try:
            params = parse_params(kind, fields, bank)
        except SpecError as exc:
            problems = [dl.FieldProblem(p.where, p.reason, None) for p in exc.problems]
            return editor(request, deal, problems, 422, spec=None)
        problems = (await run_in_threadpool(validate, deal))[1]
        if problems:
            return editor(request, deal, problems, 422, spec=None)
        job = jobs.submit(kind, deal, params)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    # ------------------------------------------------------------------ jobs

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> Response:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "No such job (the server may have restarted).")
        if job.status == "done" and job.run_id:
            return RedirectResponse(f"/runs/{job.run_id}", status_code=303)
        return page(request, "job.html", job=job)

    @app.post("/jobs/{job_id}/cancel", dependencies=_CSRF)
    def cancel_job(job_id: str) -> Response:
        if jobs.cancel(job_id) is None:
            raise HTTPException(404, "No such job.")
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.get("/jobs/{job_id}/status")
    def job_status(job_id: str) -> JSONResponse:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "No such job.")
        return JSONResponse(job.view())

    # ------------------------------------------------------------------ runs

    @app.get("/runs", response_class=HTMLResponse)
    def runs_page(request: Request) -> HTMLResponse:
        return page(request, "runs.html", runs=runs_store.list(limit=500))

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        from greenabs import reports

        run = the_run(run_id)
        tables = {k: table_view(v) for k, v in reports.tables(run.kind, run.payload).items()}
        figures = {k: _figure_json(f) for k, f in reports.figures(run.kind, run.payload).items()}
        return page(
            request,
            "run.html",
            run=run,
            heading=reports.title(run.kind, run.payload),
            tables=tables,
            figures=figures,
            meta=json.dumps(run.meta, indent=1, default=str),
            others=[r for r in runs_store.list(limit=200) if r.id != run.id],
        )

    @app.get("/runs/{run_id}/report.{ext}")
    def report_file(run_id: str, ext: str) -> Response:
        from greenabs import reports

        run = the_run(run_id)
        writers = {"html": reports.write_html, "xlsx": reports.write_xlsx}
        if ext not in writers:
            raise HTTPException(404, "Reports are .html or .xlsx.")
        media = {
            "html": "text/html; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }[ext]
        with tempfile.TemporaryDirectory(prefix="greenabs-web-") as tmp:
            path = writers[ext](run.kind, run.payload, Path(tmp) / f"{run.id}.{ext}")
            body = Path(path).read_bytes()
        return Response(
            body,
            media_type=media,
            headers={"content-disposition": f'attachment; filename="{run.id}-{run.kind}.{ext}"'},
        )

    @app.get("/runs/{run_id}/run.json")
    def run_json(run_id: str) -> Response:
        run = the_run(run_id)
        return Response(
            json.dumps(run.payload, indent=1),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="{run.id}-{run.kind}.json"'},
        )

    @app.get("/compare", response_class=HTMLResponse)
    def compare(request: Request, a: str = "", b: str = "") -> HTMLResponse:
        from greenabs import reports

        if not a or not b:
            return page(request, "compare.html", runs=runs_store.list(limit=500), pair=None)
        ra, rb = the_run(a), the_run(b)
        ta, tb = reports.tables(ra.kind, ra.payload), reports.tables(rb.kind, rb.payload)
        rows = []
        for name in [n for n in tb if n in ta]:
            diff = difference(ta[name], tb[name])
            rows.append(
                {
                    "name": name,
                    "a": table_view(ta[name]),
                    "b": table_view(tb[name]),
                    "diff": None if diff is None else table_view(diff),
                }
            )
        keys = sorted(set(ra.params) | set(rb.params))
        params = [(k, ra.params.get(k), rb.params.get(k)) for k in keys]
        return page(
            request,
            "compare.html",
            runs=runs_store.list(limit=500),
            pair=(ra, rb),
            params=params,
            tables=rows,
            only_a=[n for n in ta if n not in tb],
            only_b=[n for n in tb if n not in ta],
        )

    # ------------------------------------------------------------------ assets

    @app.get("/assets/plotly.js")
    def plotly_js() -> Response:
        """The chart library the HTML reports embed (plotly.js's partial bundle)."""
        from greenabs.reports.html import plotly_js

        return Response(
            plotly_js(),
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "max-age=86400"},
        )

    return app


def _attachment(name: str, ext: str) -> str:
    safe = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.ASCII)[:80] or "deal"
    return f'attachment; filename="{safe}{ext}"'
