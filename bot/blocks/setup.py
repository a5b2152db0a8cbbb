"""Block Kit for `/ticket setup`: the organization's settings, edited inside Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.tickets import priority_options
from bot.core.errors import InvalidInput
from bot.ids import Action, Block, Callback, Field
from bot.services.automation_settings import LifecycleSettings
from models import TicketPriority

COMPANY_LINE_HINT = (
    "One company per line: Name | email domains | Slack Connect team id | request channel "
    "ids. Example: Acme Corp | acme.com, acme.co.uk | T0ACME123 | C0ACMEHELP. "
    "Companies not listed are kept."
)


NO_SLA = "none"
ORG_DEFAULT = "default"
# Modals hold 100 blocks: the first companies (by name) get a policy menu here, the rest
# are set with the REST API (PATCH /api/client-companies/{id}).
MAX_COMPANY_POLICY_MENUS = 40


@dataclass(frozen=True)
class SlaChoices:
    """The SLA part of `/ticket setup`: the policies, the default, each company's policy."""

    policies: tuple[tuple[int, str], ...] = ()
    default_policy_id: int | None = None
    # (company id, company name, its policy id or None for the organization's default)
    companies: tuple[tuple[int, str, int | None], ...] = ()


@dataclass(frozen=True)
class SlaPicks:
    """What was picked: the default (None: no SLA) and each company's (None: the default)."""

    default_policy_id: int | None
    company_policy_ids: dict[int, int | None]


def sla_blocks(choices: SlaChoices) -> list[dict[str, Any]]:
    """The SLA section: a default-policy menu and one menu per client company."""

    def plain(text: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": text[:75], "emoji": True}

    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": plain(text), "value": value}

    header: dict[str, Any] = {"type": "header", "text": plain("Service levels (SLA)")}
    if not choices.policies:
        return [
            header,
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "No SLA policies yet. Create them with the REST API "
                        "(POST /api/calendars, then POST /api/sla-policies); they show up here.",
                    }
                ],
            },
        ]
    policies = [option(name, str(pid)) for pid, name in choices.policies[:99]]
    none = option("No SLA", NO_SLA)
    default_options = [none, *policies]
    chosen = next((o for o in policies if o["value"] == str(choices.default_policy_id)), none)
    blocks: list[dict[str, Any]] = [
        header,
        {
            "type": "input",
            "block_id": Block.SLA_DEFAULT_POLICY,
            "label": plain("Default policy"),
            "hint": plain("For tickets of clients without a policy of their own."),
            "element": {
                "type": "static_select",
                "action_id": Field.VALUE,
                "options": default_options,
                "initial_option": chosen,
            },
        },
    ]
    inherit = option("Organization default", ORG_DEFAULT)
    for company_id, name, policy_id in choices.companies[:MAX_COMPANY_POLICY_MENUS]:
        picked = next((o for o in policies if o["value"] == str(policy_id)), inherit)
        blocks.append(
            {
                "type": "input",
                "block_id": f"{Block.SLA_COMPANY_POLICY}:{company_id}",
                "label": plain(f"Policy for {name}"),
                "element": {
                    "type": "static_select",
                    "action_id": Field.VALUE,
                    "options": [inherit, *policies],
                    "initial_option": picked,
                },
            }
        )
    return blocks


def read_sla_picks(values: dict[str, Any]) -> SlaPicks | None:
    """The SLA picks of a submitted setup modal (None when it showed no menus)."""

    def picked(block_id: str) -> str | None:
        element = (values.get(block_id) or {}).get(Field.VALUE) or {}
        return (element.get("selected_option") or {}).get("value")

    default = picked(Block.SLA_DEFAULT_POLICY)
    if default is None:
        return None
    companies: dict[int, int | None] = {}
    prefix = f"{Block.SLA_COMPANY_POLICY}:"
    for block_id in values:
        if block_id.startswith(prefix) and block_id[len(prefix) :].isdigit():
            value = picked(block_id)
            if value is not None:
                companies[int(block_id[len(prefix) :])] = (
                    None if value == ORG_DEFAULT else int(value)
                )
    return SlaPicks(
        default_policy_id=None if default == NO_SLA else int(default),
        company_policy_ids=companies,
    )


@dataclass(frozen=True)
class CompanyLine:
    name: str
    email_domains: tuple[str, ...] = ()
    slack_team_id: str | None = None
    channels: tuple[str, ...] = ()

    def render(self) -> str:
        parts = [
            self.name,
            ", ".join(self.email_domains),
            self.slack_team_id or "",
            ", ".join(self.channels),
        ]
        while parts and not parts[-1]:
            parts.pop()
        return " | ".join(parts)


def parse_company_lines(text: str | None) -> list[CompanyLine]:
    """Read the companies field; raises ValueError naming the first bad line."""
    companies: list[CompanyLine] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 4 or not parts[0]:
            raise ValueError(f"Line {number}: write Name | domains | team id | channel ids.")
        domains = tuple(d.lower().lstrip("@") for d in _items(parts, 1))
        if any("." not in d or " " in d for d in domains):
            raise ValueError(f"Line {number}: {', '.join(domains)} is not a list of email domains.")
        team = parts[2] if len(parts) > 2 and parts[2] else None
        if team is not None and not (team.startswith(("T", "E")) and team.isalnum()):
            raise ValueError(f"Line {number}: {team} is not a Slack team id (T…).")
        channels = _items(parts, 3)
        if any(not (c.startswith(("C", "G")) and c.isalnum()) for c in channels):
            raise ValueError(f"Line {number}: channel ids look like C0123ABCD.")
        companies.append(CompanyLine(parts[0][:200], domains, team, channels))
    return companies


def _items(parts: list[str], index: int) -> tuple[str, ...]:
    """The comma-separated items of field `index` of a company line."""
    if len(parts) <= index:
        return ()
    return tuple(i.strip() for i in parts[index].replace(";", ",").split(",") if i.strip())


def setup_modal(
    *,
    staff_channel: str | None,
    categories: Sequence[str],
    default_priority: TicketPriority,
    companies: Sequence[CompanyLine],
    request_channels: Sequence[str],
    sla: SlaChoices | None = None,
    automations: LifecycleSettings | None = None,
) -> dict[str, Any]:
    def plain(text: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": text, "emoji": True}

    staff_select: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": Field.VALUE,
        "placeholder": plain("The IT team's channel"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if staff_channel:
        staff_select["initial_conversation"] = staff_channel
    request_select: dict[str, Any] = {
        "type": "multi_conversations_select",
        "action_id": Field.VALUE,
        "placeholder": plain("Every channel Ticketbot is in"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if request_channels:
        request_select["initial_conversations"] = list(request_channels)[:100]
    priority = TicketPriority(default_priority)
    company_text = "\n".join(c.render() for c in companies)
    return {
        "type": "modal",
        "callback_id": Callback.SETUP_MODAL,
        "title": plain("Ticketbot setup"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": Block.STAFF_CHANNEL,
                "label": plain("Staff channel"),
                "hint": plain("Ticket cards go here; its members are the IT staff."),
                "element": staff_select,
            },
            {
                "type": "input",
                "block_id": Block.CATEGORIES,
                "label": plain("Ticket categories"),
                "hint": plain("One per line."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "multiline": True,
                    "initial_value": "\n".join(categories)[:3000],
                },
            },
            {
                "type": "input",
                "block_id": Block.DEFAULT_PRIORITY,
                "label": plain("Default priority"),
                "element": {
                    "type": "static_select",
                    "action_id": Field.VALUE,
                    "options": priority_options(),
                    "initial_option": {
                        "text": plain(priority.label),
                        "value": priority.value,
                    },
                },
            },
            {
                "type": "input",
                "block_id": Block.COMPANIES,
                "label": plain("Client companies"),
                "hint": plain(COMPANY_LINE_HINT),
                "optional": True,
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "multiline": True,
                    **({"initial_value": company_text[:3000]} if company_text else {}),
                },
            },
            {
                "type": "input",
                "block_id": Block.REQUEST_CHANNELS,
                "label": plain("Request channels"),
                "hint": plain(
                    "Where a :ticket: reaction files a message as a ticket. "
                    "Leave empty for every channel Ticketbot is in."
                ),
                "optional": True,
                "element": request_select,
            },
            *automation_section(automations or LifecycleSettings()),
            *(sla_blocks(sla) if sla is not None else []),
        ],
    }


# The automations' inputs: (block, label, hint). Numbers are typed; empty or 0 = off.
_AUTOMATION_INPUTS: tuple[tuple[Block, str, str], ...] = (
    (Block.TIMEZONE, "Time zone", "Where days and months begin, e.g. Europe/Paris."),
    (
        Block.AUTO_CLOSE_DAYS,
        "Close resolved tickets after (days)",
        "Without a reply. Empty or 0: never.",
    ),
    (
        Block.PENDING_REMINDER_DAYS,
        "Remind on pending tickets after (business days)",
        "Empty or 0: no reminders.",
    ),
    (
        Block.PENDING_REMINDERS,
        "Resolve pending tickets after (reminders)",
        "Without a reply. Empty or 0: never.",
    ),
    (Block.CSAT_SAMPLE_PERCENT, "Ask how we did on (% of tickets)", "Empty or 0: never ask."),
    (
        Block.CSAT_COOLDOWN_HOURS,
        "Ask a person at most once per (hours)",
        "Empty or 0: on every ticket.",
    ),
    (Block.DIGEST_TIME, "Daily digest at", "24-hour time like 08:30. Empty: no digest."),
)
AUTOMATION_BLOCKS: tuple[Block, ...] = (
    *(block for block, _, _ in _AUTOMATION_INPUTS),
    Block.CSAT_ENABLED,
)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def automation_section(settings: LifecycleSettings) -> list[dict[str, Any]]:
    """The automations' part of the setup modal: a header and one input per setting."""
    current = settings.as_dict()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Automations"}}
    ]
    for block, label, hint in _AUTOMATION_INPUTS:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": Field.VALUE}
        if _shown(current[block.value]):
            element["initial_value"] = _shown(current[block.value])
        blocks.append(
            {
                "type": "input",
                "block_id": block,
                "label": {"type": "plain_text", "text": label},
                "hint": {"type": "plain_text", "text": hint},
                "optional": block != Block.TIMEZONE,
                "element": element,
            }
        )
    on_off = [
        {"text": {"type": "plain_text", "text": text}, "value": value}
        for text, value in (("On", "on"), ("Off", "off"))
    ]
    blocks.append(
        {
            "type": "input",
            "block_id": Block.CSAT_ENABLED,
            "label": {"type": "plain_text", "text": "Satisfaction survey"},
            "element": {
                "type": "static_select",
                "action_id": Field.VALUE,
                "options": on_off,
                "initial_option": on_off[0 if settings.csat_enabled else 1],
            },
        }
    )
    return blocks


def read_automation_section(values: dict[str, Any]) -> dict[str, Any]:
    """The automations' settings as submitted (`view.state.values`), in the shape the
    settings service takes (it checks the values); a typed non-number is refused here."""

    def element(block: Block) -> dict[str, Any]:
        found: dict[str, Any] = (values.get(block) or {}).get(Field.VALUE) or {}
        return found

    read: dict[str, Any] = {}
    for block, label, _ in _AUTOMATION_INPUTS:
        text = (element(block).get("value") or "").strip()
        if block in (Block.TIMEZONE, Block.DIGEST_TIME):
            read[block.value] = text or None
            continue
        if not text:
            read[block.value] = None
            continue
        try:
            read[block.value] = float(text.replace(",", "."))
        except ValueError:
            raise InvalidInput(
                f"{label}: write a number, or leave it empty.", field=block.value
            ) from None
    selected = (element(Block.CSAT_ENABLED).get("selected_option") or {}).get("value")
    read[Block.CSAT_ENABLED.value] = selected != "off"
    if read[Block.TIMEZONE.value] is None:
        read[Block.TIMEZONE.value] = "UTC"
    return read


def setup_button() -> dict[str, Any]:
    """An actions block with the "Set up Ticketbot" button (opens `/ticket setup`)."""
    return {
        "type": "actions",
        "block_id": "setup_actions",
        "elements": [
            {
                "type": "button",
                "action_id": Action.OPEN_SETUP,
                "text": {"type": "plain_text", "text": "Set up Ticketbot", "emoji": True},
                "style": "primary",
            }
        ],
    }


WELCOME = (
    ":wave: *Thanks for installing Ticketbot!* One step before your team can use it: choose "
    "the staff channel where ticket cards go (and, if you like, categories and client "
    "companies). Until then tickets are kept and requesters are told they are waiting."
)


def welcome_blocks() -> list[dict[str, Any]]:
    """The DM to whoever installed the app."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": WELCOME}},
        setup_button(),
    ]
