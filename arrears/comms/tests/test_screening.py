"""Template screening (arrears.compliance.screening): the guard's text rules on a template's
text, in the strictest case, with each offending word and its position."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from arrears.accounts.models import Role
from arrears.compliance.packs import CN_HOUSE, PACKS, params_as_json
from arrears.compliance.screening import (
    Screening,
    blank_placeholders,
    current_packs,
    has_opt_out,
    template_screen,
    text_screen,
)
from arrears.compliance.services import pack_params_update
from arrears.tests.factories import UserFactory

CATALOGUE = list(PACKS.values())


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    """Reasons are sentences in the active language; a page test before may leave English on."""
    with translation.override("zh-hans"):
        yield


OPT_OUT = "回复TD退订"


def found(screening: Screening) -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    return [
        (finding.rule, finding.field, [(item.word, item.start, item.end) for item in finding.words])
        for finding in screening.findings
    ]


def test_a_polite_reminder_passes() -> None:
    body = f"尊敬的${{customer_name}}，您尾号${{account_last4}}的账户将于${{due_date}}到期。{OPT_OUT}"

    screening = template_screen(body=body, channel="sms", template_class="reminder", packs=CATALOGUE)

    assert screening.ok
    assert screening.findings == ()
    assert screening.has_opt_out is True
    assert screening.packs == (("cn-house", 1), ("cn-industry-2026", 1), ("us-regf", 1))
    assert (screening.principal_fen, screening.balance_fen) == (0, 0)


def test_insult_court_and_police_report_are_found_with_their_positions() -> None:
    body = f"你这个白痴，再不还就去法院报案。{OPT_OUT}"

    screening = template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE)

    assert found(screening) == [
        ("H11", "body", [("报案", 13, 15)]),
        ("H12", "body", [("白痴", 3, 5), ("法院", 11, 13)]),
        ("C5", "body", [("法院", 11, 13)]),
    ]
    assert body[3:5] == "白痴" and body[11:13] == "法院" and body[13:15] == "报案"
    assert [finding.text for finding in screening.findings] == [
        "本金低于门槛，不得使用刑法相关措辞：报案",
        "包含禁用语：白痴、法院",
        "不得使用行政或司法机关名义：法院",
    ]


def test_positions_index_the_text_as_typed_even_after_placeholders() -> None:
    body = f"${{customer_name}}，白痴。{OPT_OUT}"

    screening = template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE)

    assert found(screening) == [("H12", "body", [("白痴", 17, 19)])]
    assert body[17:19] == "白痴"


def test_an_unmasked_card_number_is_found_in_sms_and_letters() -> None:
    body = f"您的卡号 6222 0212 3456 7890 已逾期。{OPT_OUT}"

    sms = template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE)
    letter = template_screen(
        body=body, subject="通知", channel="letter", template_class="collection", packs=CATALOGUE
    )

    assert found(sms) == [("H10", "body", [("6222 0212 3456 7890", 5, 24)])]
    assert found(letter) == found(sms)


def test_the_subject_is_screened_too() -> None:
    screening = template_screen(
        body=f"请尽快还款。{OPT_OUT}",
        subject="无赖请注意",
        channel="email",
        template_class="collection",
        packs=CATALOGUE,
    )

    assert found(screening) == [("H12", "subject", [("无赖", 0, 2)])]


def test_small_balance_words_waivers_and_personal_accounts_are_refused() -> None:
    body = f"您已被列入失信被执行人，可以申请减免，请转到我的微信。{OPT_OUT}"

    screening = template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE)

    assert [finding.rule for finding in screening.findings] == ["H12", "H15", "H16"]
    assert found(screening)[0] == ("H12", "body", [("失信被执行人", 5, 11)])


def test_a_legal_notice_may_carry_legal_wording_but_not_insults_nor_authority_names() -> None:
    legal = "恶意透支可能涉及《中华人民共和国刑法》的相关规定，您可能承担刑事责任。"

    allowed = template_screen(
        body=legal, subject="法务提示函", channel="letter", template_class="legal_notice", packs=CATALOGUE
    )
    as_collection = template_screen(
        body=legal, subject="通知", channel="letter", template_class="collection", packs=CATALOGUE
    )
    insulting = template_screen(
        body=legal + "你这个无赖，公安会找你。",
        subject="法务提示函",
        channel="letter",
        template_class="legal_notice",
        packs=CATALOGUE,
    )

    assert allowed.ok
    assert allowed.principal_fen == CN_HOUSE.params["legal_wording_principal_threshold_fen"]
    assert allowed.balance_fen == 0
    assert found(as_collection) == [("H11", "body", [("刑法", 16, 18), ("刑事责任", 30, 34)])]
    assert [finding.rule for finding in insulting.findings] == ["H12", "C5"]
    assert found(insulting)[0][2] == [("无赖", 38, 40), ("公安", 41, 43)]


def test_a_legal_notice_still_may_not_say_dishonest_debtor() -> None:
    screening = template_screen(
        body="您将被列入失信被执行人。",
        subject="法务提示函",
        channel="letter",
        template_class="legal_notice",
        packs=CATALOGUE,
    )

    assert found(screening) == [("H12", "body", [("失信被执行人", 5, 11)])]


def test_sms_and_email_need_an_opt_out_letters_do_not() -> None:
    body = "请尽快还款。"

    sms = template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE)
    email = template_screen(
        body=body, subject="通知", channel="email", template_class="collection", packs=CATALOGUE
    )
    letter = template_screen(
        body=body, subject="通知", channel="letter", template_class="collection", packs=CATALOGUE
    )

    assert [(f.rule, f.reason, f.field) for f in sms.findings] == [("U5", "missing_opt_out", "body")]
    assert [(f.rule, f.reason) for f in email.findings] == [("U5", "missing_opt_out")]
    assert letter.ok
    assert sms.findings[0].text == "短信和邮件须附退订方式"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("……回复TD退订", True),
        ("……退订回T", True),
        ("如不希望再收到邮件，请回复“退订”。", True),
        ("... Reply STOP to opt out.", True),
        ("... reply stop to opt out.", True),
        ("To unsubscribe, reply UNSUBSCRIBE.", True),
        ("请尽快还款", False),
        ("Please stop by our branch", False),
    ],
)
def test_opt_out_phrases(text: str, expected: bool) -> None:
    assert has_opt_out(text) is expected


def test_a_third_party_message_may_not_disclose_the_debt() -> None:
    body = f"请转告${{customer_name}}，其欠款${{overdue_amount}}元，请回电${{hotline}}。{OPT_OUT}"

    screening = template_screen(body=body, channel="sms", template_class="pass_message", packs=CATALOGUE)

    assert found(screening) == [("H7", "body", [("欠款", 21, 23), ("${overdue_amount}", 23, 40)])]
    assert template_screen(
        body=f"请转告${{customer_name}}回电${{hotline}}。{OPT_OUT}",
        channel="sms",
        template_class="pass_message",
        packs=CATALOGUE,
    ).ok


def test_time_barred_suit_words_are_not_screened_in_templates() -> None:
    # U8 depends on a case fact (time-barred) a template cannot know: the send-time guard applies it.
    screening = text_screen(
        text="We may take legal action. Reply STOP to opt out.",
        channel="sms",
        template_class="collection",
        principal_fen=0,
        balance_fen=0,
        packs=CATALOGUE,
    )

    assert screening.ok


def test_blanking_placeholders_keeps_every_index() -> None:
    text = "a${x}b${customer_name}c"

    assert blank_placeholders(text) == "a    b                c"
    assert len(blank_placeholders(text)) == len(text)


def test_text_screen_refuses_a_channel_without_text() -> None:
    with pytest.raises(ValueError, match="not a written channel"):
        text_screen(text="x", channel="call", template_class="collection", principal_fen=0, balance_fen=0)


@pytest.mark.django_db
def test_the_newest_stored_pack_parameters_are_used() -> None:
    admin = UserFactory(username="root", role=Role.ADMIN)
    params = params_as_json(CN_HOUSE.params)
    pack_params_update(
        pack_id="cn-house",
        params={**params, "prohibited_words": [*params["prohibited_words"], "赖账"]},  # type: ignore[list-item]
        actor=admin,
    )
    body = f"请不要赖账。{OPT_OUT}"

    packs = current_packs()
    screening = template_screen(body=body, channel="sms", template_class="collection")

    assert [(pack.id, pack.version) for pack in packs] == [
        ("cn-house", 2),
        ("cn-industry-2026", 1),
        ("us-regf", 1),
    ]
    assert found(screening) == [("H12", "body", [("赖账", 3, 5)])]
    assert template_screen(body=body, channel="sms", template_class="collection", packs=CATALOGUE).ok
