"""Writes of message templates: create, save a version, approve, reject; the defaults.

Invariants:

* A version's text is never changed: editing saves a new draft version (number = the
  template's highest + 1). Approving or rejecting changes only a draft's status and review
  fields; approving also retires the version it replaces.
* A text is refused, with nothing written, when its placeholders are wrong (unknown
  variable, full-number variable, malformed), when the screening finds anything
  (`arrears.compliance.screening.template_screen`, the strictest case), when an SMS can be
  longer than the provider accepts, and when an email or letter has no subject (title).
* Approval is four-eyes: a supervisor, compliance officer or admin who did not write the
  version; the text is screened again then (the packs may have changed since it was saved).
* Every change writes an event (`arrears.core.services.event_record`) in its transaction.

Refusals raise `TemplateRefused` with (field, message) pairs in the active language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role
from arrears.comms import rendering
from arrears.comms.models import (
    Language,
    MessageChannel,
    Template,
    TemplateClass,
    TemplateVersion,
    VersionStatus,
)
from arrears.compliance.screening import Screening, ScreeningFinding, template_screen
from arrears.core.services import event_record

# Who may write templates and drafts, and who may approve or reject drafts.
TEMPLATE_EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER})
TEMPLATE_APPROVERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER})
CODE_PATTERN = re.compile(r"^[A-Z0-9_]{1,40}$")
PROVIDER_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,64}$")
SUBJECT_CHANNELS = frozenset({MessageChannel.EMAIL, MessageChannel.LETTER})
SYSTEM_REVIEW_NOTE = "catalogue default"

# Sample values for previews of English templates (the variables' examples are Chinese).
_ENGLISH_SAMPLES = {
    "customer_name": "Zhang Wei",
    "due_date": "2026-12-01",
    "today": "2026-11-23",
    "creditor_name": "Example Bank",
    "product_name": "Consumer loan",
}


class TemplateRefused(ValueError):
    """What is wrong, as (field, message) pairs in the reader's language; nothing was written.

    `screening` is the screening's result when the text was screened (for highlighting).
    """

    def __init__(self, problems: Sequence[tuple[str, str]], *, screening: Screening | None = None) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = list(problems)
        self.screening = screening


class TemplateNotAllowed(PermissionDenied):
    """The actor's role may not do this (a view answers 403)."""


def _role(actor: Any) -> str | None:
    return getattr(actor, "role", None) if getattr(actor, "pk", None) else None


def _require_editor(actor: Any) -> None:
    # actor None is the system (the catalogue defaults, a data migration).
    if actor is not None and _role(actor) not in TEMPLATE_EDITORS:
        raise TemplateNotAllowed(_("只有主管、合规专员或管理员可以编辑模板。"))


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


# --- checks -------------------------------------------------------------------------------------


def _position(finding_start: int) -> str:
    return _("第 {n} 个字符").format(n=finding_start + 1)


def finding_message(finding: ScreeningFinding, *, template_class: str) -> str:
    """One screening finding as a sentence for the editor, with the words and their positions."""
    text = _("{rule}：{reason}").format(rule=finding.rule, reason=finding.text)
    if finding.words:
        shown = "、".join(f"“{item.word}”（{_position(item.start)}）" for item in finding.words)
        text += _("。位置：{words}").format(words=shown)
    if finding.rule == "H11" and template_class != TemplateClass.LEGAL_NOTICE:
        text += _("。只有法务通知类模板可以使用经审批的法律措辞。")
    if finding.rule == "U5":
        text += _("。请加上退订说明，例如：{phrases}").format(phrases="“回复TD退订”、“Reply STOP to opt out”")
    if finding.rule == "H7":
        text += _("。转告类模板只能请对方转告客户回电，不得出现欠款、逾期、金额、账号等信息。")
    return text


def _placeholder(name: str) -> str:
    return "${" + name + "}"


def _text_messages(field: str, text: str) -> list[tuple[str, str]]:
    messages = []
    known = "、".join(_placeholder(name) for name in rendering.VARIABLES)
    for problem in rendering.text_problems(text):
        if problem.code == "empty":
            messages.append((field, _("内容不能为空。")))
        elif problem.code == "unknown_variable":
            message = _("未知变量 {variable}。可用的变量：{known}").format(
                variable=_placeholder(problem.part), known=known
            )
            messages.append((field, message))
        elif problem.code == "full_number_variable" and problem.hint:
            message = _(
                "变量 {variable} 会显示完整号码，不允许使用；请改用 {masked}（只显示后4位）。"
            ).format(variable=_placeholder(problem.part), masked=_placeholder(problem.hint))
            messages.append((field, message))
        elif problem.code == "full_number_variable":
            message = _("变量 {variable} 会显示完整号码，不允许使用。").format(
                variable=_placeholder(problem.part)
            )
            messages.append((field, message))
        else:
            message = _("变量格式有误：“{part}”。变量的写法是 {example}。").format(
                part=problem.part, example=_placeholder("customer_name")
            )
            messages.append((field, message))
    return messages


class Checked(NamedTuple):
    problems: list[tuple[str, str]]
    screening: Screening | None
    longest: int


def text_check(
    *, channel: str, template_class: str, subject: str, body: str, provider_template_code: str = ""
) -> Checked:
    """Everything that would refuse this text, without writing anything (the live preview
    shows the same list the save would refuse with)."""
    problems: list[tuple[str, str]] = []
    problems += _text_messages("body", body)
    if subject.strip():
        problems += _text_messages("subject", subject)
    elif channel in SUBJECT_CHANNELS:
        if channel == MessageChannel.EMAIL:
            problems.append(("subject", _("邮件必须有主题。")))
        else:
            problems.append(("subject", _("信函必须有标题。")))
    longest = rendering.longest_render(body)
    if channel == MessageChannel.SMS:
        limit = settings.ARREARS_SMS_MAX_CHARS
        if longest > limit:
            problems.append(
                (
                    "body",
                    _(
                        "短信最长可能有 {count} 个字符（变量按最长值计算），超过服务商上限 {limit} 个字符。"
                    ).format(count=longest, limit=limit),
                )
            )
        if not provider_template_code:
            # The SMS provider sends registered templates only (the HTTP gateway refuses a
            # message without one): an approved SMS template without it could never go out.
            problems.append(("provider_template_code", _("短信模板须填写在短信服务商处登记的模板编号。")))
        elif not PROVIDER_CODE_PATTERN.match(provider_template_code):
            problems.append(("provider_template_code", _("服务商模板编号只能包含字母、数字和下划线。")))
    screening = None
    if body.strip():
        screening = template_screen(
            body=body, subject=subject, channel=channel, template_class=template_class
        )
        problems += [
            (finding.field, finding_message(finding, template_class=template_class))
            for finding in screening.findings
        ]
    return Checked(problems=problems, screening=screening, longest=longest)


# --- writes ---------------------------------------------------------------------------------------


def template_create(
    *, code: str, language: str, name: str, channel: str, template_class: str, actor: Any
) -> Template:
    """A new template without text (its first version is saved next). Code: A–Z, 0–9 and _,
    unique per language."""
    _require_editor(actor)
    code = code.strip()
    name = name.strip()
    problems: list[tuple[str, str]] = []
    if not CODE_PATTERN.match(code):
        problems.append(("code", _("编号只能包含大写字母、数字和下划线，最长 40 个字符。")))
    if language not in Language.values:
        problems.append(("language", _("未知语言。")))
    if not name or len(name) > 100:
        problems.append(("name", _("名称不能为空，最长 100 个字符。")))
    if channel not in MessageChannel.values:
        problems.append(("channel", _("未知渠道。")))
    if template_class not in TemplateClass.values:
        problems.append(("template_class", _("未知模板类别。")))
    if not problems and Template.objects.filter(code=code, language=language).exists():
        problems.append(("code", _("该语言已有编号为 {code} 的模板。").format(code=code)))
    if problems:
        raise TemplateRefused(problems)
    try:
        with transaction.atomic():
            template = Template.objects.create(
                code=code,
                language=language,
                name=name,
                channel=channel,
                template_class=template_class,
                created_by=_actor(actor),
            )
            event_record(
                kind="comms.template_created",
                subject=template,
                actor=actor,
                data={"code": code, "language": language, "channel": channel, "class": template_class},
            )
    except IntegrityError as error:  # a simultaneous create of the same code and language
        raise TemplateRefused([("code", _("该语言已有编号为 {code} 的模板。").format(code=code))]) from error
    return template


def template_version_save(
    *, template: Template, subject: str, body: str, provider_template_code: str, actor: Any
) -> TemplateVersion:
    """Save a new draft version of the template's text, or refuse it (nothing written).

    SMS templates keep no subject, other channels no provider template code. The version
    stores the variables it uses and the screening's record (packs and their versions).
    """
    _require_editor(actor)
    return _version_save(
        template=template,
        subject=subject,
        body=body,
        provider_template_code=provider_template_code,
        actor=actor,
    )[0]


def _version_save(
    *, template: Template, subject: str, body: str, provider_template_code: str, actor: Any
) -> tuple[TemplateVersion, Checked]:
    subject = subject.strip() if template.channel in SUBJECT_CHANNELS else ""
    body = body.strip()
    provider_template_code = provider_template_code.strip() if template.channel == MessageChannel.SMS else ""
    checked = text_check(
        channel=template.channel,
        template_class=template.template_class,
        subject=subject,
        body=body,
        provider_template_code=provider_template_code,
    )
    if checked.problems:
        raise TemplateRefused(checked.problems, screening=checked.screening)
    assert checked.screening is not None
    with transaction.atomic():
        # Serialise savers of one template: a number is never taken twice.
        Template.objects.select_for_update().filter(pk=template.pk).exists()
        latest = TemplateVersion.objects.filter(template=template).aggregate(n=Max("number"))["n"] or 0
        version = TemplateVersion.objects.create(
            template=template,
            number=latest + 1,
            subject=subject,
            body=body,
            provider_template_code=provider_template_code,
            variables=rendering.variables_in(subject + "\n" + body),
            status=VersionStatus.DRAFT,
            screening={**checked.screening.as_record(), "longest_render": checked.longest},
            created_by=_actor(actor),
        )
        event_record(
            kind="comms.template_version_saved",
            subject=version,
            actor=actor,
            data={"template": template.code, "language": template.language, "number": version.number},
        )
    return version, checked


def _retire_and_approve(*, version: TemplateVersion, reviewer: Any, note: str, checked: Checked) -> list[int]:
    template = version.template
    retired = list(
        TemplateVersion.objects.filter(template=template, status=VersionStatus.APPROVED)
        .exclude(pk=version.pk)
        .values_list("pk", flat=True)
    )
    TemplateVersion.objects.filter(pk__in=retired).update(status=VersionStatus.RETIRED)
    version.status = VersionStatus.APPROVED
    version.reviewed_by = _actor(reviewer)
    version.reviewed_at = timezone.now()
    version.review_note = note[:300]
    assert checked.screening is not None
    version.screening = {**checked.screening.as_record(), "longest_render": checked.longest}
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "screening"])
    template.current_version = version
    template.save(update_fields=["current_version"])
    return retired


def _locked_draft(version: TemplateVersion) -> TemplateVersion:
    Template.objects.select_for_update().filter(pk=version.template_id).exists()
    locked = TemplateVersion.objects.select_for_update().select_related("template").get(pk=version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise TemplateRefused(
            [
                (
                    "version",
                    _("该版本的状态是“{status}”，不能再审批。").format(status=locked.get_status_display()),
                )
            ]
        )
    return locked


def _require_approver(*, version: TemplateVersion, actor: Any) -> None:
    if _role(actor) not in TEMPLATE_APPROVERS:
        raise TemplateNotAllowed(_("只有主管、合规专员或管理员可以审批模板。"))


def template_version_approve(*, version: TemplateVersion, actor: Any, note: str = "") -> TemplateVersion:
    """Approve a draft: it becomes the template's version in use and the one it replaces is
    retired. Four eyes: never by the version's author. The text is checked again first."""
    _require_approver(version=version, actor=actor)
    if version.created_by_id is not None and version.created_by_id == actor.pk:
        raise TemplateNotAllowed(_("不能审批自己编写的版本，请由另一位审批人审批。"))
    with transaction.atomic():
        locked = _locked_draft(version)
        template = locked.template
        checked = text_check(
            channel=template.channel,
            template_class=template.template_class,
            subject=locked.subject,
            body=locked.body,
            provider_template_code=locked.provider_template_code,
        )
        if checked.problems:
            raise TemplateRefused(checked.problems, screening=checked.screening)
        retired = _retire_and_approve(version=locked, reviewer=actor, note=note, checked=checked)
        event_record(
            kind="comms.template_version_approved",
            subject=locked,
            actor=actor,
            data={
                "template": template.code,
                "language": template.language,
                "number": locked.number,
                "retired": retired,
                "note": note[:300],
            },
        )
    return locked


def template_version_reject(*, version: TemplateVersion, actor: Any, note: str) -> TemplateVersion:
    """Reject a draft with a reason. Its author may withdraw it the same way."""
    _require_approver(version=version, actor=actor)
    note = note.strip()
    if not note:
        raise TemplateRefused([("note", _("驳回须填写原因。"))])
    with transaction.atomic():
        locked = _locked_draft(version)
        locked.status = VersionStatus.REJECTED
        locked.reviewed_by = _actor(actor)
        locked.reviewed_at = timezone.now()
        locked.review_note = note[:300]
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        event_record(
            kind="comms.template_version_rejected",
            subject=locked,
            actor=actor,
            data={
                "template": locked.template.code,
                "language": locked.template.language,
                "number": locked.number,
                "note": note[:300],
            },
        )
    return locked


# --- preview ----------------------------------------------------------------------------------


def preview_values(language: str) -> dict[str, str]:
    values = rendering.sample_values()
    if language == Language.EN:
        values.update(_ENGLISH_SAMPLES)
    return values


def template_preview(
    *,
    source: Template | TemplateVersion | str,
    language: str | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """The text rendered with sample values (and `values` over them). A template shows its
    version in use, else its newest version. An unknown variable stays as written."""
    if isinstance(source, Template):
        version = source.current_version or source.versions.order_by("-number").first()
        text = version.body if version is not None else ""
        language = language or source.language
    elif isinstance(source, TemplateVersion):
        text = source.body
        language = language or source.template.language
    else:
        text = source
    chosen = {**preview_values(language or Language.ZH_HANS), **(values or {})}
    for name in rendering.variables_in(text):
        chosen.setdefault(name, f"${{{name}}}")
    return rendering.render(text, chosen)


# --- the catalogue defaults ----------------------------------------------------------------------


class DefaultTemplate(NamedTuple):
    code: str
    language: str
    name: str
    channel: str
    template_class: str
    subject: str
    body: str
    provider_template_code: str = ""


_OPT_OUT_ZH = "回复TD退订"
_OPT_OUT_EN = "Reply STOP to opt out."
_EMAIL_OPT_OUT_ZH = "如您不希望再收到此类邮件，请直接回复“退订”。"
_EMAIL_OPT_OUT_EN = "If you no longer wish to receive these emails, reply UNSUBSCRIBE."


def _sms(code: str, name_zh: str, name_en: str, cls: str, zh: str, en: str) -> list[DefaultTemplate]:
    provider = f"SMS_{code}"
    return [
        DefaultTemplate(
            code, Language.ZH_HANS, name_zh, MessageChannel.SMS, cls, "", f"{zh}{_OPT_OUT_ZH}", provider
        ),
        DefaultTemplate(
            code, Language.EN, name_en, MessageChannel.SMS, cls, "", f"{en} {_OPT_OUT_EN}", provider
        ),
    ]


DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = (
    *_sms(
        "REMIND_T3",
        "到期前3天还款提醒",
        "Reminder 3 days before due",
        TemplateClass.REMINDER,
        "尊敬的${customer_name}，您尾号${account_last4}的账户本期应还${instalment_amount}元，"
        "将于${due_date}到期，请提前存足款项按时还款。如已还款请忽略。咨询电话${hotline}。",
        "Dear ${customer_name}, the instalment of ${instalment_amount} yuan on your account ending "
        "${account_last4} is due on ${due_date}. Please make sure the funds are in place. "
        "If you have already paid, please ignore this message. Questions: ${hotline}.",
    ),
    *_sms(
        "REMIND_T0",
        "到期日还款提醒",
        "Reminder on the due date",
        TemplateClass.REMINDER,
        "尊敬的${customer_name}，您尾号${account_last4}的账户本期应还${instalment_amount}元"
        "今日（${due_date}）到期，请于今天按时还款。如已还款请忽略。咨询电话${hotline}。",
        "Dear ${customer_name}, the instalment of ${instalment_amount} yuan on your account ending "
        "${account_last4} is due today (${due_date}). Please pay today. If you have already paid, "
        "please ignore this message. Questions: ${hotline}.",
    ),
    *_sms(
        "COLLECT_D3",
        "逾期第3天催收短信",
        "Collection SMS, day 3 past due",
        TemplateClass.COLLECTION,
        "尊敬的${customer_name}，您尾号${account_last4}的账户已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元，请尽快还款。如已还款请忽略，如有疑问请致电${hotline}。",
        "Dear ${customer_name}, your account ending ${account_last4} is ${days_past_due} days past due "
        "with ${overdue_amount} yuan outstanding. Please pay as soon as possible. If you have already "
        "paid, please ignore this message. Questions: ${hotline}.",
    ),
    *_sms(
        "COLLECT_D5",
        "逾期第5天催收短信",
        "Collection SMS, day 5 past due",
        TemplateClass.COLLECTION,
        "尊敬的${customer_name}，您尾号${account_last4}的账户已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元仍未归还，请尽快处理。如还款有困难，请致电${hotline}与我们沟通还款安排。",
        "Dear ${customer_name}, your account ending ${account_last4} is ${days_past_due} days past due; "
        "${overdue_amount} yuan is still unpaid. Please deal with it promptly. If you have difficulty "
        "paying, call us at ${hotline} to discuss a repayment plan.",
    ),
    *_sms(
        "COLLECT_D10",
        "逾期第10天催收短信",
        "Collection SMS, day 10 past due",
        TemplateClass.COLLECTION,
        "尊敬的${customer_name}，您尾号${account_last4}的账户已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元。逾期期间将按合同约定计收逾期费用，并按规定报送信用信息，"
        "请尽快还款或致电${hotline}。",
        "Dear ${customer_name}, your account ending ${account_last4} is ${days_past_due} days past due "
        "with ${overdue_amount} yuan overdue. Late charges apply under your contract and the account "
        "is reported to the credit bureau as required. Please pay now or call ${hotline}.",
    ),
    *_sms(
        "COLLECT_D15",
        "逾期第15天催收短信",
        "Collection SMS, day 15 past due",
        TemplateClass.COLLECTION,
        "尊敬的${customer_name}，您尾号${account_last4}的账户已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元。请您重视，于3日内还款或致电${hotline}与我们联系。",
        "Dear ${customer_name}, your account ending ${account_last4} is ${days_past_due} days past due "
        "with ${overdue_amount} yuan overdue. Please treat this as urgent and pay within 3 days "
        "or call us at ${hotline}.",
    ),
    *_sms(
        "COLLECT_D30",
        "逾期第30天催收短信",
        "Collection SMS, day 30 past due",
        TemplateClass.COLLECTION,
        "尊敬的${customer_name}，您尾号${account_last4}的账户已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元仍未归还。${creditor_name}将按合同约定继续催收，并保留依法追偿的权利。"
        "请立即还款或致电${hotline}。",
        "Dear ${customer_name}, your account ending ${account_last4} is ${days_past_due} days past due "
        "and ${overdue_amount} yuan is still unpaid. ${creditor_name} will keep pursuing it under the "
        "contract and reserves its legal rights. Please pay now or call ${hotline}.",
    ),
    *_sms(
        "PASS_MESSAGE",
        "第三方转告短信",
        "Message for a third party",
        TemplateClass.PASS_MESSAGE,
        "您好，我们有重要事宜需与${customer_name}联系，麻烦您转告其尽快回电${hotline}，谢谢。",
        "Hello, we have an important matter to discuss with ${customer_name}. Please kindly ask them "
        "to call us back at ${hotline}. Thank you.",
    ),
    DefaultTemplate(
        "COLLECT_EMAIL",
        Language.ZH_HANS,
        "催收通知邮件",
        MessageChannel.EMAIL,
        TemplateClass.COLLECTION,
        "${creditor_name}：关于您尾号${account_last4}账户的逾期还款通知",
        "尊敬的${customer_name}：\n\n"
        "您在${creditor_name}的${product_name}账户（尾号${account_last4}）已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元，剩余欠款${outstanding_amount}元。\n\n"
        "请您尽快还款。如您已还款，请忽略本邮件；如对金额有疑问或还款有困难，"
        "请致电${hotline}与我们联系，我们将为您核实并沟通还款安排。\n\n"
        f"{_EMAIL_OPT_OUT_ZH}\n\n"
        "${creditor_name}\n${today}",
    ),
    DefaultTemplate(
        "COLLECT_EMAIL",
        Language.EN,
        "Collection email",
        MessageChannel.EMAIL,
        TemplateClass.COLLECTION,
        "${creditor_name}: your account ending ${account_last4} is past due",
        "Dear ${customer_name},\n\n"
        "Your ${product_name} account with ${creditor_name} (ending ${account_last4}) is "
        "${days_past_due} days past due, with ${overdue_amount} yuan overdue and ${outstanding_amount} "
        "yuan outstanding in total.\n\n"
        "Please pay as soon as possible. If you have already paid, please ignore this email. If you "
        "question the amount or have difficulty paying, call us at ${hotline}; we will check the "
        "account with you and discuss a repayment plan.\n\n"
        f"{_EMAIL_OPT_OUT_EN}\n\n"
        "${creditor_name}\n${today}",
    ),
    # Letters end with their last paragraph: the printed layout signs them (creditor and
    # date) and adds the hotline line (arrears/comms/letters.py).
    DefaultTemplate(
        "LETTER_NOTICE",
        Language.ZH_HANS,
        "催收通知函",
        MessageChannel.LETTER,
        TemplateClass.COLLECTION,
        "催收通知函",
        "尊敬的${customer_name}：\n\n"
        "您在${creditor_name}办理的${product_name}（账号尾号${account_last4}）截至${today}"
        "已逾期${days_past_due}天，逾期金额${overdue_amount}元，剩余欠款${outstanding_amount}元。\n\n"
        "按照您与${creditor_name}签订的合同，您应按期足额还款。请您在收到本函后尽快归还逾期款项。"
        "逾期期间将按合同约定计收逾期费用，并按规定报送信用信息。\n\n"
        "如您已还款，请忽略本函；如对金额有异议或还款确有困难，请致电${hotline}与我们联系，"
        "我们将为您核实账务并沟通还款安排。\n\n"
        "特此通知。",
    ),
    DefaultTemplate(
        "LETTER_NOTICE",
        Language.EN,
        "Collection letter",
        MessageChannel.LETTER,
        TemplateClass.COLLECTION,
        "Notice of overdue payment",
        "Dear ${customer_name},\n\n"
        "As of ${today}, your ${product_name} account with ${creditor_name} (ending ${account_last4}) "
        "is ${days_past_due} days past due, with ${overdue_amount} yuan overdue and "
        "${outstanding_amount} yuan outstanding in total.\n\n"
        "Under your contract with ${creditor_name} each instalment is due in full on its due date. "
        "Please pay the overdue amount as soon as you receive this letter. Late charges apply under "
        "the contract and the account is reported to the credit bureau as required.\n\n"
        "If you have already paid, please disregard this letter. If you question the amount or have "
        "difficulty paying, call us at ${hotline}; we will check the account with you and discuss a "
        "repayment plan.\n\n"
        "Yours faithfully,",
    ),
    DefaultTemplate(
        "LEGAL_NOTICE_LETTER",
        Language.ZH_HANS,
        "法务提示函",
        MessageChannel.LETTER,
        TemplateClass.LEGAL_NOTICE,
        "法务提示函",
        "尊敬的${customer_name}：\n\n"
        "您在${creditor_name}办理的${product_name}（账号尾号${account_last4}）截至${today}"
        "已逾期${days_past_due}天，逾期金额${overdue_amount}元，剩余欠款${outstanding_amount}元。\n\n"
        "根据《中华人民共和国民法典》第六百七十五条，借款人应当按照约定的期限返还借款。"
        "您未按合同约定履行还款义务，已构成违约，${creditor_name}有权依照合同约定及法律规定主张权利。\n\n"
        "特别提示：以非法占有为目的骗取借款或恶意透支的，可能涉及《中华人民共和国刑法》的相关规定。"
        "本提示仅为告知法律规定，不代表对您行为的认定。\n\n"
        "请您在收到本函之日起十五日内归还逾期款项，或致电${hotline}与我们协商还款安排。"
        "如您已还款，请忽略本函。\n\n"
        "特此函告。",
    ),
    DefaultTemplate(
        "LEGAL_NOTICE_LETTER",
        Language.EN,
        "Legal notice letter",
        MessageChannel.LETTER,
        TemplateClass.LEGAL_NOTICE,
        "Legal notice",
        "Dear ${customer_name},\n\n"
        "As of ${today}, your ${product_name} account with ${creditor_name} (ending ${account_last4}) "
        "is ${days_past_due} days past due, with ${overdue_amount} yuan overdue and "
        "${outstanding_amount} yuan outstanding in total.\n\n"
        "Under Article 675 of the Civil Code of the People's Republic of China, a borrower shall "
        "repay a loan within the agreed time. By not repaying as agreed you are in breach of your "
        "contract, and ${creditor_name} may enforce its rights under the contract and the law.\n\n"
        "Please note: obtaining a loan by fraud or malicious overdraft with intent of unlawful "
        "possession may fall under the relevant provisions of the Criminal Law of the People's "
        "Republic of China. This note only states the law; it is not a finding about you.\n\n"
        "Please pay the overdue amount within fifteen days of receiving this letter, or call "
        "${hotline} to agree a repayment plan with us. If you have already paid, please disregard "
        "this letter.",
    ),
)


def templates_seed_defaults() -> list[Template]:
    """Create the catalogue's default templates, approved by the system (no reviewer, note
    "catalogue default"). Safe to re-run: a template that exists (same code and language)
    is left exactly as it is, whatever its versions. Refuses (TemplateRefused) a default
    whose text does not pass its own screening, writing nothing."""
    created = []
    with transaction.atomic():
        for item in DEFAULT_TEMPLATES:
            if Template.objects.filter(code=item.code, language=item.language).exists():
                continue
            template = template_create(
                code=item.code,
                language=item.language,
                name=item.name,
                channel=item.channel,
                template_class=item.template_class,
                actor=None,
            )
            version, checked = _version_save(
                template=template,
                subject=item.subject,
                body=item.body,
                provider_template_code=item.provider_template_code,
                actor=None,
            )
            _retire_and_approve(version=version, reviewer=None, note=SYSTEM_REVIEW_NOTE, checked=checked)
            event_record(
                kind="comms.template_version_approved",
                subject=version,
                actor=None,
                data={
                    "template": template.code,
                    "language": template.language,
                    "number": version.number,
                    "retired": [],
                    "note": SYSTEM_REVIEW_NOTE,
                },
            )
            created.append(template)
    return created
