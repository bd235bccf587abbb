"""Field visits (外访): planning, recording, cancelling, and the evidence attached to them.

A visit is planned on a case at one of the customer's addresses with at least two named
staff and a recording device (seed 000 §8(三): "每次上门催收不应少于2人 … 用照相机、录音笔等
工具记录"; seed 001: visits at most once a week and by at most two people for protected
customers). The compliance guard is asked when the visit is planned (at its planned
time) and again when it is recorded (at the time it really happened, through
`activity_log`, which also screens the notes). Every change writes an event in the same
transaction: `visit.planned`, `visit.recorded`, `visit.cancelled`, `visit.attachment_added`
(core events with the visit as subject); a refused plan writes the case's CONTACT_DENIED
event next to the stored decision, as a refused activity does.

Who may be a visitor: active staff who work cases in person — field collectors, and also
collectors and team leaders (seed 000 §8(三): the customer's own account manager takes part
in principle). The same roles as the guard's check endpoint (`compliance.api.FIELD_STAFF_ROLES`).
Agency users are not visitors here: an agency does its own visits under its own records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, User
from arrears.cases.models import Case, CaseEvent, CaseEventKind, CaseStatus, Direction
from arrears.cases.models import Channel as ActivityChannel
from arrears.cases.services import ContactRefused, activity_log, user_can_work
from arrears.comms.models import AttachmentKind, Visit, VisitAttachment, VisitState
from arrears.compliance.inputs import Visit as GuardVisit
from arrears.compliance.messages import reason_text
from arrears.compliance.models import Decision, DecisionPurpose
from arrears.compliance.selectors import guard_reads
from arrears.compliance.services import guard_check
from arrears.core.services import event_record
from arrears.core.zones import zone_or_default
from arrears.portfolio.models import ContactPoint, Customer

# Who may go on a visit (see the module's docstring).
FIELD_STAFF_ROLES = frozenset({Role.FIELD_COLLECTOR, Role.COLLECTOR, Role.TEAM_LEADER})
# Who may record or cancel any visit, besides its visitors.
VISIT_MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
PURPOSE_MAX = 300
OUTCOME_MAX = 500
DEVICE_MAX = 100
CANCEL_REASON_MAX = 300
# How far ahead a visit may be planned: the guard judges a plan by the calendar and the
# customer's facts of its day, which drift the further out it is.
PLAN_AHEAD_MAX = dt.timedelta(days=90)


class VisitRefused(ValueError):
    """Bad input or a state that does not allow the change; `message` is translated."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class VisitDenied(Exception):
    """The guard refused the planned visit; the decision is stored, no visit is written."""

    def __init__(self, decision: Decision) -> None:
        result = decision.result or {}
        self.decision = decision
        self.reasons: list[str] = []
        for item in result.get("violations") or ():
            text = reason_text(str(item.get("message", "")), item.get("parameters") or {})
            if text not in self.reasons:  # two packs often refuse in the same words
                self.reasons.append(text)
        self.rules: list[str] = sorted({str(item.get("rule", "")) for item in result.get("violations") or ()})
        next_allowed = decision.next_allowed_at
        if isinstance(next_allowed, str):
            next_allowed = dt.datetime.fromisoformat(next_allowed)
        self.next_allowed_at: dt.datetime | None = next_allowed
        super().__init__("; ".join(self.reasons) or "visit denied by the compliance guard")


def is_field_staff(user: Any) -> bool:
    return isinstance(user, User) and user.is_active and user.role in FIELD_STAFF_ROLES


def user_is_visitor(user: Any, visit: Visit) -> bool:
    return isinstance(user, User) and user.is_active and visit.visitors.filter(pk=user.pk).exists()


def user_can_plan_visit(user: Any, case: Case) -> bool:
    """Whoever may work the case may plan a visit on it (scope is the caller's selector's)."""
    return user_can_work(user, case)


def user_can_record_visit(user: Any, visit: Visit) -> bool:
    """A visit is recorded by one of its visitors, or by a supervisor (or admin)."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return user.role in VISIT_MANAGERS or user_is_visitor(user, visit)


def user_can_cancel_visit(user: Any, visit: Visit) -> bool:
    return user_can_record_visit(user, visit) or user_can_work(user, visit.case)


def user_can_attach(user: Any, visit: Visit) -> bool:
    """Photos and recordings come from the visitors, or whoever works the case or manages visits."""
    return user_can_record_visit(user, visit) or user_can_work(user, visit.case)


def _week_bounds(moment: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The Monday–Sunday local week of `moment` (the week rule H4 counts in)."""
    day = moment.astimezone(zone).date()
    start = dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(0), zone)
    return start, start + dt.timedelta(days=7)


def _planned_visits_as_history(*, case: Case, address: ContactPoint, at: dt.datetime) -> list[dict[str, Any]]:
    """The customer's other planned (not yet recorded) visits in the week of `at`, shaped as
    the guard's history rows. The guard counts a protected customer's visits from logged
    activities only; a visit planned for Thursday is not an activity yet, so without this a
    second visit could be planned for Friday of the same week. Only the weekly visit count
    reads visit rows (the call counts filter on channel call)."""
    week_start, week_end = _week_bounds(at, zone_or_default(case.customer.time_zone))
    planned = Visit.objects.filter(
        case__customer_id=case.customer_id,
        state=VisitState.PLANNED,
        planned_at__gte=week_start,
        planned_at__lt=week_end,
    ).values_list("case_id", "address_id", "planned_at")
    return [
        {
            "case_id": case_id,
            "contact_point_id": address_id,
            "channel": ActivityChannel.VISIT,
            "direction": Direction.OUTBOUND,
            "connected": False,
            "right_party": False,
            "started_at": planned_at,
        }
        for case_id, address_id, planned_at in planned
    ]


def _visitor_checks(visitors: Sequence[User]) -> list[User]:
    distinct: dict[int, User] = {}
    for person in visitors:
        if not isinstance(person, User) or person.pk is None:
            raise VisitRefused("visitors", _("外访人员必须是系统中登记的用户。"))
        distinct[person.pk] = person
    # Read again: the caller's instances may be stale (a user deactivated meanwhile).
    current = {person.pk: person for person in User.objects.filter(pk__in=list(distinct))}
    refused = [
        (current.get(pk) or person).get_full_name() or person.username
        for pk, person in distinct.items()
        if not is_field_staff(current.get(pk))
    ]
    if refused:
        raise VisitRefused(
            "visitors",
            _("以下人员不能外访（须为在职的外访员、催收员或组长）：{names}").format(names="、".join(refused)),
        )
    return [current[pk] for pk in distinct]


def visit_plan(
    *,
    case: Case,
    address: ContactPoint,
    planned_at: dt.datetime,
    purpose: str,
    visitors: Sequence[User],
    recording_device: str,
    actor: Any,
    now: dt.datetime | None = None,
) -> Visit:
    """Plan a visit after asking the guard at `planned_at`.

    Invariants: the address is an address of the case's customer; the visitors are distinct
    active field staff, as many as the packs require (H14/C6, judged by the guard); a
    recording device is named. A denial stores the decision and a
    CONTACT_DENIED case event (committed), writes no visit and raises `VisitDenied`. Not
    idempotent: each call that passes plans one more visit. For a protected customer the
    customer's row is locked while the weekly cap is judged, so two plans for one week
    cannot both pass.
    """
    now = now or timezone.now()
    if planned_at is None or planned_at.tzinfo is None or planned_at.utcoffset() is None:
        raise VisitRefused("planned_at", _("外访时间必须带时区。"))
    if planned_at <= now:
        raise VisitRefused("planned_at", _("外访时间必须在将来。"))
    if planned_at > now + PLAN_AHEAD_MAX:
        raise VisitRefused("planned_at", _("外访最多提前 {days} 天安排。").format(days=PLAN_AHEAD_MAX.days))
    if address is None or address.customer_id != case.customer_id or address.kind != "address":
        raise VisitRefused("address", _("请选择本案客户的一个地址。"))
    purpose = (purpose or "").strip()
    if not purpose:
        raise VisitRefused("purpose", _("请填写外访目的。"))
    if len(purpose) > PURPOSE_MAX:
        raise VisitRefused("purpose", _("外访目的最多 {n} 字。").format(n=PURPOSE_MAX))
    recording_device = (recording_device or "").strip()
    if not recording_device:
        raise VisitRefused("recording_device", _("请填写录音录像设备编号（外访须全程录音录像）。"))
    if len(recording_device) > DEVICE_MAX:
        raise VisitRefused("recording_device", _("设备编号最多 {n} 字符。").format(n=DEVICE_MAX))
    # How many must go is the packs' parameter (H14/C6 min_visitors): the guard judges the count.
    crew = _visitor_checks(visitors)
    if case.status == CaseStatus.CLOSED:
        raise VisitRefused("case", _("案件已结案，不能再安排外访。"))

    with transaction.atomic():
        # Plans for one debtor are judged one at a time (the weekly cap of a protected customer).
        list(Customer.objects.select_for_update().filter(pk=case.customer_id).values_list("pk", flat=True))
        reads = guard_reads(case=case, at=planned_at)
        if case.customer.protected_reason:
            extra = _planned_visits_as_history(case=case, address=address, at=planned_at)
            if extra:
                reads = dataclasses.replace(reads, history=[*reads.history, *extra])
        decision = guard_check(
            case=case,
            channel=ActivityChannel.VISIT,
            contact_point=address,
            at=planned_at,
            purpose=DecisionPurpose.CHECK,
            asked_by=actor,
            visit=GuardVisit(visitors=len(crew), recording_device=True),
            reads=reads,
        )
        if not decision.allowed:
            CaseEvent.objects.create(
                case=case,
                kind=CaseEventKind.CONTACT_DENIED,
                actor=actor if getattr(actor, "pk", None) else None,
                to_value=",".join(sorted({v["rule"] for v in decision.result["violations"]}))[:100],
                data={
                    "decision_id": decision.pk,
                    "channel": ActivityChannel.VISIT,
                    "contact_point_id": address.pk,
                    "at": planned_at.isoformat(),
                    "visit_planned": True,
                },
            )
            visit = None
        else:
            visit = Visit.objects.create(
                case=case,
                address=address,
                planned_at=planned_at,
                purpose=purpose,
                recording_device=recording_device,
                state=VisitState.PLANNED,
                decision=decision,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            visit.visitors.set(crew)
            event_record(
                kind="visit.planned",
                subject=visit,
                actor=actor,
                data={
                    "case_id": case.pk,
                    "address_id": address.pk,
                    "planned_at": planned_at.isoformat(),
                    "visitor_ids": sorted(person.pk for person in crew),
                    "recording_device": recording_device,
                    "decision_id": decision.pk,
                },
            )
    if visit is None:
        raise VisitDenied(decision)
    return visit


def visit_record(
    *,
    visit: Visit,
    actor: Any,
    started_at: dt.datetime,
    action_code: str,
    outcome: str,
    notes: str,
    recording_ref: str,
    connected: bool,
    right_party: bool,
    now: dt.datetime | None = None,
) -> Visit:
    """Record what happened on a planned visit: one visit activity (channel visit, the
    visitors' count, the recording reference) through `activity_log`, which asks the guard
    at `started_at` and screens the outcome and notes; then the visit is done.

    A refusal (`WorkRefused`, `ContactRefused` from cases.services) leaves the visit planned
    (the refused decision and its case event stay, as for any refused contact). The visit's
    row is locked throughout, so two visitors recording at once log one activity; a second
    attempt finds the visit done and is refused.
    """
    outcome = (outcome or "").strip()
    notes = (notes or "").strip()
    if not user_can_record_visit(actor, visit):
        raise VisitRefused("actor", _("只有本次外访人员或主管可以登记外访结果。"))
    if not outcome:
        raise VisitRefused("outcome", _("请填写外访结果。"))
    if len(outcome) > OUTCOME_MAX:
        raise VisitRefused("outcome", _("外访结果最多 {n} 字。").format(n=OUTCOME_MAX))
    if not (recording_ref or "").strip():
        raise VisitRefused("recording_ref", _("请填写录音录像编号（外访须全程录音录像）。"))
    refused: ContactRefused | None = None
    with transaction.atomic():
        locked = (
            Visit.objects.select_for_update().select_related("case__customer", "address").get(pk=visit.pk)
        )
        if locked.state != VisitState.PLANNED:
            raise VisitRefused(
                "state",
                _("只有已计划的外访可以登记结果（当前：{state}）。").format(state=locked.get_state_display()),
            )
        visitors = locked.visitors.count()
        # The outcome is free text the collector wrote, like the notes: it is screened with them
        # and kept in the case's history with the activity.
        text = outcome if not notes else f"{outcome}\n\n{notes}"
        try:
            activity = activity_log(
                case=locked.case,
                actor=actor,
                channel=ActivityChannel.VISIT,
                contact_point=locked.address,
                direction=Direction.OUTBOUND,
                started_at=started_at,
                connected=connected,
                right_party=right_party,
                action_code=action_code,
                notes=text,
                recording_ref=recording_ref,
                visitors=visitors,
                now=now,
            )
        except ContactRefused as denial:
            # activity_log's own block has already written the decision and the case event;
            # they must commit with this transaction, so the refusal is raised after it.
            refused = denial
        else:
            recorded_at = now or timezone.now()
            locked.state = VisitState.DONE
            locked.outcome = outcome
            locked.recorded_at = recorded_at
            locked.activity = activity
            locked.save(update_fields=["state", "outcome", "recorded_at", "activity"])
            event_record(
                kind="visit.recorded",
                subject=locked,
                actor=actor,
                data={
                    "case_id": locked.case_id,
                    "activity_id": activity.pk,
                    "started_at": started_at.isoformat(),
                    "action_code": activity.action_code.code,
                    "recording_ref": activity.recording_ref,
                    "visitors": visitors,
                },
            )
    if refused is not None:
        raise refused
    for field in ("state", "outcome", "recorded_at", "activity", "activity_id"):
        setattr(visit, field, getattr(locked, field))
    return visit


@transaction.atomic
def visit_cancel(*, visit: Visit, actor: Any, reason: str) -> Visit:
    """Cancel a planned visit (a reason is required). Safe to re-run: a cancelled visit is refused."""
    reason = (reason or "").strip()
    if not user_can_cancel_visit(actor, visit):
        raise VisitRefused("actor", _("您不能取消这次外访。"))
    if not reason:
        raise VisitRefused("reason", _("请填写取消原因。"))
    if len(reason) > CANCEL_REASON_MAX:
        raise VisitRefused("reason", _("取消原因最多 {n} 字。").format(n=CANCEL_REASON_MAX))
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.state != VisitState.PLANNED:
        raise VisitRefused(
            "state", _("只有已计划的外访可以取消（当前：{state}）。").format(state=locked.get_state_display())
        )
    locked.state = VisitState.CANCELLED
    locked.save(update_fields=["state"])
    event_record(
        kind="visit.cancelled",
        subject=locked,
        actor=actor,
        data={"case_id": locked.case_id, "reason": reason},
    )
    visit.state = locked.state
    return visit


# --- attachments ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SniffedType:
    kind: str  # AttachmentKind
    content_type: str
    extensions: tuple[str, ...]
    label: str


JPEG = SniffedType(AttachmentKind.PHOTO, "image/jpeg", (".jpg", ".jpeg"), "JPEG")
PNG = SniffedType(AttachmentKind.PHOTO, "image/png", (".png",), "PNG")
HEIC = SniffedType(AttachmentKind.PHOTO, "image/heic", (".heic", ".heif"), "HEIC")
WEBP = SniffedType(AttachmentKind.PHOTO, "image/webp", (".webp",), "WebP")
MP3 = SniffedType(AttachmentKind.AUDIO, "audio/mpeg", (".mp3",), "MP3")
M4A = SniffedType(AttachmentKind.AUDIO, "audio/mp4", (".m4a",), "M4A")
AAC = SniffedType(AttachmentKind.AUDIO, "audio/aac", (".aac",), "AAC")
WAV = SniffedType(AttachmentKind.AUDIO, "audio/wav", (".wav",), "WAV")
AMR = SniffedType(AttachmentKind.AUDIO, "audio/amr", (".amr",), "AMR")
ACCEPTED_TYPES = (JPEG, PNG, HEIC, WEBP, MP3, M4A, AAC, WAV, AMR)
ACCEPTED_EXTENSIONS = tuple(extension for kind in ACCEPTED_TYPES for extension in kind.extensions)

# HEIF brands a phone camera writes (iPhones: heic; burst/sequence and HEVC variants).
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_M4A_BRANDS = frozenset({b"M4A "})
# What the head of a file says about executables and archives (which may hide them).
_EXECUTABLE_MAGIC = (
    (b"MZ", "Windows"),
    (b"\x7fELF", "ELF"),
    (b"\xfe\xed\xfa\xce", "Mach-O"),
    (b"\xfe\xed\xfa\xcf", "Mach-O"),
    (b"\xce\xfa\xed\xfe", "Mach-O"),
    (b"\xcf\xfa\xed\xfe", "Mach-O"),
    (b"\xca\xfe\xba\xbe", "Mach-O/Java"),
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"#!", "script"),
)


def sniff(head: bytes) -> SniffedType | None:
    """The type the first bytes of a file prove, or None. Names and browsers' content types
    are not looked at: both are whatever the uploader says."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return HEIC
        if brand in _M4A_BRANDS:
            return M4A
        return None
    if len(head) >= 12 and head.startswith(b"RIFF"):
        if head[8:12] == b"WEBP":
            return WEBP
        if head[8:12] == b"WAVE":
            return WAV
        return None
    if head.startswith(b"#!AMR"):  # "#!AMR\n" (narrow band) or "#!AMR-WB\n"
        return AMR
    if head.startswith(b"ID3"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF:
        second = head[1]
        # ADTS (raw AAC): sync 0xFFF, layer 00.
        if second & 0xF6 == 0xF0:
            return AAC
        # An MPEG audio frame: 11 sync bits, a version that is not "reserved" (01) and a
        # layer that is not "reserved" (00).
        if second & 0xE0 == 0xE0 and second & 0x18 != 0x08 and second & 0x06 != 0:
            return MP3
    return None


def _executable(head: bytes) -> str | None:
    for magic, name in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return name
    return None


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} B"


def _safe_original_name(name: str) -> str:
    """The uploader's file name without any directory part, for display only (never a path)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return (base or "upload")[:200]


def visit_attachment_add(*, visit: Visit, uploaded_file: UploadedFile, actor: Any) -> VisitAttachment:
    """Attach a photo or an audio recording to a visit.

    The type is decided by the file's first bytes (magic numbers), and the name's extension
    must agree with it; executables, archives and scripts are refused whatever their name.
    The file is stored under ``visits/YYYY/MM/`` in the default storage with a random name
    (MEDIA_ROOT on disk by default; an S3-compatible bucket with ARREARS_MEDIA_STORAGE=s3); the original name is
    kept for display and download. A refusal stores nothing. Not idempotent: the same file
    uploaded twice is attached twice (same SHA-256).
    """
    original_name = _safe_original_name(uploaded_file.name or "")
    if not user_can_attach(actor, visit):
        raise VisitRefused("actor", _("您不能为这次外访上传附件。"))
    if visit.state == VisitState.CANCELLED:
        raise VisitRefused("file", _("外访已取消，不能再上传附件。"))
    size = uploaded_file.size or 0
    limit = int(settings.ARREARS_ATTACHMENT_MAX_BYTES)
    if size <= 0:
        raise VisitRefused("file", _("文件 {name} 是空文件。").format(name=original_name))
    if size > limit:
        raise VisitRefused(
            "file",
            _("文件 {name} 太大（{size}），上限 {limit}。").format(
                name=original_name, size=_size_text(size), limit=_size_text(limit)
            ),
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(64)
    uploaded_file.seek(0)
    executable = _executable(head) if not head.startswith(b"#!AMR") else None
    if executable is not None:
        raise VisitRefused(
            "file",
            _("文件 {name} 是可执行文件或压缩包（{kind}），不是照片或录音，已拒绝。").format(
                name=original_name, kind=executable
            ),
        )
    sniffed = sniff(head)
    if sniffed is None:
        raise VisitRefused(
            "file",
            _(
                "文件 {name} 不是可接受的照片或录音（照片：JPEG、PNG、HEIC、WebP；录音：MP3、M4A、AAC、WAV、AMR）。"
            ).format(name=original_name),
        )
    extension = os.path.splitext(original_name)[1].lower()
    if extension not in sniffed.extensions:
        raise VisitRefused(
            "file",
            _("文件 {name} 的内容是 {kind}，但扩展名是“{extension}”；请使用 {expected}。").format(
                name=original_name,
                kind=sniffed.label,
                extension=extension or _("无"),
                expected=" / ".join(sniffed.extensions),
            ),
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    attachment = VisitAttachment(
        visit=visit,
        kind=sniffed.kind,
        original_name=original_name,
        content_type=sniffed.content_type,
        size_bytes=size,
        sha256=digest.hexdigest(),
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    # The stored name is random: the uploader's name never becomes a path.
    attachment.file.save(f"{uuid.uuid4().hex}{sniffed.extensions[0]}", uploaded_file, save=False)
    try:
        with transaction.atomic():
            attachment.save()
            event_record(
                kind="visit.attachment_added",
                subject=visit,
                actor=actor,
                data={
                    "attachment_id": attachment.pk,
                    "case_id": visit.case_id,
                    "kind": attachment.kind,
                    "content_type": attachment.content_type,
                    "size_bytes": size,
                    "sha256": attachment.sha256,
                    "name": original_name,
                },
            )
    except BaseException:
        # The row was not written: the stored file would be an orphan.
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment
