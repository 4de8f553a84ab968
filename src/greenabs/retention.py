"""The originator's risk retention: what it holds of each tranche, and whether that complies.

Rule (PBoC & CBRC Announcement [2013] No. 21): the originator keeps at least 5% of the credit
risk and of the total issue; holding the lowest tranche, at least 5% of it; holding tranches
other than the lowest, the same share of every tranche.  A horizontal slice is taken from the
bottom of the capital structure up.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenabs.spec.deal import DealSpec

__all__ = ["RetentionReport", "retention_report"]


@dataclass(frozen=True)
class RetentionReport:
    """Retained amounts per tranche and the compliance verdict with its reasons."""

    form: str
    holder: str
    retained: dict[str, float]
    total_retained: float
    share_of_issue: float
    minimum: float
    compliant: bool
    reasons: tuple[str, ...]

    def share_of(self, tranche: str, balance: float) -> float:
        """Fraction of a tranche the holder keeps."""
        return self.retained.get(tranche, 0.0) / balance if balance > 0 else 0.0


def retention_report(deal: DealSpec) -> RetentionReport | None:
    """Retention of the deal, or None when the deal file declares none."""
    ret = deal.structure.retention
    if ret is None:
        return None
    tranches = deal.structure.tranches
    total = sum(t.balance for t in tranches)
    vertical = ret.share if ret.form == "vertical" else (ret.vertical_share or 0.0)
    horizontal = ret.share if ret.form == "horizontal" else (ret.horizontal_share or 0.0)
    retained = {t.name: (vertical or 0.0) * t.balance for t in tranches}
    slice_left = (horizontal or 0.0) * total
    for t in reversed(tranches):
        room = t.balance - retained[t.name]
        take = min(room, slice_left)
        retained[t.name] += take
        slice_left -= take
    held = sum(retained.values())
    share = held / total
    reasons: list[str] = []
    if share < ret.minimum - 1e-12:
        reasons.append(f"retains {share:.2%} of the issue, below the minimum {ret.minimum:.2%}")
    lowest = tranches[-1]
    if (
        ret.form in ("horizontal", "l_shaped")
        and retained[lowest.name] < ret.minimum * lowest.balance - 1e-6
    ):
        reasons.append(
            f"holds {retained[lowest.name] / lowest.balance:.2%} of the lowest tranche "
            f"{lowest.name!r}, below {ret.minimum:.2%}"
        )
    return RetentionReport(
        form=ret.form,
        holder=ret.holder,
        retained=retained,
        total_retained=held,
        share_of_issue=share,
        minimum=ret.minimum,
        compliant=not reasons,
        reasons=tuple(reasons),
    )
