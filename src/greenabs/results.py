"""The result of a run: frozen arrays, with tables as pandas DataFrames and a JSON form.

Tables show one scenario (0 by default; a deterministic run has only that one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import analytics
from greenabs.calendar import DealCalendar, months_between
from greenabs.collateral import POOL_FIELDS, PoolCashflows
from greenabs.retention import RetentionReport, retention_report
from greenabs.spec.deal import DealSpec
from greenabs.waterfall import TRANCHE_FIELDS, WaterfallResult

__all__ = ["RunResult"]


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else round(f, 6)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, date | pd.Timestamp):
        return v.isoformat()[:10]
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in df.to_dict(orient="records")]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything a run produced.  Build it with :func:`greenabs.run`."""

    deal: DealSpec
    calendar: DealCalendar
    pool: PoolCashflows
    waterfall: WaterfallResult
    backend: str

    # ------------------------------------------------------------------ pool
    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.waterfall.deal["interest_collected"].shape[0])

    def pool_cashflows(self, scenario: int = 0) -> pd.DataFrame:
        """Pool cash flows per payment period (collections paid on each date)."""
        d = self.waterfall.deal
        from greenabs.waterfall import period_flows

        pf = period_flows(self.pool, self.calendar)
        df = pd.DataFrame({c: pf[c][scenario] for c in POOL_FIELDS})
        df["begin_balance"] = d["pool_begin_balance"][scenario]
        df["end_balance"] = d["pool_end_balance"][scenario]
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    def pool_monthly(self, scenario: int = 0) -> pd.DataFrame:
        """Pool cash flows per collection month."""
        return self.pool.frame(scenario)

    def loan_level(self) -> pd.DataFrame:
        """Per-asset monthly flows (only when the run asked for loan level)."""
        return self.pool.loan_level_frame()

    # ------------------------------------------------------------------ tranches
    def tranche_cashflows(self, name: str, scenario: int = 0) -> pd.DataFrame:
        """Per-period cash flows of one tranche."""
        rec = self.waterfall.tranches[name]
        df = pd.DataFrame({f: rec[f][scenario] for f in TRANCHE_FIELDS})
        df.insert(0, "coupon", self.waterfall.coupons[name])
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    def _cash(self, name: str, scenario: int) -> npt.NDArray[np.float64]:
        r = self.waterfall.tranches[name]
        cash: npt.NDArray[np.float64] = (
            r["interest_paid"][scenario]
            + r["principal_paid"][scenario]
            + r["residual_paid"][scenario]
        )
        return cash

    def _index_path(self, name: str) -> np.ndarray | None:
        c = self.deal.tranche(name).coupon
        if c is None or c.index is None:
            return None
        path = np.atleast_1d(np.asarray(self.deal.assumptions.rates[c.index], dtype=np.float64))
        starts = [self.calendar.closing, *self.calendar.payment_dates[:-1]]
        idx = [
            min(max(months_between(self.calendar.cutoff, s) - 1, 0), len(path) - 1) for s in starts
        ]
        return path[idx]

    def price(self, name: str, yield_: float, scenario: int = 0) -> float:
        """Price per 100 of original face at a yield (compounded at the deal's frequency)."""
        t = self.deal.tranche(name)
        pv = analytics.price_from_yield(
            self.calendar.years_from_closing,
            self._cash(name, scenario),
            yield_,
            self.calendar.frequency.per_year,
        )
        return 100.0 * float(pv) / t.balance

    def yield_at(self, name: str, price: float, scenario: int = 0) -> float:
        """Yield at a price per 100 of original face."""
        t = self.deal.tranche(name)
        return float(
            analytics.yield_from_price(
                self.calendar.years_from_closing,
                self._cash(name, scenario),
                price / 100.0 * t.balance,
                self.calendar.frequency.per_year,
            )
        )

    def price_at_dm(self, name: str, dm: float, scenario: int = 0) -> float:
        """Price per 100 of a floating tranche at a discount margin over its index."""
        idx = self._index_path(name)
        if idx is None:
            raise ValueError(f"tranche {name!r} is not floating: price it at a yield")
        pv = analytics.price_from_dm(self.calendar.accrual, idx, self._cash(name, scenario), dm)
        return 100.0 * float(pv) / self.deal.tranche(name).balance

    def tranches(self, scenario: int = 0) -> pd.DataFrame:
        """One row per tranche: size, WAL, yield at its price, duration, window, losses."""
        cal = self.calendar
        freq = cal.frequency.per_year
        rows = []
        for t in self.deal.structure.tranches:
            r = self.waterfall.tranches[t.name]
            prin = r["principal_paid"][scenario]
            cash = self._cash(t.name, scenario)
            price_amt = t.price / 100.0 * t.balance
            y = analytics.yield_from_price(cal.years_from_closing, cash, price_amt, freq)
            paid_idx = np.nonzero(prin > 0.005)[0]
            cash_idx = np.nonzero(cash > 0.005)[0]
            idx = self._index_path(t.name)
            dm = (
                analytics.discount_margin(cal.accrual, idx, cash, price_amt)
                if idx is not None
                else math.nan
            )
            rows.append(
                {
                    "name": t.name,
                    "original_balance": t.balance,
                    "coupon": (
                        t.coupon.fixed
                        if t.coupon and t.coupon.fixed is not None
                        else float(self.waterfall.coupons[t.name][0])
                    ),
                    "residual": t.residual,
                    "price": t.price,
                    "wal": analytics.wal(cal.years_from_closing, prin),
                    "yield": y,
                    "modified_duration": (
                        analytics.modified_duration(cal.years_from_closing, cash, y, freq)
                        if not math.isnan(y)
                        else math.nan
                    ),
                    "discount_margin": dm,
                    "principal_window_start": cal.payment_dates[paid_idx[0]]
                    if paid_idx.size
                    else None,
                    "principal_window_end": cal.payment_dates[paid_idx[-1]]
                    if paid_idx.size
                    else None,
                    "final_payment_date": cal.payment_dates[cash_idx[-1]]
                    if cash_idx.size
                    else None,
                    "interest_paid": float(r["interest_paid"][scenario].sum()),
                    "principal_paid": float(prin.sum()),
                    "residual_paid": float(r["residual_paid"][scenario].sum()),
                    "principal_loss": float(r["writedown"][scenario].sum()),
                    "interest_shortfall": float(
                        r["interest_shortfall"][scenario][-1]
                        if r["interest_shortfall"].shape[1]
                        else 0.0
                    ),
                    "max_interest_shortfall": float(r["interest_shortfall"][scenario].max()),
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ deal
    def _long(self, key: str, records: dict[str, dict[str, Any]], scenario: int) -> pd.DataFrame:
        """Per-period records of several named items as one long table."""
        dates = list(self.calendar.payment_dates)
        frames = [
            pd.DataFrame(
                {
                    key: name,
                    "period": np.arange(1, len(dates) + 1),
                    "date": dates,
                    **{f: v[scenario] for f, v in rec.items()},
                }
            )
            for name, rec in records.items()
        ]
        if frames:
            return pd.concat(frames, ignore_index=True)
        return pd.DataFrame(columns=[key, "period", "date"])

    def fees(self, scenario: int = 0) -> pd.DataFrame:
        """Fees due, paid and unpaid per period (long form)."""
        return self._long("fee", self.waterfall.fees, scenario)

    def accounts(self, scenario: int = 0) -> pd.DataFrame:
        """Account balances and movements per period (long form)."""
        return self._long("account", self.waterfall.accounts, scenario)

    def deal_flows(self, scenario: int = 0) -> pd.DataFrame:
        """Deal-level flows per period: collections, available funds, PDA, excess spread,
        pool factor, cumulative loss, trigger states and the audit difference."""
        d = self.waterfall.deal
        df = pd.DataFrame({k: v[scenario] for k, v in d.items()})
        orig = self.pool.original_balance
        coupon_paid = sum(
            self.waterfall.tranches[t.name]["interest_paid"][scenario]
            for t in self.deal.structure.tranches
            if not t.residual
        )
        fees_paid = sum(
            (r["paid"][scenario] for r in self.waterfall.fees.values()),
            np.zeros(self.calendar.n_periods),
        )
        excess = df["interest_collected"].to_numpy() - fees_paid - coupon_paid
        base = df["pool_begin_balance"].to_numpy() * self.calendar.accrual
        df["excess_spread"] = excess
        df["excess_spread_rate"] = np.divide(
            excess, base, out=np.zeros_like(excess), where=base > 0
        )
        df["pool_factor"] = df["pool_end_balance"] / orig
        df["cumulative_loss_rate"] = df["cumulative_loss"] / orig
        for name, arr in self.waterfall.triggers.items():
            df[f"trigger_{name}"] = arr[scenario]
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    @property
    def retention(self) -> RetentionReport | None:
        """The originator's retention and whether it complies."""
        return retention_report(self.deal)

    def summary(self, scenario: int = 0) -> dict[str, Any]:
        """Deal-level figures: sizes, excess spread, losses, pool factor, call, audit."""
        flows = self.deal_flows(scenario)
        orig = self.pool.original_balance
        called = np.nonzero(self.waterfall.deal["call_proceeds"][scenario] > 0)[0]
        interest = float(flows["interest_collected"].sum())
        cash_in = float(
            (
                flows["interest_collected"]
                + flows["principal_collected"]
                + flows["recovery_collected"]
                + flows["call_proceeds"]
            ).sum()
        )
        active = flows["pool_begin_balance"] > 0
        weights = (flows["pool_begin_balance"] * self.calendar.accrual)[active]
        avg_xs = (
            float((flows["excess_spread"][active]).sum() / weights.sum()) if weights.sum() else 0.0
        )
        return {
            "name": self.deal.name,
            "currency": self.deal.currency,
            "cutoff": self.calendar.cutoff,
            "closing": self.calendar.closing,
            "pool_balance": orig,
            "notes_balance": float(sum(t.balance for t in self.deal.structure.tranches)),
            "n_assets": len(self.deal.pool.assets),
            "interest_collected": interest,
            "cash_collected": cash_in,
            "cumulative_default": float(flows["default"].sum()),
            "cumulative_loss": float(flows["cumulative_loss"].iloc[-1]),
            "cumulative_loss_rate": float(flows["cumulative_loss"].iloc[-1] / orig),
            "average_excess_spread": avg_xs,
            "final_pool_factor": float(flows["pool_factor"].iloc[-1]),
            "call_date": self.calendar.payment_dates[called[0]] if called.size else None,
            "residual_released": float(flows["residual_released"].sum()),
            "max_audit_difference": float(np.abs(self.waterfall.deal["audit_difference"]).max()),
            "n_periods": self.calendar.n_periods,
            "backend": self.backend,
            "scenarios": self.n_scenarios,
        }

    # ------------------------------------------------------------------ output
    def to_dict(self, scenario: int = 0) -> dict[str, Any]:
        """Every result as plain JSON-ready data."""
        ret = self.retention
        return {
            "deal": _clean(self.summary(scenario)),
            "pool_cashflows": _records(self.pool_cashflows(scenario)),
            "tranches": _records(self.tranches(scenario)),
            "tranche_cashflows": {
                t.name: _records(self.tranche_cashflows(t.name, scenario))
                for t in self.deal.structure.tranches
            },
            "fees": _records(self.fees(scenario)),
            "accounts": _records(self.accounts(scenario)),
            "deal_cashflows": _records(self.deal_flows(scenario)),
            "retention": None if ret is None else _clean(ret.__dict__),
        }

    def to_json(self, path: str | Path, scenario: int = 0) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(scenario), indent=1), encoding="utf-8")

    def tables(self, scenario: int = 0) -> dict[str, pd.DataFrame]:
        """Every result table by name (what the CSV folder and the workbook hold)."""
        tables = {
            "pool_cashflows": self.pool_cashflows(scenario),
            "pool_monthly": self.pool_monthly(scenario),
            "tranches": self.tranches(scenario),
            "deal_cashflows": self.deal_flows(scenario),
            "fees": self.fees(scenario),
            "accounts": self.accounts(scenario),
        }
        for t in self.deal.structure.tranches:
            tables[f"tranche_{t.name}"] = self.tranche_cashflows(t.name, scenario)
        if self.pool.loan_level is not None:
            tables["loan_level"] = self.loan_level()
        return tables

    def to_csv_dir(self, path: str | Path, scenario: int = 0) -> list[Path]:
        """Write the result tables as CSV files into a folder; returns the files."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for name, df in self.tables(scenario).items():
            f = out / f"{name}.csv"
            df.to_csv(f, index=False)
            files.append(f)
        return files

    def to_excel(self, path: str | Path, scenario: int = 0) -> Path:
        """Write the deal summary and every result table to one Excel workbook, a sheet each."""
        out = Path(path)
        summary = pd.DataFrame(
            {
                "item": list(self.summary(scenario)),
                "value": [str(v) for v in self.summary(scenario).values()],
            }
        )
        with pd.ExcelWriter(out, engine="openpyxl") as xl:
            summary.to_excel(xl, sheet_name="deal", index=False)
            for name, df in self.tables(scenario).items():
                df.to_excel(xl, sheet_name=name[:31], index=False)
        return out
