"""The guard's reasons in the reader's language.

Rules return a message key (`compliance.<rule>.<reason>`) and parameters; the sentence is
chosen here per request, so a stored decision can be shown in Chinese or English later.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

_TEMPLATES = {
    "H1.outside_contact_window": _("当地时间 {local_times} 不在联系时段 {window_start}–{window_end} 内"),
    "H2.statutory_holiday": _("{local_date} 是法定节假日，不得催收联系"),
    "H2.calendar_year_missing": _("节假日日历缺少 {year} 年，只按周末判断，请管理员补充"),
    "H3.case_connected_calls_cap": _("本案今日已接通 {count} 次，达到上限 {limit} 次"),
    "H3.case_outbound_calls_cap": _("本案今日已呼出 {count} 次，达到上限 {limit} 次"),
    "H4.protected_call_interval": _(
        "受保护客户（{protected_reason}）每 {interval_days} 天最多通话一次，上次 {last_call}"
    ),
    "H4.protected_visit_too_many_visitors": _("受保护客户外访最多 {limit} 人，本次 {visitors} 人"),
    "H4.protected_visit_weekly": _("受保护客户每周最多外访 {limit} 次，本周已 {count} 次"),
    "H5.do_not_contact": _("该联系方式已标记为勿扰（{dnc_reason}）"),
    "H5.contact_point_invalid": _("该联系方式已失效（错号或空号）"),
    "H5.opted_out_channel": _("对方已回复退订，不再通过{channel}联系此号码或邮箱"),
    "H6.case_on_hold": _("案件停催中：{holds}"),
    "H7.third_party_while_debtor_reachable": _("本人可联系时不得联系第三方（{owner_role}）"),
    "H7.third_party_disclosure": _("对第三方只能发送转告类模板，不得透露欠款信息"),
    "H8.recording_unavailable": _("录音不可用，暂停外呼"),
    "H9.sms_by_individual": _("催收员不得以个人身份发送短信"),
    "H9.sms_template_not_approved": _("短信只能使用已审批的模板（{template_code}）"),
    "H10.letter_to_third_party": _("信函只能寄给本人或担保人，不能寄给 {owner_role}"),
    "H10.unmasked_number": _("内容包含 {count} 处未脱敏的卡号或身份证号，只能显示后4位"),
    "H11.legal_wording_below_threshold": _("本金低于门槛，不得使用刑法相关措辞：{words}"),
    "H11.legal_wording_not_approved": _("刑法相关措辞只能出现在已审批的模板中：{words}"),
    "H12.prohibited_language": _("包含禁用语：{words}"),
    "H13.small_balance_disputed": _("小额欠款且客户对金额强烈争议：停止催收并上报"),
    "H14.visit_details_missing": _("外访须登记外访人员和录音设备"),
    "H14.visit_too_few_staff": _("外访至少 {minimum} 人，本次 {visitors} 人"),
    "H14.visit_not_recorded": _("外访须全程录音录像"),
    "H14.visit_identity_not_shown": _("外访须出示工作证件"),
    "H15.unauthorised_promise": _("未经授权不得承诺减免：{words}"),
    "H16.personal_payment": _("不得要求还款到个人账户：{words}"),
    "C1.quiet_hours": _("当地时间 {local_times} 处于休息时段（{window_start} 前或 {window_end} 后）"),
    "C2.debtor_connected_calls_cap": _("该客户今日（含委外机构）已接通 {count} 次，达到上限 {limit} 次"),
    "C3.number_unanswered_cap": _("该号码今日未接通已 {count} 次，达到上限 {limit} 次"),
    "C4.third_party_while_debtor_reachable": _("本人可联系时不得联系第三方（{owner_role}）"),
    "C4.unrelated_third_party_beyond_message": _("无关第三方只能请其转告"),
    "C5.authority_name_used": _("不得使用行政或司法机关名义：{words}"),
    "C6.visit_details_missing": _("外访须登记外访人员和录音设备"),
    "C6.visit_too_few_staff": _("外访至少 {minimum} 人，本次 {visitors} 人"),
    "C6.visit_not_recorded": _("外访须全程录音录像"),
    "U1.call_attempts_in_window": _("7 天内已呼叫 {count} 次，达到上限 {limit} 次"),
    "U2.recent_conversation": _("{days} 天内已与客户通话（{last_conversation}）"),
    "U3.inconvenient_time": _("当地时间 {local_times} 不在 {window_start}–{window_end} 内"),
    "U4.cease_requested": _("客户已要求停止联系"),
    "U4.attorney_represented": _("客户已委托律师"),
    "U4.employer_prohibits_workplace_contact": _("雇主禁止在工作单位联系"),
    "U5.opted_out": _("该号码或邮箱已退订"),
    "U5.missing_opt_out": _("短信和邮件须附退订方式"),
    "U8.time_barred_suit_threat": _("已过诉讼时效，不得以起诉相威胁：{words}"),
}


class _Keep(dict[str, object]):
    """Leave a placeholder as it is when a parameter is missing, instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def reason_text(message_key: str, params: Mapping[str, object]) -> str:
    key = message_key.removeprefix("compliance.")
    template = _TEMPLATES.get(key)
    if template is None:
        return key
    return str(template).format_map(_Keep(params))
