"""The contact channels an action can use, and what makes a customer reachable on each.

Consent and reachability are read from `customer_features` for the day the action is decided
(so a backfilled day sees the consent of that day); the contact value itself comes from
`customer_contacts` when files are written. Phone calls use the SMS consent (the member's
consent to be contacted on the phone number); in-app messages use the app push consent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    code: str
    name_zh: str
    consent_column: str  # boolean feature: the customer agreed to be contacted this way
    reachable_column: str  # integer feature: 1 when a contact point for the channel is known
    contact_sql: str  # expression over customer_contacts (alias c) giving the contact point
    contact_kind: str  # phone | email | token: how the contact is masked in human files


CHANNELS: dict[str, Channel] = {
    c.code: c
    for c in (
        Channel("sms", "短信", "optin_sms", "has_phone", "c.phone", "phone"),
        Channel("email", "邮件", "optin_email", "has_email", "c.email", "email"),
        Channel(
            "wechat", "微信", "optin_wechat", "has_wechat", "coalesce(c.openid, c.unionid)", "token"
        ),
        Channel("app_push", "App推送", "optin_app_push", "has_app", "c.device_id", "token"),
        Channel("in_app", "App内消息", "optin_app_push", "has_app", "c.device_id", "token"),
        Channel("phone", "电话", "optin_sms", "has_phone", "c.phone", "phone"),
    )
}
