"""Writes of the guard: every answer is stored; pack parameters change only by new versions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from arrears.cases.models import Case
from arrears.compliance import selectors
from arrears.compliance.inputs import Channel, ContactInput, Message, Visit
from arrears.compliance.models import CreditorPolicyPack, Decision, DecisionPurpose, PolicyPackVersion
from arrears.compliance.packs import PACKS, Pack, evaluate, params_as_json, params_problems
from arrears.core.services import event_record
from arrears.core.sql import row_insert
from arrears.portfolio.models import ContactPoint, Creditor

# The rules that read only text; an inbound contact's notes are screened by these alone.
TEXT_RULES = frozenset({"H11", "H12", "H15", "H16", "C5", "U8"})


# Types stored as they are; checked first and exactly (a StrEnum is a str, but is stored by value).
_PLAIN = frozenset({str, int, float, bool, type(None)})
# The field names of each dataclass met, so that a decision's input (a tree of some forty
# dataclass instances) is walked without asking `dataclasses` about every node.
_DATACLASS_FIELDS: dict[type, tuple[str, ...]] = {}


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _DATACLASS_FIELDS.get(kind)
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (frozenset, set)):
        return sorted(_jsonable(item) for item in value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _DATACLASS_FIELDS[kind] = tuple(field.name for field in dataclasses.fields(value))
        return _jsonable(value)
    return value


def inputs_as_record(contact: ContactInput) -> dict[str, Any]:
    """The input as stored with a decision. The calendar slice is reduced to what the
    rules used of it (days off and make-up days are listed; known years kept)."""
    record = _jsonable(contact)
    assert isinstance(record, dict)
    return record


class GuardError(ValueError):
    """The question cannot be asked (e.g. a naive time); nothing is stored."""


def guard_check(
    *,
    case: Case,
    channel: Channel | str,
    contact_point: ContactPoint,
    at: dt.datetime,
    purpose: DecisionPurpose | str = DecisionPurpose.CHECK,
    asked_by: Any = None,
    message: Message | None = None,
    notes: str = "",
    visit: Visit | None = None,
    recording_available: bool = True,
    only_rules: frozenset[str] | None = None,
    store: bool = True,
    reads: selectors.GuardReads | None = None,
) -> Decision:
    """Ask the creditor's packs whether this contact may happen at `at`, and store the answer.

    `store=False` is for the case page's live status of each contact point: a preview
    shown to the collector, not a decision to contact anyone, so it is not logged (the
    contact itself, when it happens, is checked and stored again).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise GuardError("naive datetime")
    if contact_point.customer_id != case.customer_id:
        raise GuardError("contact point of another customer")
    # One round trip for the packs and everything the input needs (the guard's latency budget);
    # previews of several contact points of one case at one time share it (`reads`).
    if reads is None:
        reads = selectors.guard_reads(case=case, at=at)
    packs: Sequence[Pack] = reads.packs
    if only_rules is not None:
        packs = [
            dataclasses.replace(pack, rules=tuple(r for r in pack.rules if r.id in only_rules))
            for pack in packs
        ]
    contact = selectors.contact_input_for(
        case=case,
        channel=Channel(channel),
        point=contact_point,
        at=at,
        pack_ids=[pack.id for pack in packs],
        message=message,
        notes=notes,
        visit=visit,
        recording_available=recording_available,
        reads=reads,
    )
    decision = evaluate(contact, packs)
    row = Decision(
        case=case,
        contact_point=contact_point,
        channel=str(Channel(channel)),
        at=at,
        purpose=str(purpose),
        allowed=decision.allowed,
        next_allowed_at=decision.allowed_from,
        packs=[{"pack": pack_id, "version": version} for pack_id, version in decision.packs],
        inputs=inputs_as_record(contact),
        result=decision.as_record(),
        asked_by=asked_by if getattr(asked_by, "pk", None) else None,
    )
    if store:
        row_insert(row)
    return row


# Model.save() costs about as much Python as the rules and the reads together (the SQL
# compiler, signals, state); a decision is only ever inserted, so it is written directly
# (`row_insert`: each field's own conversions, a statement prepared once per connection).


_DECISIONS_INSERT = f"""
INSERT INTO {Decision._meta.db_table}
       (case_id, contact_point_id, channel, at, purpose, allowed, next_allowed_at, packs, inputs, result,
        asked_by_id, created_at)
SELECT d.case_id, d.contact_point_id, d.channel, d.at, d.purpose, d.allowed, d.next_allowed_at, d.packs,
       d.inputs, d.result, d.asked_by_id, now()
  FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (
         case_id bigint, contact_point_id bigint, channel text, at timestamptz, purpose text, allowed boolean,
         next_allowed_at timestamptz, packs jsonb, inputs jsonb, result jsonb, asked_by_id bigint))
       WITH ORDINALITY AS d(case_id, contact_point_id, channel, at, purpose, allowed, next_allowed_at, packs,
                            inputs, result, asked_by_id, n)
 ORDER BY d.n
RETURNING id
"""


def decisions_store(*, rows: Sequence[Decision]) -> None:
    """Store many decisions `guard_check(store=False)` made, in one statement (a sender's
    batch). The rows travel as one JSON document: adapting each JSON column separately
    cost as much as deciding."""
    if not rows:
        return
    document = [
        {
            "case_id": row.case_id,
            "contact_point_id": row.contact_point_id,
            "channel": row.channel,
            "at": row.at.isoformat(),
            "purpose": row.purpose,
            "allowed": row.allowed,
            "next_allowed_at": row.next_allowed_at.isoformat() if row.next_allowed_at else None,
            "packs": row.packs,
            "inputs": row.inputs,
            "result": row.result,
            "asked_by_id": row.asked_by_id,
        }
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.execute(_DECISIONS_INSERT, [json.dumps(document, ensure_ascii=False)])
        # The ids come from one sequence in the order the rows were inserted (ORDER BY d.n).
        ids = sorted(pk for (pk,) in cursor.fetchall())
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias


# --- packs -------------------------------------------------------------------------------


class PackParamsRefused(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(", ".join(f"{key}: {code}" for key, code in problems))
        self.problems = problems


def pack_params_update(
    *, pack_id: str, params: Mapping[str, object], actor: Any, note: str = ""
) -> PolicyPackVersion:
    """Write a new version of a pack with these parameters; the old versions stay as they were."""
    if pack_id not in PACKS:
        raise PackParamsRefused([("pack", "unknown_pack")])
    problems = params_problems(pack_id, params)
    if problems:
        raise PackParamsRefused(problems)
    clean = params_as_json(params)
    with transaction.atomic():
        # Serialise editors of one pack: the version number must not be taken twice.
        PolicyPackVersion.objects.select_for_update().filter(pack=pack_id).exists()
        latest = PolicyPackVersion.objects.filter(pack=pack_id).aggregate(v=Max("version"))["v"]
        if latest is None:
            base = PACKS[pack_id]
            PolicyPackVersion.objects.create(
                pack=pack_id,
                version=base.version,
                params=params_as_json(base.params),
                note="catalogue defaults",
            )
            latest = base.version
        row = PolicyPackVersion.objects.create(
            pack=pack_id, version=latest + 1, params=clean, note=note[:300], created_by=actor
        )
        previous = PolicyPackVersion.objects.get(pack=pack_id, version=latest)
        changed = sorted(key for key in clean if clean[key] != previous.params.get(key))
        event_record(
            kind="compliance.pack_updated",
            subject=row,
            actor=actor,
            data={"pack": pack_id, "version": row.version, "changed": changed, "note": note[:300]},
        )
    return row


def creditor_packs_set(*, creditor: Creditor, pack_ids: Sequence[str], actor: Any) -> list[str]:
    """Choose the packs a creditor's cases are checked against (at least one, known ids)."""
    chosen = sorted(set(pack_ids))
    unknown = [pack_id for pack_id in chosen if pack_id not in PACKS]
    if not chosen or unknown:
        raise PackParamsRefused([("packs", "unknown_pack" if unknown else "empty")])
    with transaction.atomic():
        before = sorted(CreditorPolicyPack.objects.filter(creditor=creditor).values_list("pack", flat=True))
        CreditorPolicyPack.objects.filter(creditor=creditor).exclude(pack__in=chosen).delete()
        for pack_id in chosen:
            CreditorPolicyPack.objects.get_or_create(creditor=creditor, pack=pack_id)
        event_record(
            kind="compliance.creditor_packs_set",
            subject=creditor,
            actor=actor,
            data={"before": before, "after": chosen},
        )
    return chosen
