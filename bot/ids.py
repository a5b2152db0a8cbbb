"""Every Slack id the app defines: commands, callback ids, action ids, block ids.

Builders, handlers and the manifest test share these, so a renamed id cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    TICKET = "/ticket"


class Callback(StrEnum):
    """callback_id of shortcuts and modals."""

    NEW_TICKET_SHORTCUT = "new_ticket"  # global shortcut "New ticket"
    CREATE_TICKET_FROM_MESSAGE = "create_ticket_from_message"  # message shortcut
    NEW_TICKET_MODAL = "new_ticket_modal"
    SEND_TO_REQUESTER = "send_to_requester"  # message shortcut in a card's thread
    INTERNAL_NOTE_MODAL = "internal_note_modal"
    REPLY_MODAL = "reply_to_requester_modal"
    SETUP_MODAL = "setup_modal"
    NOTICE_MODAL = "notice_modal"  # only tells the person something (an error)
    LOG_TIME_MODAL = "log_time_modal"
    SAVE_VIEW_MODAL = "save_view_modal"
    VIEW_RESULTS_MODAL = "view_results_modal"
    CSAT_COMMENT_MODAL = "csat_comment_modal"
    # /ticket setup: one client company, added or edited; removing one.
    COMPANY_MODAL = "company_modal"
    REMOVE_COMPANY_MODAL = "remove_company_modal"


class Action(StrEnum):
    """action_id of interactive elements."""

    ASSIGN_TO_ME = "ticket_assign_to_me"
    ASSIGNEE = "ticket_assignee"
    STATUS = "ticket_status"
    PRIORITY = "ticket_priority"
    REPLY_TO_REQUESTER = "ticket_reply_to_requester"
    ADD_INTERNAL_NOTE = "ticket_add_internal_note"
    CLIENT_COMPANY = "ticket_client_company"
    CATEGORY = "ticket_category"
    REOPEN = "ticket_reopen"
    CARD_MORE = "ticket_more"  # the card's ⋯ menu (values: CardMore)
    # On the offer Ticketbot makes for a DM outside any ticket thread.
    OFFER_NEW_TICKET = "offer_new_ticket"
    OFFER_ADD_TO_TICKET = "offer_add_to_ticket"
    # The satisfaction survey in the requester's DM thread (value: the ticket id).
    CSAT_GOOD = "csat_good"
    CSAT_BAD = "csat_bad"
    CSAT_COMMENT = "csat_comment"
    # App Home: the notification switches (checkboxes).
    NOTIFICATIONS = "home_notifications"
    # On the requester's "resolved" notice (value: the ticket id).
    REQUESTER_FIXED = "requester_fixed"
    REQUESTER_STILL_BROKEN = "requester_still_broken"
    # "Set up Ticketbot": the installer's welcome DM, an admin's App Home.
    OPEN_SETUP = "open_setup"
    # /ticket setup's client companies: "Add client company", and each one's Edit / Remove
    # menu (values "edit:<id>", "remove:<id>").
    COMPANY_ADD = "setup_company_add"
    COMPANY_MENU = "setup_company_menu"
    # App Home's "New ticket" button.
    HOME_NEW_TICKET = "home_new_ticket"
    # App Home links to cards.
    OPEN_CARD = "home_open_card"
    # Time tracking: on the card (value: the ticket id) and App Home.
    START_TIMER = "ticket_start_timer"
    STOP_TIMER = "ticket_stop_timer"
    LOG_TIME = "ticket_log_time"
    HOME_STOP_TIMER = "home_stop_timer"
    # /ticket find and saved views: a page of results, saving the query, opening a view.
    SEARCH_PAGE = "search_page"
    SAVE_VIEW = "search_save_view"
    OPEN_VIEW = "home_open_view"


class ReplyThen(StrEnum):
    """What happens to the ticket after a reply from the reply modal."""

    NOTHING = "nothing"
    PENDING = "pending"
    RESOLVED = "resolved"


class CardMore(StrEnum):
    """Values of the card's ⋯ menu (Action.CARD_MORE): the controls needed now and then."""

    NOTE = "note"
    ASSIGN_TO_ME = "assign_to_me"
    UNASSIGN = "unassign"
    CLOSE = "close"


class Block(StrEnum):
    """block_id of modal inputs and of the card's parts."""

    TITLE = "title"
    DESCRIPTION = "description"
    PRIORITY = "priority"
    CATEGORY = "category"
    REQUESTER = "requester"
    NOTE = "note"
    REPLY = "reply"
    REPLY_THEN = "reply_then"  # the reply modal's "Then" choice (values: ReplyThen)
    CLIENT_COMPANY = "client_company"
    # /ticket setup
    STAFF_CHANNEL = "staff_channel"
    CATEGORIES = "categories"
    DEFAULT_PRIORITY = "default_priority"
    COMPANIES = "companies"  # the "Add client company" button's block
    COMPANY = "company"  # one listed company: "company:<id>"
    COMPANY_NAME = "company_name"
    COMPANY_DOMAINS = "company_domains"
    COMPANY_TEAM = "company_team"
    COMPANY_CHANNELS = "company_channels"
    REQUEST_CHANNELS = "request_channels"
    SLA_DEFAULT_POLICY = "sla_default_policy"
    # One per client company: "sla_company_policy:<company id>".
    SLA_COMPANY_POLICY = "sla_company_policy"
    # Save as view
    VIEW_NAME = "view_name"
    # /ticket setup, automations: each block is named after the setting it edits.
    TIMEZONE = "timezone"
    AUTO_CLOSE_DAYS = "auto_close_days"
    PENDING_REMINDER_DAYS = "pending_reminder_business_days"
    PENDING_REMINDERS = "pending_reminders_before_resolve"
    CSAT_ENABLED = "csat_enabled"
    CSAT_SAMPLE_PERCENT = "csat_sample_percent"
    CSAT_COOLDOWN_HOURS = "csat_cooldown_hours"
    DIGEST_TIME = "digest_time"
    # The satisfaction comment modal.
    CSAT_COMMENT = "csat_comment"
    # The card's actions block is "ticket_actions:<ticket id>" so an action knows its ticket.
    CARD_ACTIONS = "ticket_actions"
    # Time tracking: the Log time modal, the reply and note modals' time field, App Home.
    DURATION = "duration"
    WORK_TYPE = "work_type"
    BILLABLE = "billable"
    TIME_NOTE = "time_note"
    LOG_TIME = "log_time"
    TIMER = "ticket_timer"
    HOME_TIMER = "home_timer"
    # The card's menus (assignee, status, priority, category, client): "ticket_menus:<id>".
    CARD_MENUS = "ticket_menus"


class Field(StrEnum):
    """action_id of the single element inside each modal input block."""

    VALUE = "value"


class Reaction(StrEnum):
    """Emoji reactions with a meaning."""

    FILE_TICKET = "ticket"
    # Marks Ticketbot puts on a staff member's message in a card's thread.
    SAVED_AS_NOTE = "lock"  # saved as an internal note (🔒 means internal, nothing else)
    SENT_TO_REQUESTER = "outbox_tray"  # sent to the requester (📤)


# Message metadata event type carried by every message the outbox posts (crash recovery).
OUTBOX_METADATA_EVENT = "ticketbot_outbox"


# The bot scopes the app asks for on install (manifest.yml lists exactly these).
BOT_SCOPES: tuple[str, ...] = (
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    # member_joined_channel (the bot invited back to the staff channel) asks for it.
    "mpim:read",
    "reactions:read",
    "reactions:write",
    "team:read",
    "users:read",
    "users:read.email",
)
