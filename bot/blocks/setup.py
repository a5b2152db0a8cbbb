"""Block Kit for `/ticket setup`: the organization's settings, edited inside Slack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.text import escape
from bot.blocks.tickets import priority_options
from bot.core.errors import InvalidInput
from bot.ids import Action, Block, Callback, Field
from bot.services.automation_settings import LifecycleSettings
from bot.services.client_companies import CompanyForm, CompanySummary
from models import TicketPriority

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


def setup_modal(
    *,
    staff_channel: str | None,
    categories: Sequence[str],
    default_priority: TicketPriority,
    companies: Sequence[CompanySummary],
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
                "block_id": Block.REQUEST_CHANNELS,
                "label": plain("Request channels"),
                "hint": plain(
                    "Where a :ticket: reaction files a message as a ticket. "
                    "Leave empty for every channel Ticketbot is in."
                ),
                "optional": True,
                "element": request_select,
            },
            *company_section(companies),
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


# Modals hold 100 blocks: the setup modal lists this many companies (by name); the others
# are edited with the REST API.
MAX_LISTED_COMPANIES = 30
EDIT, REMOVE = "edit", "remove"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def company_summary_text(company: CompanySummary) -> str:
    """ "*Acme* · acme.com · #acme-help": a company as the setup modal lists it."""
    parts = [f"*{escape(company.name)}*"]
    if company.email_domains:
        parts.append(", ".join(company.email_domains))
    if company.slack_team_id:
        parts.append(f"Slack Connect {company.slack_team_id}")
    parts += [f"<#{c}>" for c in company.channels]
    if len(parts) == 1:
        parts.append("_matched by hand on the card_")
    return " · ".join(parts)


def company_section(companies: Sequence[CompanySummary]) -> list[dict[str, Any]]:
    """The setup modal's client companies: one line each with an Edit / Remove menu, and
    an "Add client company" button."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain("Client companies")},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Requesters are matched to a company by email domain, Slack "
                    "Connect workspace or request channel. Changes here are saved at once.",
                }
            ],
        },
    ]
    for company in companies[:MAX_LISTED_COMPANIES]:
        blocks.append(
            {
                "type": "section",
                "block_id": f"{Block.COMPANY}:{company.id}",
                "text": {"type": "mrkdwn", "text": company_summary_text(company)},
                "accessory": {
                    "type": "overflow",
                    "action_id": Action.COMPANY_MENU,
                    "options": [
                        {"text": _plain("Edit"), "value": f"{EDIT}:{company.id}"},
                        {"text": _plain("Remove"), "value": f"{REMOVE}:{company.id}"},
                    ],
                },
            }
        )
    if len(companies) > MAX_LISTED_COMPANIES:
        more = len(companies) - MAX_LISTED_COMPANIES
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{more} more: edit them with the REST API "
                        "(/api/client-companies).",
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": Block.COMPANIES,
            "elements": [
                {
                    "type": "button",
                    "action_id": Action.COMPANY_ADD,
                    "text": _plain("Add client company"),
                }
            ],
        }
    )
    return blocks


def company_modal(company: CompanySummary | None) -> dict[str, Any]:
    """Add or edit one client company (pushed over the setup modal)."""

    def text_input(
        block: Block, label: str, hint: str, value: str, optional: bool
    ) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": Field.VALUE}
        if value:
            element["initial_value"] = value
        return {
            "type": "input",
            "block_id": block,
            "label": _plain(label),
            "hint": _plain(hint),
            "optional": optional,
            "element": element,
        }

    channels: dict[str, Any] = {
        "type": "multi_conversations_select",
        "action_id": Field.VALUE,
        "placeholder": _plain("Choose channels"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if company is not None and company.channels:
        channels["initial_conversations"] = list(company.channels)[:100]
    return {
        "type": "modal",
        "callback_id": Callback.COMPANY_MODAL,
        "private_metadata": json.dumps({"company_id": company.id if company else None}),
        "title": _plain("Edit client company" if company else "Add client company"),
        "submit": _plain("Save"),
        "close": _plain("Back"),
        "blocks": [
            text_input(
                Block.COMPANY_NAME,
                "Name",
                "As your team calls them.",
                company.name if company else "",
                False,
            ),
            text_input(
                Block.COMPANY_DOMAINS,
                "Email domains",
                "People with these email addresses belong to the company, e.g. acme.com, "
                "acme.co.uk.",
                ", ".join(company.email_domains) if company else "",
                True,
            ),
            text_input(
                Block.COMPANY_TEAM,
                "Slack Connect workspace",
                "The id of their workspace (T…), if they reach you through Slack Connect.",
                (company.slack_team_id or "") if company else "",
                True,
            ),
            {
                "type": "input",
                "block_id": Block.COMPANY_CHANNELS,
                "label": _plain("Request channels"),
                "hint": _plain("Tickets filed in these channels belong to the company."),
                "optional": True,
                "element": channels,
            },
        ],
    }


def remove_company_modal(company: CompanySummary) -> dict[str, Any]:
    """ "Remove Acme?": what removing keeps and what it unlinks."""
    return {
        "type": "modal",
        "callback_id": Callback.REMOVE_COMPANY_MODAL,
        "private_metadata": json.dumps({"company_id": company.id}),
        "title": _plain("Remove client company"),
        "submit": _plain("Remove"),
        "close": _plain("Back"),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Remove *{escape(company.name)}*? Its people and request channels "
                    "are unlinked and new tickets are no longer matched to it. Its tickets, "
                    "time entries and reports keep its name. Adding a company with the same "
                    "name brings it back.",
                },
            }
        ],
    }


def read_company_form(values: dict[str, Any]) -> CompanyForm:
    """What the company modal submitted (`view.state.values`)."""

    def element(block: Block) -> dict[str, Any]:
        found: dict[str, Any] = (values.get(block) or {}).get(Field.VALUE) or {}
        return found

    return CompanyForm(
        name=element(Block.COMPANY_NAME).get("value") or "",
        email_domains=element(Block.COMPANY_DOMAINS).get("value") or "",
        slack_team_id=element(Block.COMPANY_TEAM).get("value") or "",
        channels=tuple(element(Block.COMPANY_CHANNELS).get("selected_conversations") or ()),
    )
