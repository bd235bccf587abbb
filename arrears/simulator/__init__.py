"""Simulated creditor data: deterministic files in the import format for demos, tests and benchmarks.

See ``arrears.simulator.files`` (the files) and ``arrears.simulator.behaviour`` (how customers pay,
and the calibration report). Nothing here touches the database: the files go through the real
importer like any creditor's.

The names below are loaded on first use (PEP 562) rather than imported here: importing the
package must not import ``behaviour``, or ``python -m arrears.simulator.behaviour`` would run a
module already imported under its package name (runpy warns, and the classes would exist twice).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arrears.simulator.behaviour import CalibrationReport, Ledger, calibration_report
    from arrears.simulator.files import (
        History,
        Loan,
        account_no,
        default_as_of,
        delinquent_account_numbers,
        histories,
        history,
        ledgers,
        loan,
        natural_payment_count,
        write_accounts_csv,
        write_accounts_xlsx,
        write_payments_csv,
        write_schedule_csv,
    )

_FROM_BEHAVIOUR = ("CalibrationReport", "Ledger", "calibration_report")
_FROM_FILES = (
    "History",
    "Loan",
    "account_no",
    "default_as_of",
    "delinquent_account_numbers",
    "histories",
    "history",
    "ledgers",
    "loan",
    "natural_payment_count",
    "write_accounts_csv",
    "write_accounts_xlsx",
    "write_payments_csv",
    "write_schedule_csv",
)

__all__ = [
    "CalibrationReport",
    "History",
    "Ledger",
    "Loan",
    "account_no",
    "calibration_report",
    "default_as_of",
    "delinquent_account_numbers",
    "histories",
    "history",
    "ledgers",
    "loan",
    "natural_payment_count",
    "write_accounts_csv",
    "write_accounts_xlsx",
    "write_payments_csv",
    "write_schedule_csv",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_FILES:
        return getattr(import_module("arrears.simulator.files"), name)
    if name in _FROM_BEHAVIOUR:
        return getattr(import_module("arrears.simulator.behaviour"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
