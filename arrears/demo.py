"""The demo book behind ``arrears demo``: users, two creditors, files loaded by the real importer, cases.

Everything goes through the services a user's actions would use: creditors and products through
``creditor_add``/``product_add``, users through ``user_create``, and the book itself as creditor
files written by ``arrears.simulator`` into ``var/demo/`` and loaded with ``import_file``.
Safe to run again: what exists is kept (users, teams, creditors), a file already imported
unchanged is not imported again, and accounts that already have an open case get no second one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.conf import settings

from arrears import simulator
from arrears.accounts.models import Agency, Role, Team, User
from arrears.accounts.services import agency_get_or_create, team_get_or_create, user_create
from arrears.cases.models import Case, CaseStatus
from arrears.portfolio.models import Account, ImportBatch, ImportKind, ImportStatus, ProductKind
from arrears.portfolio.services import creditor_add, import_file, product_add

DEMO_PASSWORD = "demo-Pass-2026"  # noqa: S105 - printed by `arrears demo` on purpose
BATCH = 1_000

_Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoCreditor:
    code: str
    name: str
    seed: int
    products: tuple[tuple[str, str, str], ...]  # (code, name, kind)


CREDITORS = (
    DemoCreditor(
        "DEMOBANK",
        "示范银行",
        1,
        (("CASHLOAN", "现金贷", ProductKind.LOAN), ("CARD", "信用卡", ProductKind.CARD)),
    ),
    DemoCreditor(
        "HUIMIN",
        "惠民消费金融",
        2,
        (("CASHLOAN", "现金贷", ProductKind.LOAN), ("POLICY", "助贷险保单", ProductKind.POLICY)),
    ),
)
TEAMS = (("EAST", "东区一组"), ("WEST", "西区二组"))
AGENCY = ("AG1", "华信催收")
# (username, role, team code, agency code, display name)
USERS: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("admin", Role.ADMIN, None, None, "系统管理员"),
    ("sam", Role.SUPERVISOR, None, None, "孙主管"),
    ("tina", Role.TEAM_LEADER, "EAST", None, "唐组长"),
    ("alice", Role.COLLECTOR, "EAST", None, "艾丽丝"),
    ("amy", Role.COLLECTOR, "EAST", None, "艾米"),
    ("bob", Role.COLLECTOR, "WEST", None, "鲍勃"),
    ("agnes", Role.AGENCY_USER, None, "AG1", "安妮丝"),
)
# New cases go to these collectors in turn, except every AGENCY_EVERY-th, which is placed with AG1.
ROUND_ROBIN = ("alice", "amy", "bob")
AGENCY_EVERY = 10
# One account in SCHEDULE_EVERY (the first ones) also comes with a schedule file.
SCHEDULE_EVERY = 5


class DemoError(RuntimeError):
    pass


def accounts_per_creditor(accounts: int) -> dict[str, int]:
    """How the demo's accounts are shared: three quarters at DEMOBANK, a quarter at HUIMIN."""
    return {"DEMOBANK": accounts - accounts // 4, "HUIMIN": accounts // 4}


def demo_case_accounts(accounts: int) -> list[tuple[str, str]]:
    """(creditor, account_no) of the accounts that get a case: those whose simulated customer is in arrears."""
    wanted: list[tuple[str, str]] = []
    for creditor in CREDITORS:
        count = accounts_per_creditor(accounts)[creditor.code]
        wanted += [
            (creditor.code, number)
            for number in simulator.delinquent_account_numbers(
                creditor=creditor.code, count=count, seed=creditor.seed
            )
        ]
    return wanted


def build_demo(*, accounts: int = 2000, out: TextIO, directory: Path | None = None) -> list[tuple[str, str]]:
    """Set up (or complete) the demo book; returns the demo logins as (username, role)."""
    started = time.monotonic()
    folder = Path(directory) if directory is not None else Path(settings.VAR_DIR) / "demo"
    folder.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        out.write(f"[demo {time.monotonic() - started:5.1f}s] {message}\n")
        out.flush()

    users = _users(say)
    for creditor in CREDITORS:
        _creditor(creditor, accounts_per_creditor(accounts)[creditor.code], folder, users["admin"], say)
    _cases(accounts, users, say)
    say("done")
    return [(username, users[username].role) for username, *_rest in USERS]


def _users(say: _Say) -> dict[str, User]:
    teams: dict[str, Team] = {code: team_get_or_create(code=code, name=name) for code, name in TEAMS}
    agencies: dict[str, Agency] = {AGENCY[0]: agency_get_or_create(code=AGENCY[0], name=AGENCY[1])}
    users: dict[str, User] = {}
    created = 0
    for username, role, team, agency, display_name in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                team=teams[team] if team else None,
                agency=agencies[agency] if agency else None,
                display_name=display_name,
            )
            created += 1
        users[username] = user
    say(f"users: {created} created, {len(USERS) - created} already there; teams EAST, WEST; agency AG1")
    return users


def _creditor(creditor: DemoCreditor, count: int, folder: Path, actor: User, say: _Say) -> None:
    creditor_add(code=creditor.code, name=creditor.name, actor=actor)
    for code, name, kind in creditor.products:
        product_add(code=code, creditor_code=creditor.code, name=name, kind=kind, actor=actor)
    if count <= 0:
        return
    prefix = f"{creditor.code.lower()}-{count}"
    accounts_file = folder / f"{prefix}-accounts.csv"
    schedule_file = folder / f"{prefix}-schedule.csv"
    payments_file = folder / f"{prefix}-payments.csv"
    products = [code for code, _name, _kind in creditor.products]
    simulator.write_accounts_csv(
        accounts_file, creditor=creditor.code, products=products, count=count, seed=creditor.seed
    )
    simulator.write_schedule_csv(
        schedule_file,
        creditor=creditor.code,
        count_accounts=max(1, count // SCHEDULE_EVERY),
        seed=creditor.seed,
    )
    payments = simulator.natural_payment_count(accounts=count, seed=creditor.seed)
    simulator.write_payments_csv(
        payments_file, creditor=creditor.code, count=payments, accounts=count, seed=creditor.seed
    )
    say(f"{creditor.code}: wrote {count:,} accounts, a schedule and {payments:,} payments to {folder}")
    for kind, path in (
        (ImportKind.ACCOUNTS, accounts_file),
        (ImportKind.SCHEDULE, schedule_file),
        (ImportKind.PAYMENTS, payments_file),
    ):
        _import(creditor.code, kind, path, actor, say)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _import(creditor_code: str, kind: str, path: Path, actor: User, say: _Say) -> None:
    done_before = ImportBatch.objects.filter(
        creditor__code=creditor_code, kind=kind, checksum=_sha256(path), status=ImportStatus.DONE
    ).exists()
    if done_before:
        say(f"{creditor_code} {kind}: {path.name} already imported")
        return
    batch = import_file(creditor_code=creditor_code, kind=kind, path=path, actor=actor)
    if batch.status != ImportStatus.DONE:
        raise DemoError(f"import of {path} failed: {batch.error_code} {batch.error_params}")
    say(
        f"{creditor_code} {kind}: {batch.rows_loaded:,} rows loaded "
        f"({batch.rows_inserted:,} new, {batch.rows_updated:,} updated), {batch.rows_rejected:,} rejected"
    )
    if batch.rows_rejected:
        say(f"  warning: batch #{batch.pk} rejected {batch.rows_rejected} rows; see its error report")


def _cases(accounts: int, users: dict[str, User], say: _Say) -> None:
    wanted = demo_case_accounts(accounts)
    agency = Agency.objects.get(code=AGENCY[0])
    collectors = [users[username] for username in ROUND_ROBIN]
    created = 0
    for offset in range(0, len(wanted), BATCH):
        chunk = wanted[offset : offset + BATCH]
        candidates: list[tuple[int, int]] = []
        for code in {creditor for creditor, _number in chunk}:
            numbers = [number for creditor, number in chunk if creditor == code]
            candidates += (
                Account.objects.filter(creditor__code=code, account_no__in=numbers)
                .exclude(cases__status__in=[s for s in CaseStatus.values if s != CaseStatus.CLOSED])
                .values_list("id", "customer_id")
            )
        cases = []
        for account_id, customer_id in sorted(candidates):
            created += 1
            if created % AGENCY_EVERY == 0:
                cases.append(
                    Case(
                        account_id=account_id,
                        customer_id=customer_id,
                        status=CaseStatus.IN_PROGRESS,
                        agency=agency,
                    )
                )
            else:
                collector = collectors[created % len(collectors)]
                cases.append(
                    Case(
                        account_id=account_id,
                        customer_id=customer_id,
                        status=CaseStatus.IN_PROGRESS,
                        assigned_collector=collector,
                        team_id=collector.team_id,
                    )
                )
        Case.objects.bulk_create(cases, batch_size=BATCH)
    total = Case.objects.exclude(status=CaseStatus.CLOSED).count()
    say(f"cases: {created:,} opened for accounts in arrears ({total:,} open in all)")
