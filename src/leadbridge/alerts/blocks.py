"""Slack messages for alerts, built with slack_sdk's Block Kit models: pure, no I/O.

Every value that came from a CRM (names, companies, reasons, owners) is
escaped before it lands in mrkdwn or in the fallback text: Slack reads `&`,
`<` and `>` as control characters there, so a company called
"<!channel> Corp" would otherwise page a whole channel. Plain-text objects
(the header) are not parsed for mentions or links and take values as they
are. Values are clipped so no field can push a block past Slack's limits,
and slack_sdk's own validation runs on every block (`to_dict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from leadbridge.alerts.due import ESCALATE_AT, Alert, HealthChange, Level
from leadbridge.config import Funnel
from leadbridge.config.sla import Sla
from leadbridge.model import Identity, Lead, Transition, readable
from leadbridge.telemetry.plain import one_line

_MAX_BLOCKS = 50  # per message
_MAX_TEXT = 3000  # per section text
_MAX_HEADER = 150
_LINES_PER_SECTION = 20  # digest lines per section, for a list a person can scan
_CLIP = 120  # longest CRM value shown, before escaping (which can make it 5x longer)

_NAME_FIELDS = ("first_name", "last_name")  # canonical fields (mappings/fields.yaml)
_COMPANY_FIELD = "company"
_EMAIL_FIELD = "email"


@dataclass(frozen=True, slots=True)
class Links:
    """Where a person opens the CRM records; None leaves that link out."""

    hubspot_portal: str | None = None
    salesforce_url: str | None = None  # the org's instance, e.g. https://acme.my.salesforce.com
    hubspot_app_url: str = "https://app.hubspot.com"

    def hubspot(self, identity: Identity) -> str | None:
        if self.hubspot_portal is None or identity.hubspot is None:
            return None
        portal, record = quote(self.hubspot_portal, safe=""), quote(identity.hubspot, safe="")
        return f"{self.hubspot_app_url.rstrip('/')}/contacts/{portal}/record/0-1/{record}"

    def salesforce(self, identity: Identity) -> str | None:
        # A converted Lead lives on as its Contact: open that.
        obj, record = _salesforce_record(identity)
        return self.salesforce_record(obj, record) if record is not None else None

    def salesforce_record(self, obj: str, record: str) -> str | None:
        """Where one Salesforce record opens (Lightning), e.g. a Lead by its id."""
        if self.salesforce_url is None:
            return None
        return f"{self.salesforce_url.rstrip('/')}/lightning/r/{obj}/{quote(record, safe='')}/view"


@dataclass(frozen=True, slots=True)
class Message:
    """One Slack message: fallback text (notifications, old clients) and Block Kit blocks."""

    text: str
    blocks: tuple[dict[str, Any], ...]
    lead_ids: tuple[str, ...] = ()  # the leads it lists, for digests


def _safe(value: object) -> str:
    """A CRM value made safe for mrkdwn: &, < and > as entities, on one line, clipped."""
    return _escape(_clip(value))


def _clip(value: object, limit: int = _CLIP) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _human(span: timedelta) -> str:
    """2d 3h, 5h 20m, 45m: the two largest units a person reads at a glance."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "<1m" if span > timedelta(0) else "0m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{mins}m"] * bool(mins)
    return " ".join(parts[:2])


def _when(moment: datetime) -> str:
    """A date Slack shows in each reader's own time zone; UTC text where it cannot."""
    utc = moment.astimezone(UTC)
    shown = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{shown}>"


def _who(lead: Lead) -> str:
    """The lead's name as raw text: first and last name, else the email, else the id."""
    name = " ".join(
        str(lead.fields[field]).strip() for field in _NAME_FIELDS if lead.fields.get(field)
    )
    return _clip(name or lead.fields.get(_EMAIL_FIELD) or f"lead {lead.id}")


def _company(lead: Lead) -> str | None:
    value = lead.fields.get(_COMPANY_FIELD)
    return _clip(value) if value not in (None, "") else None


def _sla_text(alert: Alert) -> str:
    return f"{_human(alert.in_stage)} of an SLA of {_human(alert.sla.limit)}" + _counted(alert.sla)


def _counted(sla: Sla) -> str:
    if sla.hours is None:
        return ""
    return f" (business hours: {sla.hours.text}, {sla.hours.zone})"


def alert_message(
    alert: Alert,
    last: Transition | None,
    links: Links,
    now: datetime,
    mention: str | None = None,
    funnel: Funnel | None = None,
) -> Message:
    """One stuck lead: who, where, how long against the SLA, what to do next, the last move,
    and the records. `funnel` gives the last move's stages and reason their labels."""
    lead = alert.lead
    name, firm = _who(lead), _company(lead)
    escalated = alert.level is Level.ESCALATION
    stage = alert.stage_label
    title = f"{'Escalation' if escalated else 'Overdue'}: {name} in {stage}"
    at = f" at *{_escape(firm)}*" if firm else ""
    headline = (
        f"*{_escape(name)}*{at} has been in *{_escape(stage)}* for "
        f"*{_human(alert.in_stage)}*, past {'twice ' * escalated}its SLA of "
        f"*{_human(alert.sla.limit)}*."
    )
    owner = _owner_of(lead)
    owner = f"{_safe(owner)} ({alert.team})" if owner else f"no one yet ({alert.team})"
    fields = [
        MarkdownTextObject(text=f"*Stage*\n{_escape(stage)}"),
        MarkdownTextObject(text=f"*Owner*\n{owner}"),
        MarkdownTextObject(text=f"*Time in stage*\n{_escape(_sla_text(alert))}"),
        MarkdownTextObject(text=f"*Entered*\n{_when(alert.entered_at)}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_clip(title, _MAX_HEADER), emoji=False)),
        SectionBlock(text=MarkdownTextObject(text=headline), fields=fields),
        *_next(alert),
        SectionBlock(text=MarkdownTextObject(text=_last_move(last, funnel))),
        SectionBlock(text=MarkdownTextObject(text=_records(lead.identity, links))),
    ]
    if escalated and mention:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{mention} please act: this lead has waited more than "
                    f"{ESCALATE_AT}x its SLA."
                )
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"leadbridge · lead {_safe(lead.id)} · {alert.level} · as of {_when(now)}"
                )
            ]
        )
    )
    fallback = (
        f"{'Escalation' if escalated else 'Overdue'}: {_escape(name)}"
        + (f" ({_escape(firm)})" if firm else "")
        + f" has been in {_escape(stage)} for {_human(alert.in_stage)}, SLA "
        + f"{_human(alert.sla.limit)}. Owner: {owner}."
        + (f" Next: {_escape(alert.next_step)}." if alert.next_step else "")
    )
    if escalated and mention:
        fallback = f"{mention} {fallback}"
    return Message(fallback, _dicts(blocks), (lead.id,))


def _next(alert: Alert) -> list[Block]:
    """The stage's next step (stages.yaml next_step, with its SLA), when it has one."""
    if not alert.next_step:
        return []
    return [SectionBlock(text=MarkdownTextObject(text=f"*Next:* {_escape(alert.next_step)}"))]


_SYSTEM_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


def _last_move(last: Transition | None, funnel: Funnel | None = None) -> str:
    if last is None:
        return "*Last move:* none journaled yet"
    cause = last.cause

    def stage(name: str) -> str:
        return funnel.stage_label(name) if funnel is not None else readable(name)

    target = funnel.stage.get(last.to_stage) if funnel is not None else None
    reason = funnel.reason_label(last.reason) if funnel is not None else readable(last.reason)
    why = f", reason _{_safe(reason)}_" if target is None or target.handback else ""
    return (
        f"*Last move:* {_safe(stage(last.from_stage))} → {_safe(stage(last.to_stage))} "
        f"by rule {_safe(readable(last.rule))}{why} (a change to "
        f"{_SYSTEM_NAMES.get(cause.system.value, cause.system.value)} {_safe(cause.object)} "
        f"{_safe(cause.id)}, {_when(last.at)})"
    )


def _records(identity: Identity, links: Links) -> str:
    parts: list[str] = []
    hubspot = links.hubspot(identity)
    if identity.hubspot is not None:
        label = f"HubSpot contact {_safe(identity.hubspot)}"
        parts.append(f"<{hubspot}|{label}>" if hubspot else label)
    obj, record = _salesforce_record(identity)
    if record is not None:
        salesforce = links.salesforce(identity)
        label = f"Salesforce {obj} {_safe(record)}"
        parts.append(f"<{salesforce}|{label}>" if salesforce else label)
    return "*Records:* " + (" · ".join(parts) if parts else "none linked yet")


def _salesforce_record(identity: Identity) -> tuple[str, str | None]:
    if identity.salesforce_contact is not None:
        return "Contact", identity.salesforce_contact
    return "Lead", identity.salesforce_lead


def digest_messages(
    alerts: Sequence[Alert], links: Links, now: datetime, day: str
) -> list[Message]:
    """Everyone stuck now, as few messages as Slack's limits allow (50 blocks, 3,000
    characters a section), each lead on one line, every lead exactly once."""
    if not alerts:
        text = f"Stuck leads on {day}: none. Every lead is within its SLA."
        blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
        return [Message(text, _dicts(blocks))]
    sections = _sections([(alert.lead.id, _line(alert, links)) for alert in alerts])
    per_message = _MAX_BLOCKS - 2  # a header and a context line frame each message
    chunks = [sections[i : i + per_message] for i in range(0, len(sections), per_message)]
    messages: list[Message] = []
    for number, chunk in enumerate(chunks, 1):
        part = f" (part {number} of {len(chunks)})" if len(chunks) > 1 else ""
        title = f"Stuck leads on {day}: {len(alerts)}{part}"
        blocks = [HeaderBlock(text=PlainTextObject(text=title, emoji=False))]
        blocks += [SectionBlock(text=MarkdownTextObject(text=text)) for _, text in chunk]
        escalated = sum(alert.level is Level.ESCALATION for alert in alerts)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"leadbridge daily digest · {escalated} past {ESCALATE_AT}x "
                        f"their SLA · as of {_when(now)}"
                    )
                ]
            )
        )
        ids = tuple(lead_id for lead_ids, _ in chunk for lead_id in lead_ids)
        messages.append(Message(title, _dicts(blocks), ids))
    return messages


def _line(alert: Alert, links: Links) -> str:
    lead = alert.lead
    name, firm = _safe(_who(lead)), _company(lead)
    url = links.hubspot(lead.identity) or links.salesforce(lead.identity)
    shown = f"<{url}|{name}>" if url else f"*{name}*"
    return (
        f"• {shown}"
        + (f" ({_escape(firm)})" if firm else "")
        + f" · {_safe(alert.stage_label)} {_human(alert.in_stage)} / SLA {_human(alert.sla.limit)}"
        + (f" · {_safe(owner)}" if (owner := _owner_of(lead)) else " · no owner")
        + (" · *escalated*" if alert.level is Level.ESCALATION else "")
    )


def _sections(lines: Sequence[tuple[str, str]]) -> list[tuple[tuple[str, ...], str]]:
    """Lines packed into section texts of at most _MAX_TEXT characters and _LINES_PER_SECTION."""
    sections: list[tuple[tuple[str, ...], str]] = []
    ids: list[str] = []
    texts: list[str] = []
    size = 0
    for lead_id, line in lines:
        if texts and (size + 1 + len(line) > _MAX_TEXT or len(texts) >= _LINES_PER_SECTION):
            sections.append((tuple(ids), "\n".join(texts)))
            ids, texts, size = [], [], 0
        ids.append(lead_id)
        texts.append(line)
        size += len(line) + (1 if len(texts) > 1 else 0)
    sections.append((tuple(ids), "\n".join(texts)))
    return sections


def health_message(change: HealthChange, now: datetime) -> Message:
    """A component went down, or came back."""
    name = _safe(change.component)
    # A CRM's HTML error page becomes its title: one plain line, not a screen of markup.
    detail = _safe(one_line(change.detail))
    if change.healthy:
        lasted = f" after {_human(now - change.since)}" if change.since is not None else ""
        title, body = "Recovered", f"{name} is healthy again{lasted} (it was: {detail})."
    else:
        title, body = "Unhealthy", f"{name}: {detail}."
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{title}:* {body}")),
        ContextBlock(elements=[MarkdownTextObject(text=f"leadbridge health · {_when(now)}")]),
    ]
    return Message(f"{title}: {body}", _dicts(blocks))


def _dicts(blocks: Sequence[Block]) -> tuple[dict[str, Any], ...]:
    # to_dict() runs slack_sdk's validators: a block past a limit raises here, not at Slack.
    return tuple(block.to_dict() for block in blocks)


def _owner_of(lead: Lead) -> str | None:
    """The rep who owns the lead: the lead's own, else the canonical `owner` field the
    default fields.yaml maps from the Salesforce Lead's or Contact's OwnerId."""
    value = lead.owner or lead.fields.get("owner")
    return value if isinstance(value, str) and value else None
