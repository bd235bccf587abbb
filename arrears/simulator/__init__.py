"""Simulated creditor data: deterministic files in the import format for demos, tests and benchmarks.

See ``arrears.simulator.files``. Nothing here touches the database: the files go through the
real importer like any creditor's.
"""

from arrears.simulator.files import (
    CUTOFF,
    Loan,
    account_no,
    delinquent_account_numbers,
    loan,
    natural_payment_count,
    write_accounts_csv,
    write_accounts_xlsx,
    write_payments_csv,
    write_schedule_csv,
)

__all__ = [
    "CUTOFF",
    "Loan",
    "account_no",
    "delinquent_account_numbers",
    "loan",
    "natural_payment_count",
    "write_accounts_csv",
    "write_accounts_xlsx",
    "write_payments_csv",
    "write_schedule_csv",
]
