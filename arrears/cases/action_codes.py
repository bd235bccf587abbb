"""The default action codes (domain page), as data the migration and the tests load."""

from __future__ import annotations

from typing import NamedTuple


class DefaultCode(NamedTuple):
    code: str
    label: str
    label_en: str
    category: str
    system_only: bool = False
    implies_connected: bool = False


DEFAULT_ACTION_CODES: tuple[DefaultCode, ...] = (
    DefaultCode("PTP", "承诺还款", "Promise to pay", "promise", implies_connected=True),
    DefaultCode("PTP2", "跟进承诺", "Follow-up promise", "promise", implies_connected=True),
    DefaultCode("BP", "承诺未兑现", "Broken promise", "system", system_only=True),
    DefaultCode("KP", "承诺兑现", "Kept promise", "system", system_only=True),
    DefaultCode("RPC", "本人接通", "Right-party contact", "contact", implies_connected=True),
    DefaultCode("TPC", "第三方接通", "Third-party contact", "contact", implies_connected=True),
    DefaultCode("NA", "无人接听", "No answer", "contact"),
    DefaultCode("BUSY", "占线", "Busy", "contact"),
    DefaultCode("OFF", "关机", "Switched off", "contact"),
    DefaultCode("EMPTY", "停机/空号", "Empty number", "contact"),
    DefaultCode("WN", "错号", "Wrong number", "contact", implies_connected=True),
    DefaultCode("RTP", "拒绝还款", "Refuses to pay", "contact", implies_connected=True),
    DefaultCode("DISPUTE", "争议", "Dispute", "hold", implies_connected=True),
    DefaultCode("COMPLAINT", "投诉", "Complaint", "hold", implies_connected=True),
    DefaultCode("HARDSHIP", "困难保护", "Hardship", "hold", implies_connected=True),
    DefaultCode("SKIP", "失联", "Lost contact", "status"),
    DefaultCode("FOUND1", "已找到", "Located", "status"),
    DefaultCode("DECEASED", "身故", "Deceased", "hold"),
    DefaultCode("JAIL", "服刑", "Imprisoned", "hold"),
    DefaultCode("PAID", "已还款", "Payment confirmed", "status"),
    # Written messages the outbox sent (SMS, email, letter): the system logs them.
    DefaultCode("SENT", "系统发送", "Message sent", "system", system_only=True),
)
