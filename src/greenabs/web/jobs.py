"""The workbench's actions (run, pool, rate, size, bank) as background jobs with progress.

A job runs in a worker thread (one at a time: the machine's cores go to the numbers), reports
its stage and, for the Monte Carlo, the scenarios done; the page polls ``/jobs/{id}/status``.
A finished job's payload (what the command's ``--json`` writes, with ``meta``) is recorded in
the run store exactly as the command line records it, and the job points at the stored run.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from greenabs.errors import ARGUMENT, GreenabsError, Problem, SpecError
from greenabs.store import StoreError, StoreLockedError
from greenabs.web.deals import Deal, load, write_deal

__all__ = ["JOB_ID", "KINDS", "Job", "JobRunner", "Params", "parse_params", "store_trouble"]

log = logging.getLogger("greenabs.web")

#: The actions the workbench offers, in the order of its buttons.
KINDS = ("run", "pool", "rate", "size", "bank")
#: What a job id looks like.
JOB_ID = re.compile(r"^j[0-9a-f]{12}$")
#: Jobs remembered in memory (their runs stay in the store).
MAX_JOBS = 500
#: Most Monte Carlo scenarios one web action may ask for (in its form or the deal's
#: ``simulation.scenarios``).
MAX_SCENARIOS = 100_000
#: The bank action's command, and the seconds it may run before it is stopped.
BANK_COMMAND = (sys.executable, "-m", "greenabs.cli", "bank")
BANK_SECONDS = 900.0


def store_trouble(exc: StoreError) -> tuple[bool, str, str]:
    """What a page says of a run store error: whether the store is busy, a title and a detail.
    The error's own message names the server's files and processes: it goes to the log."""
    log.warning("run store: %s", exc)
    if isinstance(exc, StoreLockedError):
        detail = "Another process is writing to the run store; try again in a moment."
        return True, "Run store busy", detail
    detail = "The run store cannot be read; the server's log says why."
    return False, "Run store unavailable", detail


@dataclass(frozen=True)
class Params:
    """An action's checked parameters (from the deal's page form)."""

    scenarios: int | None = None
    seed: int | None = None
    targets: Mapping[str, str] = field(default_factory=dict)
    horizon_quarters: int = 0
    bank_name: str = ""
    bank_text: str = ""

    def assumptions(self, kind: str) -> dict[str, Any]:
        """The flags in force, as the run's ``meta`` and the store record them."""
        out: dict[str, Any] = {}
        if kind in ("rate", "size"):
            out.update({"scenarios": self.scenarios, "seed": self.seed})
        if kind == "size":
            out["targets"] = dict(self.targets)
        if kind == "bank":
            out.update({"bank": self.bank_name, "horizon_quarters": self.horizon_quarters})
        return {k: v for k, v in out.items() if v is not None}


def _int(form: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        why = f"expected a whole number, got {text[:40]!r}"
        raise SpecError(ARGUMENT, Problem(name, why)) from None
    if not low <= value <= high:
        raise SpecError(ARGUMENT, Problem(name, f"expected {low:,} to {high:,}, got {value:,}"))
    return value


def _targets(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in re.split(r"[,;\s]+", text.strip()):
        if not item:
            continue
        name, sep, rating = item.partition("=")
        if not sep or not name or not rating:
            why = f"expected TRANCHE=RATING, e.g. A=AAA, got {item[:40]!r}"
            raise SpecError(ARGUMENT, Problem("targets", why))
        if name in out:
            raise SpecError(ARGUMENT, Problem("targets", f"tranche {name[:40]!r} given twice"))
        out[name] = rating
    if not out:
        raise SpecError(ARGUMENT, Problem("targets", "give at least one, e.g. A=AAA"))
    return out


def parse_params(kind: str, form: Mapping[str, str], bank: tuple[str, str]) -> Params:
    """An action's parameters from its form; a bad one is a SpecError naming the field.

    ``bank`` is the bank file (name, text) for the bank action."""
    if kind not in KINDS:
        raise SpecError(ARGUMENT, Problem("action", f"unknown action {kind[:20]!r}"))
    if kind in ("rate", "size"):
        scenarios = _int(form, "scenarios", 1, MAX_SCENARIOS)
        seed = _int(form, "seed", 0, 2**63 - 1)
        targets = _targets(form.get("targets", "")) if kind == "size" else {}
        return Params(scenarios=scenarios, seed=seed, targets=targets)
    if kind == "bank":
        horizon = _int(form, "horizon_quarters", 0, 200) or 0
        return Params(horizon_quarters=horizon, bank_name=bank[0], bank_text=bank[1])
    return Params()


@dataclass
class Job:
    """A job's state, read by the status endpoint (mutated only by its worker)."""

    id: str
    kind: str
    deal_id: str
    deal_name: str
    status: str = "queued"  # queued | running | done | failed | cancelled
    stage: str = "waiting for the previous job"
    done: int = 0
    total: int = 0
    run_id: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0
    seconds: float = 0.0
    cancelled: bool = False

    def view(self) -> dict[str, Any]:
        """The job as JSON for the status endpoint."""
        return asdict(self)

    def step(self, stage: str) -> None:
        """Enter the next stage, or stop here if the job was cancelled."""
        if self.cancelled:
            raise _Cancelled
        self.stage = stage


class _Cancelled(Exception):
    """Raised in a job's worker when its user cancelled it."""


Record = Callable[..., str]
"""``store.record``'s signature: (kind, payload, *, deal_text, tape, deal_name, params, seed,
backend, timings) -> run id."""


class JobRunner:
    """Runs jobs one at a time in a worker thread and records their runs with ``record``."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="greenabs-job")

    def submit(self, kind: str, deal: Deal, params: Params) -> Job:
        job = Job("j" + secrets.token_hex(6), kind, deal.id, deal.name)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        self._pool.submit(self._work, job, deal, params)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id) if JOB_ID.match(job_id) else None

    def cancel(self, job_id: str) -> Job | None:
        """Ask a queued or running job to stop (at its next stage or block of scenarios)."""
        job = self.get(job_id)
        if job is not None and job.status in ("queued", "running"):
            job.cancelled = True
        return job

    def shutdown(self) -> None:
        """Stop: queued jobs are cancelled, a running one stops at its next stage, block of
        scenarios or, in the bank command, within a moment (the command is killed)."""
        with self._lock:
            for job in self._jobs.values():
                if job.status in ("queued", "running"):
                    job.cancelled = True
                if job.status == "queued":
                    job.status, job.stage = "cancelled", "cancelled"
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _work(self, job: Job, deal: Deal, params: Params) -> None:
        if job.status == "cancelled":  # while it waited, the server stopped
            return
        job.status, job.started = "running", time.monotonic()
        try:
            job.step("validating the deal")
            spec = load(deal)
            payload, seed, backend = _compute(job, spec, deal, params)
            job.step("recording the run")
            job.run_id = self._record(
                job.kind,
                payload,
                deal_text=deal.text,
                tape=deal.tape,
                tape_name=deal.tape_name,
                deal_name=spec.name,
                params=params.assumptions(job.kind),
                seed=seed,
                backend=backend,
                timings={"seconds": time.monotonic() - job.started},
            )
            job.status, job.stage = "done", "done"
        except _Cancelled:
            job.status, job.stage = "cancelled", "cancelled"
        except StoreError as exc:
            _, title, detail = store_trouble(exc)
            job.problems = [{"where": "", "reason": f"{title}: {detail}"}]
            job.status, job.stage = "failed", "failed"
        except GreenabsError as exc:
            problems = exc.problems if isinstance(exc, SpecError) else [Problem("", str(exc))]
            job.problems = [{"where": p.where, "reason": p.reason} for p in problems]
            job.status, job.stage = "failed", "failed"
        except Exception as exc:  # a bug: the page says so; the details go to the server log
            traceback.print_exc()
            why = f"internal error ({type(exc).__name__}); the server log has the details"
            job.problems = [{"where": "", "reason": why}]
            job.status, job.stage = "failed", "failed"
        finally:
            job.seconds = time.monotonic() - job.started


def _progress(job: Job) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        job.done, job.total = done, total
        if job.cancelled:
            raise _Cancelled

    return update


def _compute(job: Job, spec: Any, deal: Deal, params: Params) -> tuple[dict[str, Any], Any, Any]:
    """The payload of ``job.kind`` for a validated deal, its seed and backend."""
    from greenabs.meta import run_meta

    inputs: dict[str, bytes] = {"deal_file": deal.text.encode("utf-8")}
    if deal.tape is not None:
        inputs["tape"] = deal.tape
    seed: int | None = None
    backend: str | None = None
    if job.kind == "run":
        from greenabs.engine import run
        from greenabs.pool_analytics import analyse_pool

        job.step("projecting the pool and running the waterfall")
        result = run(spec)
        backend = result.backend
        payload = result.to_dict()
        job.step("measuring the pool")
        payload["pool_analytics"] = analyse_pool(result.deal).to_dict()
    elif job.kind == "pool":
        from greenabs.pool_analytics import analyse_pool

        job.step("screening, stratifying and measuring the pool")
        payload = analyse_pool(spec).to_dict()
    elif job.kind in ("rate", "size"):
        payload, seed, backend = _simulate(job, spec, params)
    else:
        payload = _bank(job, deal, params)
        inputs["bank_file"] = params.bank_text.encode("utf-8")
    meta = run_meta(
        job.kind,
        inputs=inputs,
        assumptions=params.assumptions(job.kind),
        seed=seed,
        backend=backend,
    )
    # as the command line stamps it: the deal as run and its assumptions
    meta["deal"] = spec.name
    meta["deal_assumptions"] = spec.assumptions.model_dump(mode="json", exclude_defaults=True)
    payload["meta"] = {**payload.get("meta", {}), **meta}
    return payload, seed, backend


def _simulate(job: Job, spec: Any, params: Params) -> tuple[dict[str, Any], int, str]:
    from greenabs.montecarlo import monte_carlo, settings
    from greenabs.rating import load_rating_table

    table = load_rating_table(None)
    if job.kind == "size":
        from greenabs.montecarlo.sizing import check_targets

        check_targets(spec, dict(params.targets), table)
    sim = settings(spec, scenarios=params.scenarios, seed=params.seed)
    if sim.scenarios > MAX_SCENARIOS:  # the deal's own simulation.scenarios
        why = (
            f"{sim.scenarios:,} scenarios: the workbench runs at most {MAX_SCENARIOS:,}; give "
            "fewer in the form (or run `greenabs rate` on the command line)"
        )
        raise SpecError(spec.name, Problem("simulation.scenarios", why))
    job.step("simulating scenarios")
    job.total = sim.scenarios
    mc = monte_carlo(spec, sim, progress=_progress(job), keep_flows=job.kind == "size", table=table)
    if job.kind == "rate":
        return mc.to_dict(table), sim.seed, mc.backend
    from greenabs.montecarlo.sizing import size_tranches

    job.step("sizing the tranches")
    sized = size_tranches(mc, dict(params.targets), table=table)
    return sized.to_dict(), sim.seed, mc.backend


def _bank(job: Job, deal: Deal, params: Params) -> dict[str, Any]:
    """What ``greenabs bank BANK --deal DEAL [--horizon-quarters N] --json`` writes: the
    command itself runs, in a private temporary folder, on the deal, its tape and the bank."""
    from greenabs.bank.io import CSV_SECTIONS
    from greenabs.spec.io import read_yaml

    job.step("reading the bank")
    with tempfile.TemporaryDirectory(prefix="greenabs-web-") as tmp:
        folder = Path(tmp)
        bank, out = folder / "bank.yaml", folder / "bank.json"
        bank.write_text(params.bank_text, encoding="utf-8")
        try:
            data = read_yaml(bank)
        except SpecError as exc:
            raise SpecError(params.bank_name, exc.problems) from None
        for name in CSV_SECTIONS if isinstance(data, dict) else ():
            if isinstance(data.get(name), str):  # a CSV file of the server: never read
                why = "the workbench takes the rows written in the bank file, not a CSV file"
                raise SpecError(params.bank_name, Problem(name, why))
        deal_file = write_deal(deal, folder)
        command = [*BANK_COMMAND, str(bank), "--deal", str(deal_file), "--json", str(out)]
        command.append("--no-store")
        if params.horizon_quarters:
            command += ["--horizon-quarters", str(params.horizon_quarters)]
        job.step("running the deal and measuring the bank before and after it")
        code, stderr = _run_command(job, command, folder)
        if code != 0:
            text = stderr.replace(str(bank), params.bank_name)
            text = text.replace(str(deal_file), deal.name).replace(str(folder) + "/", "")
            lines = [line for line in text.splitlines() if line.strip()]
            if code == 1 and _own_message(lines):
                problems = [Problem("", line.removeprefix("error:").strip()) for line in lines]
            else:  # a crash (a traceback), a signal: the server's log has it
                log.warning("greenabs bank stopped (status %s):\n%s", code, stderr)
                why = f"greenabs bank stopped (status {code}); the server's log has the details"
                problems = [Problem("", why)]
            raise SpecError(ARGUMENT, problems)
        payload: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return payload


def _own_message(lines: list[str]) -> bool:
    """Whether stderr's lines are the command's own ``error: ...`` message (its problems
    indented below it), not a traceback."""
    return bool(lines) and all(
        line.startswith("error:") or (i > 0 and line[:1].isspace()) for i, line in enumerate(lines)
    )


def _run_command(job: Job, command: list[str], folder: Path) -> tuple[int, str]:
    """Run a command in ``folder``; its exit status and what it wrote on stderr (kept in a file
    whose name no tape can have).  It is killed when the job is cancelled or after
    :data:`BANK_SECONDS`."""
    deadline = time.monotonic() + BANK_SECONDS
    with (folder / "command.stderr").open("w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=folder)
        try:
            while True:
                try:
                    code = proc.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    if job.cancelled:
                        raise _Cancelled from None
                    if time.monotonic() > deadline:
                        why = f"greenabs bank ran past {BANK_SECONDS:g} seconds and was stopped"
                        raise SpecError(ARGUMENT, Problem("", why)) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        return code, err.read()
