"""The one exception hierarchy of greenabs.

Every error that a user can cause (a bad deal file, tape, flag) is a :class:`SpecError` or a
:class:`DataError` and names where the problem is and why.  Engine invariants that must never
break (cash conservation above all) raise :class:`ConservationError` or :class:`EngineError`.
The command line catches :class:`GreenabsError`, prints its message and exits non-zero;
anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "ConservationError",
    "DataError",
    "EngineError",
    "GreenabsError",
    "Problem",
    "SpecError",
]

from dataclasses import dataclass

ARGUMENT = "<argument>"
"""The ``source`` of an error in a function argument or a command-line flag (the problem names
the argument); such messages carry no file name."""


class GreenabsError(Exception):
    """Base class of every error greenabs raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why it is wrong."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


class SpecError(GreenabsError):
    """An input file or argument is malformed.

    Parameters
    ----------
    source
        The file (or ``"<argument>"``) the problem was found in.
    problems
        One or more :class:`Problem` (field path or row, and the reason).
    """

    def __init__(self, source: str, problems: list[Problem] | Problem) -> None:
        self.source = source
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        # an argument of a function or a flag is named by the problem itself
        head = f"{self.source}: " if self.source and self.source != ARGUMENT else ""
        if len(self.problems) == 1:
            return head + str(self.problems[0])
        lines = [f"{head}{len(self.problems)} problems"]
        shown = self.problems[:20]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        return "\n".join(lines)


class DataError(SpecError):
    """A data file (a loan tape, an indicator table) has a bad row, column or value."""


class EngineError(GreenabsError):
    """An engine invariant failed (a state the inputs should have made impossible)."""


class ConservationError(EngineError):
    """Cash was created or lost: collections + draws != payments + retained balances."""
