"""Turn one file row into staging tuples, or into the list of what is wrong with it.

Per-row checks that need no database live here; checks against the database (unknown
product, duplicates, conflicting transactions) run set-based in SQL in ``loader``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from arrears.core.crypto import KeyRing
from arrears.portfolio.importing import fields as f
from arrears.portfolio.importing.headers import HeaderMap

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_TEXT = 200
MAX_ADDRESS = 300


@dataclass
class RowProblem:
    column: str
    value: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class RowRejected(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


class _Row:
    """Field access for one row that collects every problem instead of stopping at the first."""

    def __init__(self, headers: HeaderMap, cells: list[Any]) -> None:
        self.headers = headers
        # Text cells are normalised once here; the parsers' own normalising is then a fast no-op.
        self.cells = [f.normalize_text(cell) if isinstance(cell, str) else cell for cell in cells]
        self.problems: list[RowProblem] = []

    def raw(self, name: str) -> Any:
        index = self.headers.index.get(name)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def label(self, name: str) -> str:
        return self.headers.labels.get(name, name)

    def get(
        self, name: str, parser: Callable[[Any], Any], *, required: bool = True, default: Any = None
    ) -> Any:
        value = self.raw(name)
        try:
            if value is None or value == "" or (not isinstance(value, str) and f.is_blank(value)):
                if required:
                    raise f.FieldError("required")
                return default
            return parser(value)
        except f.FieldError as error:
            self.problems.append(
                RowProblem(self.label(name), f.normalize_text(value)[:500], error.code, dict(error.params))
            )
            return default

    def reject_if_any(self) -> None:
        if self.problems:
            raise RowRejected(self.problems)


def _text(max_len: int) -> Callable[[Any], str]:
    return lambda value: f.parse_text(value, max_len=max_len)


def _blank_or_zero(value: Any) -> bool:
    if value is None or value in ("", "0"):
        return True
    return f.normalize_text(value) in ("", "0")


def _amount_or_zero(value: Any) -> int:
    """An instalment component may be 0; an empty cell also means 0."""
    if f.normalize_text(value) in {"0", "0.0", "0.00", "-"}:
        return 0
    return f.parse_amount_fen(value)


# --- accounts ------------------------------------------------------------------------------

ACCOUNT_COLUMNS = (
    "row_number",
    "account_no",
    "product_code",
    "customer_no",
    "name",
    "id_number",
    "employer",
    "principal_fen",
    "open_date",
    "term",
    "instalment_fen",
    "first_due_date",
    "flags",
    "contacts",
)
# What is COPY-ed: the sealed row (id_number encrypted) and the blind index of the ID number.
ACCOUNT_STAGING_COLUMNS = (*ACCOUNT_COLUMNS, "id_number_hash")
# The columns' associated data and blind-index domains (arrears.core.fields.column_context);
# literal here because the parser runs in worker processes without Django's models.
ID_NUMBER_CONTEXT = "portfolio_customer.id_number"
CONTACT_VALUE_CONTEXT = "portfolio_contactpoint.value"
ID_NUMBER_INDEX = ACCOUNT_COLUMNS.index("id_number") - 1  # positions in the tuple (no row_number)
CONTACTS_INDEX = ACCOUNT_COLUMNS.index("contacts") - 1


def parse_account_row(headers: HeaderMap, cells: list[Any], *, creditor_code: str) -> tuple[Any, ...]:
    """One accounts-file row → its values (without row_number), in plaintext; contacts as a JSON
    list of [kind, owner_role, owner_name, label, value]."""
    values = _parse_account(headers, cells, creditor_code=creditor_code)
    contacts = json.dumps(values[CONTACTS_INDEX], ensure_ascii=False)
    return (*values[:CONTACTS_INDEX], contacts, *values[CONTACTS_INDEX + 1 :])


def seal_account_row(values: tuple[Any, ...], ring: KeyRing) -> tuple[Any, ...]:
    """The staging tuple of ``_parse_account``'s values: the ID number and every contact value
    encrypted, each with its blind index (contacts as JSON lists of [kind, owner_role,
    owner_name, label, encrypted value, value hash]; the ID number's hash appended last).
    Done here, in the parsing workers, because it is per-value CPU work."""
    id_number = values[ID_NUMBER_INDEX]
    contacts = [
        (
            kind,
            owner,
            owner_name,
            label,
            ring.encrypt(value, context=CONTACT_VALUE_CONTEXT),
            ring.blind_index(value, context=CONTACT_VALUE_CONTEXT),
        )
        for kind, owner, owner_name, label, value in values[CONTACTS_INDEX]
    ]
    sealed = list(values)
    sealed[ID_NUMBER_INDEX] = ring.encrypt(id_number, context=ID_NUMBER_CONTEXT)
    sealed[CONTACTS_INDEX] = json.dumps(contacts, ensure_ascii=False)
    return (*sealed, ring.blind_index(id_number, context=ID_NUMBER_CONTEXT))


def _parse_account(headers: HeaderMap, cells: list[Any], *, creditor_code: str) -> tuple[Any, ...]:
    row = _Row(headers, cells)
    creditor = row.get("creditor", _text(32))
    if creditor and creditor.upper() != creditor_code.upper():
        row.problems.append(
            RowProblem(
                row.label("creditor"),
                creditor,
                "wrong_creditor",
                {"value": creditor, "expected": creditor_code},
            )
        )
    account_no = row.get("account_no", _text(64))
    product_code = row.get("product", _text(32))
    customer_no = row.get("customer_id", _text(64))
    name = row.get("name", _text(100))
    id_number = row.get("id_number", f.parse_id_number)
    principal = row.get("principal", f.parse_amount_fen)
    open_date: date | None = row.get("open_date", f.parse_date)
    term = row.get("term", lambda v: f.parse_int(v, minimum=1, maximum=600))
    instalment = row.get("instalment", f.parse_amount_fen, required=False)
    first_due: date | None = row.get("first_due_date", f.parse_date)
    flags = row.get("flags", f.parse_flags, required=False, default=[])
    employer = row.get("employer", _text(MAX_TEXT), required=False, default="")

    contacts: list[tuple[str, str, str, str, str]] = []  # kind, owner_role, owner_name, label, value
    for number in row.get("mobile", lambda v: f.parse_phones(v, mobile_only=True), default=[]) or []:
        contacts.append(("mobile", "self", name or "", "", number))
    for column, kind in (("home_phone", "home"), ("work_phone", "work")):
        for number in row.get(column, f.parse_phones, required=False, default=[]) or []:
            contacts.append((kind, "self", name or "", "", number))
    email = row.get("email", f.parse_email, required=False)
    if email:
        contacts.append(("email", "self", name or "", "", email))
    for column, label in (("home_address", "home"), ("work_address", "work")):
        address = row.get(column, _text(MAX_ADDRESS), required=False)
        if address:
            contacts.append(("address", "self", name or "", label, address))

    third_parties = 0
    for n in headers.contact_numbers:
        # Seed 003: application forms write "0" where a contact is missing.
        present = [
            not _blank_or_zero(row.raw(f"contact{n}_{part}")) for part in ("name", "relation", "phone")
        ]
        if not any(present):
            continue
        contact_name = row.get(f"contact{n}_name", _text(100))
        relation = row.get(f"contact{n}_relation", f.parse_relation, required=False, default="other")
        phones = row.get(f"contact{n}_phone", f.parse_phones, default=[]) or []
        if contact_name and phones:
            third_parties += 1
            for number in phones:
                contacts.append(
                    ("mobile" if len(number) == 11 else "home", relation, contact_name, "", number)
                )
    if third_parties < 2 and not any(p.column.startswith(("contact", "联系人")) for p in row.problems):
        row.problems.append(RowProblem("联系人", "", "too_few_contacts", {"count": third_parties}))

    if principal and term and instalment and instalment * term < principal:
        row.problems.append(
            RowProblem(
                row.label("instalment"),
                f.normalize_text(row.raw("instalment")),
                "instalment_too_small",
                {"term": term},
            )
        )
    if open_date and first_due and first_due < open_date:
        row.problems.append(
            RowProblem(row.label("first_due_date"), first_due.isoformat(), "due_before_open", {})
        )
    row.reject_if_any()
    account = (
        account_no,
        product_code.upper(),
        customer_no,
        name,
        id_number,
        employer,
        principal,
        open_date,
        term,
        instalment,
        first_due,
        json.dumps(flags),
        # The row's contact points travel with it as JSON and are unnested in SQL, so one COPY
        # carries the whole file.
        contacts,
    )
    return account


# --- schedule ------------------------------------------------------------------------------

SCHEDULE_COLUMNS = (
    "row_number",
    "account_no",
    "seq",
    "due_date",
    "principal_due_fen",
    "interest_due_fen",
    "fee_due_fen",
    "premium_due_fen",
)


def parse_schedule_row(headers: HeaderMap, cells: list[Any]) -> tuple[Any, ...]:
    row = _Row(headers, cells)
    account_no = row.get("account_no", _text(64))
    seq = row.get("seq", lambda v: f.parse_int(v, minimum=1, maximum=600))
    due_date = row.get("due_date", f.parse_date)
    parts = [
        row.get(name, _amount_or_zero, required=False, default=0)
        for name in ("principal_due", "interest_due", "fee_due", "premium_due")
    ]
    if not row.problems and sum(parts) <= 0:
        row.problems.append(RowProblem(row.label("principal_due"), "0", "instalment_zero", {}))
    row.reject_if_any()
    return (account_no, seq, due_date, *parts)


# --- payments ------------------------------------------------------------------------------

PAYMENT_COLUMNS = ("row_number", "account_no", "txn_id", "paid_at", "amount_fen", "channel", "reversal_of")


def parse_payment_row(headers: HeaderMap, cells: list[Any]) -> tuple[Any, ...]:
    row = _Row(headers, cells)
    account_no = row.get("account_no", _text(64))
    txn_id = row.get("txn_id", _text(64))
    paid_at = row.get("paid_at", lambda v: f.parse_datetime(v, SHANGHAI))
    amount = row.get("amount", lambda v: f.parse_amount_fen(v, allow_negative=True))
    channel = row.get("channel", _text(50), required=False, default="")
    reversal_of = row.get("reversal_of", _text(64), required=False, default=None)
    if amount is not None and amount < 0 and not reversal_of and not row.problems:
        row.problems.append(RowProblem(row.label("reversal_of"), "", "reversal_without_original", {}))
    if amount is not None and amount > 0 and reversal_of:
        row.problems.append(
            RowProblem(row.label("amount"), f.normalize_text(row.raw("amount")), "reversal_positive", {})
        )
    if reversal_of and reversal_of == txn_id:
        row.problems.append(
            RowProblem(row.label("reversal_of"), reversal_of, "unknown_reversal", {"value": reversal_of})
        )
    row.reject_if_any()
    return (account_no, txn_id, paid_at, amount, channel, reversal_of)


# --- chunks, for parsing in worker processes ------------------------------------------------

Parsed = tuple[int, str | None, list[RowProblem] | None]


def copy_line(values: tuple[Any, ...]) -> str:
    """One row in PostgreSQL's COPY text format (tab-separated, backslash escapes, \\N for NULL)."""
    fields = []
    for value in values:
        if value is None:
            fields.append("\\N")
        elif isinstance(value, str):
            # str.replace runs in C; translate() with a dict is per character in Python, which
            # showed once rows carried ciphertexts (a few hundred characters each).
            if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
                value = (
                    value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
                )
            fields.append(value)
        elif isinstance(value, date):
            fields.append(value.isoformat())
        else:
            fields.append(str(value))
    return "\t".join(fields) + "\n"


def parse_chunk(
    kind: str,
    headers: HeaderMap,
    creditor_code: str,
    chunk: list[tuple[int, list[Any]]],
    ring: KeyRing | None = None,
) -> list[Parsed]:
    """Parse rows of one file kind: (row_number, COPY line, None) or (row_number, None, problems).

    A module-level function of plain arguments so a process pool can run it; it returns COPY
    text so the main process only has to pass bytes on to PostgreSQL. Accounts rows need the
    key ring (``ring``) to encrypt their personal data.
    """
    results: list[Parsed] = []
    for row_number, cells in chunk:
        try:
            if kind == "accounts":
                assert ring is not None, "accounts rows are encrypted: pass the key ring"
                parsed = seal_account_row(_parse_account(headers, cells, creditor_code=creditor_code), ring)
            elif kind == "schedule":
                parsed = parse_schedule_row(headers, cells)
            else:
                parsed = parse_payment_row(headers, cells)
        except RowRejected as rejected:
            results.append((row_number, None, rejected.problems))
        else:
            results.append((row_number, copy_line((row_number, *parsed)), None))
    return results
