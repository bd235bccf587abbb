"""Reads of the outbox: the messages a sender claimed, with everything their text needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import connection

from arrears.comms import rendering
from arrears.comms.models import Message, Template, TemplateClass, TemplateVersion, VersionStatus
from arrears.core.zones import zone_or_default


def messages_for_sending(*, ids: Sequence[int]) -> list[Message]:
    """The claimed messages with their account, state, customer, point, case and template
    (one query; the encrypted columns are decrypted as the rows load)."""
    return list(
        Message.objects.filter(pk__in=list(ids))
        .select_related(
            "account__product",
            "account__creditor",
            "account__delinquency",
            "customer",
            "contact_point",
            "case",
            "template_version__template",
        )
        .order_by("pk")
    )


def next_instalments_fen(*, messages: Sequence[Message]) -> dict[int, int]:
    """Per account, the amount of the instalment falling due on its next due date."""
    wanted = {
        message.account_id: state.next_due_date
        for message in messages
        if (state := getattr(message.account, "delinquency", None)) is not None and state.next_due_date
    }
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.account_id,
                   sum(i.principal_due_fen + i.interest_due_fen + i.fee_due_fen + i.premium_due_fen)
              FROM portfolio_instalment i
              JOIN unnest(%s::bigint[], %s::date[]) AS w(account_id, due_date)
                ON w.account_id = i.account_id AND w.due_date = i.due_date
             GROUP BY i.account_id
            """,
            [list(wanted), list(wanted.values())],
        )
        return {account_id: int(total) for account_id, total in cursor.fetchall()}


def message_values(*, message: Message, instalment_fen: int | None, now: dt.datetime) -> dict[str, str]:
    """The values of every template variable for this message (all masked, H10)."""
    account = message.account
    customer = message.customer
    state = getattr(account, "delinquency", None)
    zone = zone_or_default(customer.time_zone)
    today = now.astimezone(zone).date()
    language = message.language
    if message.template_class == TemplateClass.REMINDER or state is None or state.delinquent_since is None:
        due_date = state.next_due_date if state is not None else None
    else:
        due_date = state.delinquent_since
    days_past_due = (today - state.delinquent_since).days if state and state.delinquent_since else 0
    return {
        "customer_name": customer.name,
        "account_last4": rendering.last4(account.account_no),
        "card_last4": rendering.last4(account.account_no),
        "id_last4": rendering.last4(customer.id_number),
        "overdue_amount": rendering.yuan(state.overdue_fen if state else 0),
        "outstanding_amount": rendering.yuan(state.outstanding_fen if state else account.principal_fen),
        "instalment_amount": rendering.yuan(
            instalment_fen if instalment_fen is not None else account.instalment_fen
        ),
        "due_date": rendering.date_text(due_date, language),
        "days_past_due": str(max(days_past_due, 0)),
        "creditor_name": account.creditor.name,
        "product_name": account.product.name,
        "hotline": settings.ARREARS_HOTLINE,
        "today": rendering.date_text(today, language),
    }


def current_versions(*, codes: Sequence[str]) -> dict[tuple[str, str], TemplateVersion]:
    """The approved version in use of each template code, by (code, language)."""
    templates = Template.objects.filter(code__in=list(codes), active=True).select_related("current_version")
    return {
        (template.code, template.language): template.current_version
        for template in templates
        if template.current_version is not None and template.current_version.status == VersionStatus.APPROVED
    }
