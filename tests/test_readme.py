"""Every ``greenabs`` command and every Python block in README.md runs as written, in a copy of
the examples: placeholders stand for shipped files (``DEAL``, ``BANK``, ``my_data.csv``) or for
runs stored first (``RUN_ID``), the Monte Carlo commands get a small ``--scenarios`` (the last
one given wins) and only commands that never end by themselves are skipped, with a reason."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import greenabs
from greenabs.cli import app
from tests.conftest import EXAMPLES, ROOT

README = ROOT / "README.md"
DATA = Path(greenabs.__file__).parent / "data"

#: What each README placeholder stands for (paths relative to the copy the commands run in).
PLACEHOLDERS = {
    "DEAL": "examples/ib_green_2014.yaml",
    "BANK": "examples/bank_mid_sized.yaml",
    "my_data.csv": str(DATA / "china_systemic_indicators.csv"),
}
#: Appended to commands that simulate, so the README's runs take seconds (the flag may repeat:
#: the last value wins).
FAST = {"rate": ["--scenarios", "200"], "size": ["--scenarios", "200"]}
#: Commands that do not end by themselves, and why they are not run here.
SKIP = {"serve": "starts a web server that runs until it is stopped"}


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def readme_commands() -> list[str]:
    """Each ``greenabs ...`` command of the README's shell blocks, continuation lines joined
    and trailing comments dropped."""
    commands = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("greenabs "):
                commands.append(line)
    return commands


#: A stored run's id in a command (``greenabs report RUN_ID``, ``runs diff RUN_A RUN_B``).
RUN = re.compile(r"RUN(?:_?ID)?(?:_?[A-Z0-9])?")


def _argv(command: str) -> list[str]:
    args = [PLACEHOLDERS.get(a, a) for a in shlex.split(command)[1:]]
    runs = [a for a in args if RUN.fullmatch(a)]
    if runs:  # stand for runs stored first, each its own
        ids = _stored_runs(len(runs))
        args = [ids[runs.index(a)] if a in runs else a for a in args]
    unknown = [a for a in args if re.fullmatch(r"[A-Z][A-Z_]+", a)]
    assert not unknown, f"{command}: placeholder {unknown} unknown here; add it to PLACEHOLDERS"
    return args + FAST.get(args[0], [])


def _stored_runs(n: int) -> list[str]:
    """The ids of ``n`` runs of the first example, stored now (each test has a store of its
    own), read back as ``runs list --json`` gives them."""
    for k in range(n):
        res = CliRunner().invoke(app, ["run", PLACEHOLDERS["DEAL"], "-q", "--cdr", f"0.0{k}"])
        assert res.exit_code == 0, (res.output, res.exception)
    res = CliRunner().invoke(app, ["runs", "list", "--json", "runs.json"])
    assert res.exit_code == 0, (res.output, res.exception)
    return [r["id"] for r in json.loads(Path("runs.json").read_text())["runs"]][:n]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of the examples, where the README's relative paths resolve and
    its output files land."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(EXAMPLES, root / "examples")
    return root


def test_the_readme_has_commands_and_python() -> None:
    commands = readme_commands()
    assert len(commands) >= 15
    assert any("--price-at-dm" in c for c in commands)
    assert _blocks("python")


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    args = _argv(command)
    if args[0] in SKIP:
        pytest.skip(SKIP[args[0]])
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, (command, res.output, res.exception)


def test_readme_python_runs(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in _blocks("python"):  # in order: later blocks use what earlier ones made
        exec(compile(block, str(README), "exec"), namespace)
    assert "result" in namespace
