"""The demo book behind ``arrears demo``: users, two creditors, a year of history, cases.

Everything goes through the services a user's actions would use: creditors and products through
``creditor_add``/``product_add``, users through ``user_create``, the book itself as creditor
files written by ``arrears.simulator`` into ``var/demo/`` (two years of loans and their
payments up to the day before ``as_of``) and loaded with ``import_file``, then the end-of-day
batch run for every day of the last year, so buckets, roll rates and cases have a real history.
Safe to run again: what exists is kept, a file already imported is not imported again, the
book keeps the ``as_of`` of its first build (saved in the demo folder), and the batch continues
from its last completed day up to yesterday.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from arrears import simulator
from arrears.accounts.models import Agency, Role, Team, User
from arrears.accounts.services import agency_get_or_create, team_get_or_create, user_create
from arrears.cases.models import Activity, Case, CaseStatus
from arrears.cases.services import (
    ContactRefused,
    WorkRefused,
    action_codes_ensure_defaults,
    activity_log,
    assignment_rule_set,
    hold_place,
)
from arrears.comms.letter_batches import letter_batch_print
from arrears.comms.models import Message, MessageState, Template, Visit
from arrears.comms.services import cadences_expand, cadences_seed_defaults, message_queue, outbox_send_due
from arrears.comms.templates_service import templates_seed_defaults
from arrears.comms.visits import VisitDenied, VisitRefused, visit_plan
from arrears.delinquency.services import eod_run, last_completed_date
from arrears.portfolio.models import ImportBatch, ImportKind, ImportStatus, ProductKind
from arrears.portfolio.services import creditor_add, import_file, product_add

DEMO_PASSWORD = "demo-Pass-2026"  # noqa: S105 - printed by `arrears demo` on purpose

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
    ("cora", Role.COMPLIANCE_OFFICER, None, None, "柯合规"),
    ("fiona", Role.FIELD_COLLECTOR, "EAST", None, "方菲"),
    ("felix", Role.FIELD_COLLECTOR, "EAST", None, "费力"),
)
# Early buckets go to the east team (alice, amy), later ones to the west team (bob); the batch
# deals new cases round-robin within the team.
ASSIGNMENT_RULES = (("M1", "EAST"), ("M2", "WEST"), ("M3", "WEST"), ("M4+", "WEST"))
HISTORY_DAYS = 365
# One account in SCHEDULE_EVERY (the first ones) also comes with a schedule file.
SCHEDULE_EVERY = 5


class DemoError(RuntimeError):
    pass


def accounts_per_creditor(accounts: int) -> dict[str, int]:
    """How the demo's accounts are shared: three quarters at DEMOBANK, a quarter at HUIMIN."""
    return {"DEMOBANK": accounts - accounts // 4, "HUIMIN": accounts // 4}


def demo_delinquent_accounts(accounts: int, as_of: dt.date) -> list[tuple[str, str]]:
    """(creditor, account_no) of the accounts the simulator left in arrears on the day before `as_of`."""
    wanted: list[tuple[str, str]] = []
    for creditor in CREDITORS:
        count = accounts_per_creditor(accounts)[creditor.code]
        wanted += [
            (creditor.code, number)
            for number in simulator.delinquent_account_numbers(
                creditor=creditor.code, count=count, seed=creditor.seed, as_of=as_of
            )
        ]
    return wanted


def build_demo(
    *,
    accounts: int = 20_000,
    out: TextIO,
    directory: Path | None = None,
    history_days: int = HISTORY_DAYS,
    today: dt.date | None = None,
) -> list[tuple[str, str]]:
    """Set up (or complete) the demo book; returns the demo logins as (username, role)."""
    started = time.monotonic()
    folder = Path(directory) if directory is not None else Path(settings.VAR_DIR) / "demo"
    folder.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        out.write(f"[demo {time.monotonic() - started:5.1f}s] {message}\n")
        out.flush()

    as_of = _book_date(folder, today)
    users = _users(say)
    for creditor in CREDITORS:
        _creditor(
            creditor, accounts_per_creditor(accounts)[creditor.code], folder, as_of, users["admin"], say
        )
    _rules(say)
    _comms_defaults(say)
    _end_of_day(as_of, history_days, today or as_of, say)
    _workspace(users, say)
    _communications(users, today or timezone.localdate(), say)
    _visits(users, today or timezone.localdate(), say)
    say("done")
    return [(username, users[username].role) for username, *_rest in USERS]


def _book_date(folder: Path, today: dt.date | None) -> dt.date:
    """The simulator's `as_of` of this demo book: fixed at the first build so files stay the same."""
    saved = folder / "as_of"
    if saved.exists():
        return dt.date.fromisoformat(saved.read_text().strip())
    as_of = today or simulator.default_as_of()
    saved.write_text(f"{as_of}\n")
    return as_of


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


def _creditor(
    creditor: DemoCreditor, count: int, folder: Path, as_of: dt.date, actor: User, say: _Say
) -> None:
    creditor_add(code=creditor.code, name=creditor.name, actor=actor)
    for code, name, kind in creditor.products:
        product_add(code=code, creditor_code=creditor.code, name=name, kind=kind, actor=actor)
    if count <= 0:
        return
    prefix = f"{creditor.code.lower()}-{count}-{as_of}"
    accounts_file = folder / f"{prefix}-accounts.csv"
    schedule_file = folder / f"{prefix}-schedule.csv"
    payments_file = folder / f"{prefix}-payments.csv"
    files = (
        (ImportKind.ACCOUNTS, accounts_file),
        (ImportKind.SCHEDULE, schedule_file),
        (ImportKind.PAYMENTS, payments_file),
    )
    # The names hold everything the files depend on (the generator is deterministic), so once all
    # three are loaded a rerun neither writes nor reads them again.
    loaded = ImportBatch.objects.filter(
        creditor__code=creditor.code, status=ImportStatus.DONE, filename__in=[path.name for _k, path in files]
    ).values_list("kind", flat=True)
    if set(loaded) == {kind for kind, _path in files}:
        say(f"{creditor.code}: {prefix} files already imported")
        return
    products = [code for code, _name, _kind in creditor.products]
    simulator.write_accounts_csv(
        accounts_file, creditor=creditor.code, products=products, count=count, seed=creditor.seed, as_of=as_of
    )
    simulator.write_schedule_csv(
        schedule_file,
        creditor=creditor.code,
        count_accounts=max(1, count // SCHEDULE_EVERY),
        seed=creditor.seed,
        as_of=as_of,
    )
    payments = simulator.write_payments_csv(
        payments_file, creditor=creditor.code, accounts=count, seed=creditor.seed, as_of=as_of
    )
    say(f"{creditor.code}: wrote {count:,} accounts, a schedule and {payments:,} payments to {folder}")
    for kind, path in files:
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


def _rules(say: _Say) -> None:
    teams = {
        team.code: team for team in Team.objects.filter(code__in=[code for _g, code in ASSIGNMENT_RULES])
    }
    for group, team_code in ASSIGNMENT_RULES:
        assignment_rule_set(bucket_group=group, team=teams[team_code])
    say("assignment rules: " + ", ".join(f"{group} → {code}" for group, code in ASSIGNMENT_RULES))


def _end_of_day(as_of: dt.date, history_days: int, today: dt.date, say: _Say) -> None:
    """Run the batch for every day of the history not run yet, up to yesterday."""
    last_day = today - dt.timedelta(days=1)
    done = last_completed_date()
    day = as_of - dt.timedelta(days=history_days) if done is None else done + dt.timedelta(days=1)
    first = day
    while day <= last_day:
        run = eod_run(business_date=day)
        if day.day == 1 or day == last_day:
            say(f"end of day {day}: {run.accounts:,} accounts recomputed ({run.mode})")
        day += dt.timedelta(days=1)
    if first > last_day:
        say(f"end of day: already run up to {done}")
    open_cases = Case.objects.exclude(status=CaseStatus.CLOSED)
    say(
        f"cases: {open_cases.count():,} open ({open_cases.filter(assigned_collector__isnull=True).count():,}"
        f" unassigned), {Case.objects.filter(status=CaseStatus.CLOSED).count():,} closed"
    )


# The collectors' last two days, logged through the real services (so the guard judges
# each call): a few attempts per case, some promises, a dispute.
WORKSPACE_CASES_PER_COLLECTOR = 40
# (days ago, local hour, minute, action code)
WORKSPACE_SCRIPT = (
    ((1, 9, 20, "NA"), (1, 15, 5, "RPC")),
    ((1, 10, 40, "NA"), (1, 16, 30, "NA"), (0, 9, 10, "BUSY")),
    ((1, 11, 15, "PTP"),),
    ((2, 14, 0, "RPC"), (1, 14, 45, "PTP")),
)


def _workspace(users: dict[str, User], say: _Say) -> None:
    """Some work on the collectors' cases, once (nothing is added when activities exist)."""
    if Activity.objects.exists():
        say("workspace: activities already logged")
        return
    action_codes_ensure_defaults()
    zone = ZoneInfo("Asia/Shanghai")
    now = timezone.now()
    logged = denied = 0
    for username in ("alice", "amy", "bob"):
        collector = users[username]
        cases = (
            Case.objects.filter(assigned_collector=collector)
            .exclude(status=CaseStatus.CLOSED)
            .select_related("customer", "account")
            .order_by("pk")[:WORKSPACE_CASES_PER_COLLECTOR]
        )
        for number, case in enumerate(cases):
            point = case.customer.contact_points.filter(owner_role="self", kind="mobile").first()
            if point is None:
                continue
            if number == 7:
                hold_place(case=case, actor=collector, kind="dispute", reason="客户称金额有误，已提交核实")
                continue
            for days_ago, hour, minute, code in WORKSPACE_SCRIPT[number % len(WORKSPACE_SCRIPT)]:
                local = (now.astimezone(zone) - dt.timedelta(days=days_ago)).replace(
                    hour=hour, minute=minute, second=0, microsecond=0
                )
                if local > now:
                    continue
                promise = code == "PTP"
                try:
                    activity_log(
                        case=case,
                        actor=collector,
                        channel="call",
                        contact_point=point,
                        direction="outbound",
                        started_at=local,
                        connected=code in ("RPC", "PTP"),
                        right_party=code in ("RPC", "PTP"),
                        action_code=code,
                        notes="客户答应尽快还款" if promise else "",
                        promise_amount_fen=min(case.account.principal_fen, 200_000) if promise else None,
                        promise_due_at=(now + dt.timedelta(days=1))
                        .astimezone(zone)
                        .replace(hour=18, minute=0, second=0, microsecond=0)
                        if promise
                        else None,
                    )
                    logged += 1
                except (ContactRefused, WorkRefused):
                    denied += 1
    say(f"workspace: {logged} activities logged, {denied} refused by the guard or the checks")


def _comms_defaults(say: _Say) -> None:
    templates = templates_seed_defaults()
    steps = cadences_seed_defaults()
    say(f"communications: {len(templates)} default templates and {steps} cadence steps created")


# Letters for the late cases: a printable batch the operations team would post.
DEMO_LETTERS = 30


def _communications(users: dict[str, User], today: dt.date, say: _Say) -> None:
    """The last two days of the seed cadence sent through the file gateway (var/outbox/),
    and a batch of letters printed (var/letters/). Once: nothing is added when messages exist.

    The nightly batch queues the next day's messages; here the two days before today are
    queued and sent as they would have been at 10:00, so the demo shows the flow whatever
    the hour it is built. Today's, queued by last night's batch, go when the worker runs.
    """
    if Message.objects.filter(state=MessageState.SENT).exists():
        say("communications: messages already sent")
        return
    zone = ZoneInfo("Asia/Shanghai")
    for days_ago in (2, 1):
        send_day = today - dt.timedelta(days=days_ago)
        queued = cadences_expand(business_date=send_day - dt.timedelta(days=1))
        at = dt.datetime.combine(send_day, dt.time(10, 5), zone)
        stats = outbox_send_due(now=at)
        say(
            f"messages of {send_day}: {queued} queued by the cadence; {stats.sent} sent, "
            f"{stats.deferred} deferred, {stats.blocked} blocked by the guard, {stats.failed} failed"
        )
    letter = Template.objects.get(code="LETTER_NOTICE", language="zh-hans")
    cases = (
        Case.objects.filter(bucket_group__in=["M3", "M4+"])
        .exclude(status=CaseStatus.CLOSED)
        .select_related("customer")
        .order_by("pk")
    )
    queued_letters = 0
    at = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(11, 0), zone)
    for case in cases:
        address = case.customer.contact_points.filter(owner_role="self", kind="address").first()
        if address is None:
            continue
        message_queue(
            case=case, contact_point=address, template=letter, actor=users["sam"], scheduled_at=at, now=at
        )
        queued_letters += 1
        if queued_letters == DEMO_LETTERS:
            break
    outbox_send_due(now=at + dt.timedelta(minutes=1))
    batch = letter_batch_print(actor=users["sam"], now=at + dt.timedelta(minutes=2))
    if batch is not None:
        folder = Path(settings.ARREARS_LETTERS_DIR)
        say(
            f"letters: batch #{batch.pk} of {batch.letters} letters printed to {folder / batch.pdf_path}"
            f" and {folder / batch.csv_path}"
        )
    say(f"outbox files: {settings.ARREARS_OUTBOX_DIR}")


def _visits(users: dict[str, User], today: dt.date, say: _Say) -> None:
    """Tomorrow's field visits for fiona and felix: three late cases of alice's with an address.
    Once: nothing is planned when visits exist."""
    if Visit.objects.exists():
        say("visits: already planned")
        return
    zone = ZoneInfo("Asia/Shanghai")
    tomorrow = today + dt.timedelta(days=1)
    cases = (
        Case.objects.filter(assigned_collector=users["alice"])
        .exclude(status=CaseStatus.CLOSED)
        .select_related("customer", "account")
        .order_by("-bucket_group", "pk")
    )
    planned = 0
    for case in cases:
        address = case.customer.contact_points.filter(owner_role="self", kind="address").first()
        if address is None:
            continue
        try:
            visit_plan(
                case=case,
                address=address,
                planned_at=dt.datetime.combine(tomorrow, dt.time(10 + 2 * planned, 0), zone),
                purpose="核实住址并面谈还款安排",
                visitors=[users["fiona"], users["felix"]],
                recording_device="REC-EAST-01",
                actor=users["alice"],
            )
        except (VisitRefused, VisitDenied) as refused:
            say(f"visit on case {case.pk} refused: {refused}")
            continue
        planned += 1
        if planned == 3:
            break
    say(f"visits: {planned} planned for {tomorrow} (fiona, felix)")
