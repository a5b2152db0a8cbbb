"""Block Kit checks: the limits Slack enforces when a message or view is sent.

Slack answers ``invalid_blocks`` (messages) or ``invalid_arguments`` (views) when a payload
breaks a Block Kit rule, with ``response_metadata.messages`` such as
``[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]``.  The
functions here return those problems (without the ``[ERROR]`` prefix) so the simulator can
reject the same payloads and builder unit tests can assert on them without a server.

Limits are read from ``limits/block_kit_limits.json`` in Slack's spec folder when it exists;
the constants below are the fallback for machines without that folder (``ticketbot demo``).
Checks are deliberately limited to documented limits and required fields: a simulator that
rejects valid payloads is worse than one that misses an exotic rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .specs import default_spec_dir

Surface = Literal["message", "modal", "home"]


@dataclass(frozen=True)
class BlockKitLimits:
    """Maximum lengths/counts (characters unless named otherwise)."""

    message_blocks: int = 50
    modal_blocks: int = 100
    home_blocks: int = 100
    block_id: int = 255
    section_text: int = 3000
    section_fields: int = 10
    section_field_text: int = 2000
    header_text: int = 150
    actions_elements: int = 25
    context_elements: int = 10
    input_label: int = 2000
    input_hint: int = 2000
    button_text: int = 75
    action_id: int = 255
    button_url: int = 3000
    button_value: int = 2000
    button_accessibility_label: int = 75
    placeholder: int = 150
    select_options: int = 100
    # Not in limits/block_kit_limits.json; Slack's overflow menu reference: "An array of up
    # to five option objects to display in the menu."
    overflow_options: int = 5
    select_option_groups: int = 100
    option_group_label: int = 75
    option_group_options: int = 100
    option_text: int = 75
    option_value: int = 150
    option_description: int = 75
    option_url: int = 3000
    confirm_title: int = 100
    confirm_text: int = 300
    confirm_button: int = 30
    confirm_deny: int = 30
    text_input_max_length_min: int = 1
    text_input_max_length_max: int = 3000
    text_input_min_length_min: int = 0
    text_input_min_length_max: int = 3000
    modal_title: int = 24
    modal_close: int = 24
    modal_submit: int = 24
    private_metadata: int = 3000
    callback_id: int = 255
    external_id: int = 255
    view_size_bytes: int = 250 * 1024
    modal_stack_depth: int = 3
    message_text: int = 40_000
    markdown_text: int = 12_000
    message_attachments: int = 100
    markdown_block_text: int = 12_000
    image_url: int = 3000
    image_alt_text: int = 2000
    image_title: int = 2000


DEFAULT_LIMITS = BlockKitLimits()

# limits/block_kit_limits.json entry -> the BlockKitLimits field(s) it sets.  A two-number
# range sets (min, max); a dict sets one field per sub-key, in the order given here.
_SPEC_FIELDS: dict[str, tuple[str, ...]] = {
    "message.blocks[] (chat.postMessage / chat.update / chat.postEphemeral)": ("message_blocks",),
    "modal view.blocks[]": ("modal_blocks",),
    "home view.blocks[]": ("home_blocks",),
    "*.block_id": ("block_id",),
    "section.text.text": ("section_text",),
    "section.fields[] count": ("section_fields",),
    "section.fields[].text": ("section_field_text",),
    "header.text.text": ("header_text",),
    "actions.elements[] count": ("actions_elements",),
    "context.elements[] count": ("context_elements",),
    "input.label.text": ("input_label",),
    "input.hint.text": ("input_hint",),
    "button.text.text": ("button_text",),
    "button.action_id / any element action_id": ("action_id",),
    "button.url": ("button_url",),
    "button.value": ("button_value",),
    "button.accessibility_label": ("button_accessibility_label",),
    "*.placeholder.text (select menus, plain_text_input, datepicker, ...)": ("placeholder",),
    "static_select.options[] count": ("select_options",),
    "static_select.option_groups[] count": ("select_option_groups",),
    "option_group.label.text": ("option_group_label",),
    "option_group.options[] count": ("option_group_options",),
    "option.text.text": ("option_text",),
    "option.value": ("option_value",),
    "option.description.text": ("option_description",),
    "option.url (overflow menus only)": ("option_url",),
    "confirm.title.text": ("confirm_title",),
    "confirm.text.text": ("confirm_text",),
    "confirm.confirm.text": ("confirm_button",),
    "confirm.deny.text": ("confirm_deny",),
    "plain_text_input.max_length (value you may set)": (
        "text_input_max_length_min",
        "text_input_max_length_max",
    ),
    "plain_text_input.min_length (value you may set)": (
        "text_input_min_length_min",
        "text_input_min_length_max",
    ),
    "modal.title.text": ("modal_title",),
    "modal.close.text": ("modal_close",),
    "modal.submit.text": ("modal_submit",),
    "view.private_metadata (modal and home)": ("private_metadata",),
    "view.callback_id (modal and home)": ("callback_id",),
    "view.external_id": ("external_id",),
    "view payload size (views.open / views.update / views.publish / views.push)": (
        "view_size_bytes",
    ),
    "modal stack depth (views.push)": ("modal_stack_depth",),
    "chat.postMessage / chat.update text (truncation)": ("message_text",),
    "markdown_text argument (chat.postMessage / chat.update / chat.postEphemeral)": (
        "markdown_text",
    ),
    "attachments[] per message": ("message_attachments",),
    "markdown block text (cumulative per payload)": ("markdown_block_text",),
    "image block image_url / alt_text / title": ("image_url", "image_alt_text", "image_title"),
}


def _limit_values(raw: Any) -> tuple[int, ...]:
    """Turn a spec ``limit`` (int, [min, max], {name: int} or "250kb") into integers."""
    if isinstance(raw, bool):
        raise ValueError(f"unexpected limit {raw!r}")
    if isinstance(raw, int):
        return (raw,)
    if isinstance(raw, list):
        return tuple(int(v) for v in raw)
    if isinstance(raw, dict):
        return tuple(int(v) for v in raw.values())
    if isinstance(raw, str) and raw.lower().endswith("kb"):
        # Slack does not say whether "kb" means 1000 or 1024 bytes; the larger reading
        # keeps the simulator from rejecting a payload Slack would accept.
        return (int(raw[:-2]) * 1024,)
    raise ValueError(f"unexpected limit {raw!r}")


def load_limits(spec_dir: Path | None) -> BlockKitLimits:
    """Limits from ``<spec_dir>/limits/block_kit_limits.json``, constants for anything absent."""
    if spec_dir is None:
        return DEFAULT_LIMITS
    path = spec_dir / "limits" / "block_kit_limits.json"
    if not path.is_file():
        return DEFAULT_LIMITS
    entries: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("limits", {})
    overrides: dict[str, int] = {}
    for key, field_names in _SPEC_FIELDS.items():
        entry = entries.get(key)
        if not isinstance(entry, dict) or "limit" not in entry:
            continue
        values = _limit_values(entry["limit"])
        if len(values) == len(field_names):
            overrides.update(zip(field_names, values, strict=True))
    known = {f.name for f in fields(BlockKitLimits)}
    return replace(DEFAULT_LIMITS, **{k: v for k, v in overrides.items() if k in known})


@cache
def current_limits() -> BlockKitLimits:
    """Limits from the repository's spec folder when present, else the constants."""
    return load_limits(default_spec_dir())


# Which element types each container accepts (docs.slack.dev block reference pages).
_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
SECTION_ACCESSORY_TYPES = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "image",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
ACTIONS_ELEMENT_TYPES = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
    "rich_text_input",
    "feedback_buttons",
    "icon_button",
}
INPUT_ELEMENT_TYPES = _SELECTS | {
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "file_input",
    "number_input",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "timepicker",
    "url_text_input",
}
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


class _Checker:
    """Walks one payload and collects problems as ``"<message> [json-pointer:<path>]"``."""

    def __init__(self, limits: BlockKitLimits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self._markdown_chars = 0

    # -- primitives ---------------------------------------------------------------------

    def problem(self, pointer: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def string(
        self,
        value: Any,
        pointer: str,
        limit: int | None,
        *,
        required: bool = False,
        min_len: int = 0,
    ) -> None:
        if value is None:
            if required:
                self.problem(pointer, "missing required field")
            return
        if not isinstance(value, str):
            self.problem(pointer, "must be a string")
            return
        if len(value) < min_len:
            self.problem(pointer, f"must be more than {min_len - 1} characters")
        if limit is not None and len(value) > limit:
            self.problem(pointer, f"must be less than {limit + 1} characters")

    def text_object(
        self,
        obj: Any,
        pointer: str,
        limit: int | None,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.problem(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.problem(pointer, "must be a text object")
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            expected = " or ".join(f'"{t}"' for t in allowed)
            self.problem(f"{pointer}/type", f"must be {expected}")
        # Slack rejects empty text objects ("must be more than 0 characters").
        self.string(obj.get("text"), f"{pointer}/text", limit, required=True, min_len=1)

    def array(
        self, value: Any, pointer: str, *, max_items: int | None, min_items: int = 1
    ) -> list[Any] | None:
        if not isinstance(value, list):
            self.problem(
                pointer, "must be an array" if value is not None else "missing required field"
            )
            return None
        if len(value) < min_items:
            self.problem(pointer, f"must provide at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            self.problem(pointer, f"no more than {max_items} items allowed")
        return value

    # -- composition objects ------------------------------------------------------------

    def confirm(self, obj: Any, pointer: str) -> None:
        if obj is None:
            return
        if not isinstance(obj, dict):
            self.problem(pointer, "must be a confirmation dialog object")
            return
        lim = self.limits
        self.text_object(obj.get("title"), f"{pointer}/title", lim.confirm_title, plain_only=True)
        self.text_object(obj.get("text"), f"{pointer}/text", lim.confirm_text)
        self.text_object(
            obj.get("confirm"), f"{pointer}/confirm", lim.confirm_button, plain_only=True
        )
        self.text_object(obj.get("deny"), f"{pointer}/deny", lim.confirm_deny, plain_only=True)

    def option(self, opt: Any, pointer: str, *, allow_mrkdwn: bool, allow_url: bool) -> None:
        if not isinstance(opt, dict):
            self.problem(pointer, "must be an option object")
            return
        lim = self.limits
        self.text_object(
            opt.get("text"), f"{pointer}/text", lim.option_text, plain_only=not allow_mrkdwn
        )
        self.string(opt.get("value"), f"{pointer}/value", lim.option_value, required=True)
        self.text_object(
            opt.get("description"),
            f"{pointer}/description",
            lim.option_description,
            required=False,
        )
        if allow_url:
            self.string(opt.get("url"), f"{pointer}/url", lim.option_url)

    def options(
        self,
        options: Any,
        pointer: str,
        *,
        max_items: int,
        allow_mrkdwn: bool = False,
        allow_url: bool = False,
    ) -> list[Any]:
        items = self.array(options, pointer, max_items=max_items)
        for index, opt in enumerate(items or []):
            self.option(opt, f"{pointer}/{index}", allow_mrkdwn=allow_mrkdwn, allow_url=allow_url)
        return items or []

    # -- elements -----------------------------------------------------------------------

    def element(self, element: Any, pointer: str, allowed: frozenset[str] | set[str]) -> None:
        if not isinstance(element, dict):
            self.problem(pointer, "must be an element object")
            return
        etype = element.get("type")
        if etype not in allowed:
            self.problem(f"{pointer}/type", f"element type {etype!r} is not allowed here")
            return
        lim = self.limits
        if "action_id" in element:
            self.string(element["action_id"], f"{pointer}/action_id", lim.action_id, min_len=1)
        self.text_object(
            element.get("placeholder"),
            f"{pointer}/placeholder",
            lim.placeholder,
            plain_only=True,
            required=False,
        )
        self.confirm(element.get("confirm"), f"{pointer}/confirm")

        if etype == "button":
            self.text_object(
                element.get("text"), f"{pointer}/text", lim.button_text, plain_only=True
            )
            self.string(element.get("value"), f"{pointer}/value", lim.button_value)
            self.string(element.get("url"), f"{pointer}/url", lim.button_url)
            self.string(
                element.get("accessibility_label"),
                f"{pointer}/accessibility_label",
                lim.button_accessibility_label,
            )
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.problem(f"{pointer}/style", 'must be "primary" or "danger"')
        elif etype in ("static_select", "multi_static_select"):
            self._static_select(element, pointer)
        elif etype in ("checkboxes", "radio_buttons"):
            opts = self.options(
                element.get("options"),
                f"{pointer}/options",
                max_items=lim.select_options,
                allow_mrkdwn=True,
            )
            self._initial_options_match(element, opts, pointer)
        elif etype == "overflow":
            self.options(
                element.get("options"),
                f"{pointer}/options",
                max_items=lim.overflow_options,
                allow_url=True,
            )
        elif etype == "plain_text_input":
            self._text_input_lengths(element, pointer)
        elif etype == "image":
            self._image(element, pointer, title_allowed=False)

    def _static_select(self, element: dict[str, Any], pointer: str) -> None:
        lim = self.limits
        has_options = "options" in element
        has_groups = "option_groups" in element
        if has_options == has_groups:
            self.problem(pointer, "must provide exactly one of options or option_groups")
            return
        if has_options:
            opts = self.options(
                element["options"], f"{pointer}/options", max_items=lim.select_options
            )
        else:
            opts = []
            groups = self.array(
                element["option_groups"],
                f"{pointer}/option_groups",
                max_items=lim.select_option_groups,
            )
            for index, group in enumerate(groups or []):
                gp = f"{pointer}/option_groups/{index}"
                if not isinstance(group, dict):
                    self.problem(gp, "must be an option group object")
                    continue
                self.text_object(
                    group.get("label"), f"{gp}/label", lim.option_group_label, plain_only=True
                )
                opts += self.options(
                    group.get("options"), f"{gp}/options", max_items=lim.option_group_options
                )
        self._initial_options_match(element, opts, pointer)

    def _initial_options_match(
        self, element: dict[str, Any], options: list[Any], pointer: str
    ) -> None:
        """Slack rejects an initial_option(s) that is not one of the element's options."""
        values = {o.get("value") for o in options if isinstance(o, dict)}
        initial = element.get("initial_option")
        if isinstance(initial, dict) and initial.get("value") not in values:
            self.problem(f"{pointer}/initial_option", "must match one of the provided options")
        for index, opt in enumerate(element.get("initial_options") or []):
            if not isinstance(opt, dict) or opt.get("value") not in values:
                self.problem(
                    f"{pointer}/initial_options/{index}", "must match one of the provided options"
                )

    def _text_input_lengths(self, element: dict[str, Any], pointer: str) -> None:
        lim = self.limits
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        if max_length is not None and (
            not isinstance(max_length, int)
            or not lim.text_input_max_length_min <= max_length <= lim.text_input_max_length_max
        ):
            self.problem(
                f"{pointer}/max_length",
                f"must be between {lim.text_input_max_length_min} and "
                f"{lim.text_input_max_length_max}",
            )
        if min_length is not None and (
            not isinstance(min_length, int)
            or not lim.text_input_min_length_min <= min_length <= lim.text_input_min_length_max
        ):
            self.problem(
                f"{pointer}/min_length",
                f"must be between {lim.text_input_min_length_min} and "
                f"{lim.text_input_min_length_max}",
            )
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            self.problem(f"{pointer}/min_length", "must not be greater than max_length")

    def _image(self, obj: dict[str, Any], pointer: str, *, title_allowed: bool) -> None:
        lim = self.limits
        if obj.get("image_url") is None and obj.get("slack_file") is None:
            self.problem(pointer, "must provide image_url or slack_file")
        self.string(obj.get("image_url"), f"{pointer}/image_url", lim.image_url)
        self.string(
            obj.get("alt_text"), f"{pointer}/alt_text", lim.image_alt_text, required=True, min_len=1
        )
        if title_allowed:
            self.text_object(
                obj.get("title"),
                f"{pointer}/title",
                lim.image_title,
                plain_only=True,
                required=False,
            )

    # -- blocks -------------------------------------------------------------------------

    def blocks(self, blocks: Any, surface: Surface, pointer: str) -> None:
        lim = self.limits
        max_blocks = {
            "message": lim.message_blocks,
            "modal": lim.modal_blocks,
            "home": lim.home_blocks,
        }[surface]
        items = self.array(blocks, pointer, max_items=max_blocks, min_items=0)
        seen_block_ids: set[str] = set()
        for index, block in enumerate(items or []):
            bp = f"{pointer}/{index}"
            if not isinstance(block, dict):
                self.problem(bp, "must be a block object")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.string(block_id, f"{bp}/block_id", lim.block_id, min_len=1)
                if isinstance(block_id, str):
                    if block_id in seen_block_ids:
                        self.problem(f"{bp}/block_id", f"duplicate block_id {block_id!r}")
                    seen_block_ids.add(block_id)
            btype = block.get("type")
            if btype not in BLOCK_TYPES:
                self.problem(f"{bp}/type", f"unsupported block type {btype!r}")
                continue
            if btype == "file" and surface != "message":
                self.problem(f"{bp}/type", "file blocks are only allowed in messages")
                continue
            self.block(block, btype, bp)

    def block(self, block: dict[str, Any], btype: str, bp: str) -> None:
        lim = self.limits
        if btype == "section":
            text, section_fields = block.get("text"), block.get("fields")
            if text is None and section_fields is None:
                self.problem(bp, "must provide either text or fields")
            self.text_object(text, f"{bp}/text", lim.section_text, required=False)
            if section_fields is not None:
                items = self.array(section_fields, f"{bp}/fields", max_items=lim.section_fields)
                for index, item in enumerate(items or []):
                    self.text_object(item, f"{bp}/fields/{index}", lim.section_field_text)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{bp}/accessory", SECTION_ACCESSORY_TYPES)
        elif btype == "header":
            self.text_object(block.get("text"), f"{bp}/text", lim.header_text, plain_only=True)
        elif btype == "actions":
            items = self.array(
                block.get("elements"), f"{bp}/elements", max_items=lim.actions_elements
            )
            self._elements(items or [], f"{bp}/elements", ACTIONS_ELEMENT_TYPES)
        elif btype == "context":
            items = self.array(
                block.get("elements"), f"{bp}/elements", max_items=lim.context_elements
            )
            for index, item in enumerate(items or []):
                ep = f"{bp}/elements/{index}"
                if isinstance(item, dict) and item.get("type") == "image":
                    self._image(item, ep, title_allowed=False)
                else:
                    # Slack documents no length cap for context text; only emptiness is checked.
                    self.text_object(item, ep, limit=None)
        elif btype == "input":
            self.text_object(block.get("label"), f"{bp}/label", lim.input_label, plain_only=True)
            self.text_object(
                block.get("hint"), f"{bp}/hint", lim.input_hint, plain_only=True, required=False
            )
            if block.get("element") is None:
                self.problem(f"{bp}/element", "missing required field")
            else:
                self.element(block["element"], f"{bp}/element", INPUT_ELEMENT_TYPES)
            for flag in ("optional", "dispatch_action"):
                if flag in block and not isinstance(block[flag], bool):
                    self.problem(f"{bp}/{flag}", "must be a boolean")
        elif btype == "image":
            self._image(block, bp, title_allowed=True)
        elif btype == "markdown":
            text = block.get("text")
            self.string(text, f"{bp}/text", lim.markdown_block_text, required=True, min_len=1)
            if isinstance(text, str):
                self._markdown_chars += len(text)
                if self._markdown_chars > lim.markdown_block_text:
                    self.problem(
                        f"{bp}/text",
                        f"markdown blocks may hold at most {lim.markdown_block_text} characters "
                        "in total",
                    )
        elif btype == "rich_text":
            self.array(block.get("elements"), f"{bp}/elements", max_items=None, min_items=0)

    def _elements(
        self, elements: Iterable[Any], pointer: str, allowed: frozenset[str] | set[str]
    ) -> None:
        seen_action_ids: set[str] = set()
        for index, element in enumerate(elements):
            ep = f"{pointer}/{index}"
            self.element(element, ep, allowed)
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                # "Should be unique among all other action_ids in the containing block."
                if action_id in seen_action_ids:
                    self.problem(f"{ep}/action_id", f"duplicate action_id {action_id!r}")
                seen_action_ids.add(action_id)


def validate_blocks(
    blocks: Any,
    surface: Surface = "message",
    *,
    limits: BlockKitLimits | None = None,
    pointer: str = "/blocks",
) -> list[str]:
    """Problems Slack would report for ``blocks`` on ``surface``; empty when Slack accepts them."""
    checker = _Checker(limits or current_limits())
    checker.blocks(blocks, surface, pointer)
    return checker.problems


def validate_view(
    view: Any, *, limits: BlockKitLimits | None = None, pointer: str = "/view"
) -> list[str]:
    """Problems Slack would report for a modal or Home tab view object."""
    lim = limits or current_limits()
    checker = _Checker(lim)
    if not isinstance(view, dict):
        checker.problem(pointer, "must be a view object")
        return checker.problems
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        checker.problem(f"{pointer}/type", 'must be "modal" or "home"')
        return checker.problems
    blocks = view.get("blocks")
    if blocks is None:
        checker.problem(f"{pointer}/blocks", "missing required field")
    else:
        checker.blocks(blocks, vtype, f"{pointer}/blocks")
    if vtype == "modal":
        checker.text_object(view.get("title"), f"{pointer}/title", lim.modal_title, plain_only=True)
        checker.text_object(
            view.get("close"), f"{pointer}/close", lim.modal_close, plain_only=True, required=False
        )
        checker.text_object(
            view.get("submit"),
            f"{pointer}/submit",
            lim.modal_submit,
            plain_only=True,
            required=False,
        )
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            # "submit is required when an input block is within the blocks array."
            checker.problem(f"{pointer}/submit", "is required when the view has input blocks")
    checker.string(
        view.get("private_metadata"), f"{pointer}/private_metadata", lim.private_metadata
    )
    checker.string(view.get("callback_id"), f"{pointer}/callback_id", lim.callback_id)
    checker.string(view.get("external_id"), f"{pointer}/external_id", lim.external_id)
    for flag in ("clear_on_close", "notify_on_close", "submit_disabled"):
        if flag in view and not isinstance(view[flag], bool):
            checker.problem(f"{pointer}/{flag}", "must be a boolean")
    return checker.problems
