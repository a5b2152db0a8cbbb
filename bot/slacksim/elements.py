"""Interactive elements inside blocks: finding them and the state shapes Slack reports.

Slack reports what a user entered as ``state.values[block_id][action_id]``, and what they
clicked as ``actions[]``; both use per-element-type shapes (``value`` for text inputs,
``selected_option`` for static selects, ``selected_user`` for user pickers, ...).  The driver
uses these helpers to build the payloads Slack would send for a given user input.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

TEXT_INPUT_TYPES = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
)
SINGLE_OPTION_TYPES = frozenset({"static_select", "external_select", "radio_buttons", "overflow"})
MULTI_OPTION_TYPES = frozenset({"multi_static_select", "multi_external_select", "checkboxes"})
# element type -> (state key, initial_* key) for pickers whose value is an id or a date/time.
SCALAR_PICKERS: dict[str, tuple[str, str]] = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}
LIST_PICKERS: dict[str, tuple[str, str]] = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
# Elements whose current value appears in state.values (buttons and overflow menus do not).
STATEFUL_TYPES = (
    TEXT_INPUT_TYPES
    | (SINGLE_OPTION_TYPES - {"overflow"})
    | MULTI_OPTION_TYPES
    | frozenset(SCALAR_PICKERS)
    | frozenset(LIST_PICKERS)
    | {"rich_text_input", "file_input"}
)


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (block, element) for every interactive element in ``blocks``."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "actions":
            for element in block.get("elements") or []:
                if isinstance(element, dict):
                    yield block, element
        elif btype == "section" and isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]
        elif btype == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (block, element) with ``action_id`` (within ``block_id`` when given)."""
    for block, element in iter_elements(blocks):
        if element.get("action_id") == action_id and (
            block_id is None or block.get("block_id") == block_id
        ):
            return block, element
    where = f" in block {block_id!r}" if block_id else ""
    known = sorted({str(e.get("action_id")) for _, e in iter_elements(blocks)})
    raise KeyError(f"no element with action_id {action_id!r}{where}; action_ids: {known}")


def input_label(block: dict[str, Any]) -> str | None:
    label = block.get("label")
    return label.get("text") if isinstance(label, dict) else None


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


def find_option(element: dict[str, Any], wanted: Any) -> dict[str, Any]:
    """The option whose value is ``wanted`` (a value string or an option dict)."""
    value = wanted.get("value") if isinstance(wanted, dict) else wanted
    if element.get("type") in ("external_select", "multi_external_select"):
        # External selects load options from the app at runtime; the simulator cannot know
        # them, so it accepts the value (or the full option) as given.
        if isinstance(wanted, dict):
            return copy.deepcopy(wanted)
        return {"text": {"type": "plain_text", "text": str(value), "emoji": True}, "value": value}
    for option in all_options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    known = [o.get("value") for o in all_options(element)]
    raise ValueError(
        f"{element.get('action_id')!r} has no option with value {value!r}; values: {known}"
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def rich_text_from_string(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def state_for_input(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """``state.values`` entry for ``element`` after the user entered/selected ``value``.

    ``value`` is what a test would naturally say: a string for text inputs, an option value
    for selects/radio buttons (a list for multi selects/checkboxes), a user/channel id for
    pickers, ``None`` for "left empty".
    """
    etype = str(element.get("type"))
    entry: dict[str, Any] = {"type": etype}
    if etype in TEXT_INPUT_TYPES:
        entry["value"] = None if value is None else str(value)
    elif etype in SINGLE_OPTION_TYPES:
        entry["selected_option"] = None if value is None else find_option(element, value)
    elif etype in MULTI_OPTION_TYPES:
        entry["selected_options"] = [find_option(element, v) for v in _as_list(value)]
    elif etype in SCALAR_PICKERS:
        entry[SCALAR_PICKERS[etype][0]] = value
    elif etype in LIST_PICKERS:
        entry[LIST_PICKERS[etype][0]] = _as_list(value)
    elif etype == "rich_text_input":
        entry["rich_text_value"] = (
            rich_text_from_string(value) if isinstance(value, str) else copy.deepcopy(value)
        )
    elif etype == "file_input":
        entry["files"] = _as_list(value)
    else:
        entry["value"] = value
    return entry


def initial_state(element: dict[str, Any]) -> dict[str, Any]:
    """``state.values`` entry for an element the user has not touched (its initial_* or empty)."""
    etype = str(element.get("type"))
    entry: dict[str, Any] = {"type": etype}
    if etype in TEXT_INPUT_TYPES:
        entry["value"] = element.get("initial_value")
    elif etype in SINGLE_OPTION_TYPES:
        entry["selected_option"] = copy.deepcopy(element.get("initial_option"))
    elif etype in MULTI_OPTION_TYPES:
        entry["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
    elif etype in SCALAR_PICKERS:
        entry[SCALAR_PICKERS[etype][0]] = element.get(SCALAR_PICKERS[etype][1])
    elif etype in LIST_PICKERS:
        entry[LIST_PICKERS[etype][0]] = list(element.get(LIST_PICKERS[etype][1]) or [])
    elif etype == "rich_text_input":
        entry["rich_text_value"] = copy.deepcopy(element.get("initial_value"))
    elif etype == "file_input":
        entry["files"] = []
    return entry


def default_state_values(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``state.values`` of ``blocks`` before any user input (initial values only)."""
    values: dict[str, dict[str, Any]] = {}
    for block, element in iter_elements(blocks):
        if (
            element.get("type") in STATEFUL_TYPES
            and block.get("block_id")
            and element.get("action_id")
        ):
            values.setdefault(block["block_id"], {})[element["action_id"]] = initial_state(element)
    return values


def action_payload(
    block: dict[str, Any], element: dict[str, Any], value: Any, action_ts: str
) -> dict[str, Any]:
    """One ``actions[]`` entry of a block_actions payload."""
    etype = element.get("type")
    action: dict[str, Any] = {
        "type": etype,
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
    }
    if etype in ("button", "workflow_button"):
        action["text"] = copy.deepcopy(element.get("text"))
        action["value"] = value if value is not None else element.get("value")
        if element.get("style"):
            action["style"] = element["style"]
    else:
        action.update(state_for_input(element, value))
        if element.get("placeholder"):
            action["placeholder"] = copy.deepcopy(element["placeholder"])
    action["action_ts"] = action_ts
    return action
