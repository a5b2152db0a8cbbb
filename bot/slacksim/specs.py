"""Where Slack's official spec files live, and the Web API argument rules taken from them.

The simulator rejects calls the way Slack does, so it needs each method's required
arguments, argument types and one-of groups.  Those come from Slack's own docs data in
``../shared/slack-specs`` when the folder exists (development checkouts, CI).  ``ticketbot
demo`` runs on machines without that folder, so the same rules are also kept here as
constants; a test asserts the constants still equal the spec files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

GroupKind = Literal["one_or_more_of", "one_of", "exactly_one_of", "mutually_exclusive"]


@dataclass(frozen=True)
class MethodSpec:
    """What Slack checks about one Web API method's arguments (``token`` excluded)."""

    name: str
    required: tuple[str, ...] = ()
    # JSON-Schema type names per argument; an empty tuple means "any type".
    arg_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (kind, argument names) pairs, e.g. ("one_or_more_of", ("text", "blocks")).
    groups: tuple[tuple[GroupKind, tuple[str, ...]], ...] = ()
    # Whether Slack reads an application/json body for this method.  Methods without
    # JSON support only read form/query arguments, so a JSON body looks empty to them.
    json_body: bool = False


def default_spec_dir() -> Path | None:
    """``<repo>/../shared/slack-specs`` if it exists (this file is ``<repo>/bot/slacksim/``)."""
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "slack-specs"
    return candidate if candidate.is_dir() else None


# Generated from docs-slack-dev/methods/<method>.json (required, properties, json_input_supported)
# and web-api/helpdesk_methods.json (argument_groups).  Keep in sync via tests/slacksim.
FALLBACK_METHOD_SPECS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "auth.test",
            required=(),
            arg_types={},
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "chat.postMessage",
            required=("channel",),
            arg_types={
                "as_user": ("boolean",),
                "attachments": ("boolean", "null", "string"),
                "blocks": ("null", "string"),
                "channel": ("string",),
                "current_draft_last_updated_ts": ("string",),
                "icon_emoji": ("null", "string"),
                "icon_url": ("null", "string"),
                "link_names": ("boolean",),
                "markdown_text": ("string",),
                "metadata": ("null", "string"),
                "mrkdwn": ("boolean",),
                "parse": ("null", "string"),
                "reply_broadcast": ("boolean",),
                "text": ("null", "string"),
                "thread_ts": ("null", "string"),
                "unfurl_links": ("boolean",),
                "unfurl_media": ("boolean",),
                "username": ("null", "string"),
            },
            groups=(
                ("one_or_more_of", ("attachments", "blocks", "text", "markdown_text")),
                ("mutually_exclusive", ("text", "markdown_text")),
            ),
            json_body=True,
        ),
        MethodSpec(
            "chat.update",
            required=("ts", "channel"),
            arg_types={
                "as_user": ("boolean", "null", "string"),
                "attachments": ("null", "string"),
                "unfurled_attachments": ("null", "string"),
                "blocks": ("null", "string"),
                "markdown_text": ("string",),
                "metadata": ("null", "string"),
                "channel": ("string",),
                "link_names": ("boolean", "null", "string"),
                "parse": ("null", "string"),
                "text": ("null", "string"),
                "ts": ("string",),
                "reply_broadcast": ("boolean",),
                "file_ids": ("array",),
            },
            groups=(
                ("one_or_more_of", ("attachments", "blocks", "text", "markdown_text")),
                ("mutually_exclusive", ("text", "markdown_text")),
            ),
            json_body=True,
        ),
        MethodSpec(
            "chat.postEphemeral",
            required=("user", "channel"),
            arg_types={
                "as_user": ("boolean",),
                "attachments": ("null", "string"),
                "blocks": ("null", "string"),
                "channel": ("string",),
                "icon_emoji": ("string",),
                "icon_url": ("string",),
                "link_names": ("boolean",),
                "markdown_text": ("string",),
                "metadata": ("null", "string"),
                "parse": ("null", "string"),
                "text": ("null", "string"),
                "thread_ts": ("null", "string"),
                "user": (),
                "username": ("string",),
            },
            groups=(
                ("one_or_more_of", ("attachments", "blocks", "text", "markdown_text")),
                ("mutually_exclusive", ("text", "markdown_text")),
            ),
            json_body=True,
        ),
        MethodSpec(
            "chat.delete",
            required=("ts", "channel"),
            arg_types={"as_user": ("boolean",), "channel": ("string",), "ts": ("string",)},
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "chat.getPermalink",
            required=("channel", "message_ts"),
            arg_types={"channel": ("string",), "message_ts": ("string",)},
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "conversations.open",
            required=(),
            arg_types={
                "channel": ("null", "string"),
                "return_im": ("boolean",),
                "users": ("string",),
                "prevent_creation": ("boolean",),
            },
            groups=(("one_of", ("channel", "users")),),
            json_body=True,
        ),
        MethodSpec(
            "conversations.info",
            required=("channel",),
            arg_types={
                "channel": ("string",),
                "include_locale": ("boolean",),
                "include_num_members": ("boolean",),
            },
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "conversations.members",
            required=("channel",),
            arg_types={"channel": ("string",), "cursor": ("string",), "limit": ("number",)},
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "conversations.replies",
            required=("channel", "ts"),
            arg_types={
                "channel": ("string",),
                "cursor": ("string",),
                "include_all_metadata": ("boolean",),
                "inclusive": ("boolean",),
                "latest": ("string",),
                "limit": ("number",),
                "oldest": ("string",),
                "ts": ("string",),
            },
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "conversations.history",
            required=("channel",),
            arg_types={
                "channel": ("string",),
                "cursor": ("string",),
                "include_all_metadata": ("boolean",),
                "inclusive": ("boolean",),
                "latest": ("string",),
                "limit": ("number",),
                "oldest": ("string",),
            },
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "views.open",
            required=("view",),
            arg_types={
                "trigger_id": ("null", "string"),
                "interactivity_pointer": ("null", "string"),
                "view": ("object",),
            },
            groups=(("exactly_one_of", ("trigger_id", "interactivity_pointer")),),
            json_body=True,
        ),
        MethodSpec(
            "views.update",
            required=("view",),
            arg_types={
                "view_id": ("string",),
                "external_id": ("string",),
                "view": (),
                "hash": ("string",),
            },
            groups=(("exactly_one_of", ("external_id", "view_id")),),
            json_body=True,
        ),
        MethodSpec(
            "views.push",
            required=("view",),
            arg_types={
                "trigger_id": ("null", "string"),
                "interactivity_pointer": ("null", "string"),
                "view": (),
            },
            groups=(("exactly_one_of", ("trigger_id", "interactivity_pointer")),),
            json_body=True,
        ),
        MethodSpec(
            "views.publish",
            required=("user_id", "view"),
            arg_types={
                "user_id": ("string",),
                "view": (),
                "hash": ("string",),
                "interactivity_pointer": ("string",),
            },
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "users.info",
            required=("user",),
            arg_types={"include_locale": ("boolean",), "user": ("string",)},
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "users.lookupByEmail",
            required=("email",),
            arg_types={"email": ("string",)},
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "team.info",
            required=(),
            arg_types={"domain": ("string",), "team": ("string",)},
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "files.info",
            required=("file",),
            arg_types={
                "count": ("integer",),
                "cursor": ("string",),
                "file": ("string",),
                "limit": ("integer",),
                "page": ("integer",),
            },
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "files.getUploadURLExternal",
            required=("length", "filename"),
            arg_types={
                "length": ("integer",),
                "filename": ("string",),
                "snippet_type": ("string",),
                "alt_txt": ("string",),
            },
            groups=(),
            json_body=False,
        ),
        MethodSpec(
            "files.completeUploadExternal",
            required=("files",),
            arg_types={
                "files": ("array",),
                "channel_id": (),
                "thread_ts": ("string",),
                "channels": ("string",),
                "initial_comment": ("string",),
                "blocks": ("string",),
                "username": ("null", "string"),
                "icon_url": ("string",),
                "icon_emoji": ("string",),
            },
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "reactions.add",
            required=("name", "timestamp", "channel"),
            arg_types={"channel": ("string",), "name": ("string",), "timestamp": ("string",)},
            groups=(),
            json_body=True,
        ),
        MethodSpec(
            "oauth.v2.access",
            required=(),
            arg_types={
                "client_id": ("string",),
                "client_secret": ("string",),
                "code": ("string",),
                "code_verifier": ("string",),
                "redirect_uri": ("string",),
                "grant_type": ("string",),
                "refresh_token": ("string",),
                "assertion": ("string",),
            },
            groups=(),
            json_body=False,
        ),
    )
}


def _schema_types(schema: dict[str, Any]) -> tuple[str, ...]:
    """Collect the type names of one argument schema (``type``, or inside anyOf/allOf/oneOf)."""
    names: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        names.add(declared)
    elif isinstance(declared, list):
        names.update(t for t in declared if isinstance(t, str))
    for combinator in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(combinator, []):
            option_type = option.get("type")
            if isinstance(option_type, str):
                names.add(option_type)
            elif isinstance(option_type, list):
                names.update(t for t in option_type if isinstance(t, str))
    return tuple(sorted(names))


def _load_groups(spec_dir: Path) -> dict[str, tuple[tuple[GroupKind, tuple[str, ...]], ...]]:
    path = spec_dir / "web-api" / "helpdesk_methods.json"
    if not path.is_file():
        return {}
    methods = json.loads(path.read_text(encoding="utf-8")).get("methods", {})
    groups: dict[str, tuple[tuple[GroupKind, tuple[str, ...]], ...]] = {}
    for name, info in methods.items():
        parsed = []
        for group in info.get("argument_groups", []):
            for kind, members in group.items():
                parsed.append((kind, tuple(members)))
        groups[name] = tuple(parsed)
    return groups


def load_method_specs(spec_dir: Path | None) -> dict[str, MethodSpec]:
    """The simulated methods' specs, read from ``spec_dir`` where a file exists, else constants."""
    if spec_dir is None:
        return dict(FALLBACK_METHOD_SPECS)
    return dict(_load_method_specs_cached(spec_dir.resolve()))


@cache
def _load_method_specs_cached(spec_dir: Path) -> dict[str, MethodSpec]:
    groups = _load_groups(spec_dir)
    specs: dict[str, MethodSpec] = {}
    for name, fallback in FALLBACK_METHOD_SPECS.items():
        path = spec_dir / "docs-slack-dev" / "methods" / f"{name}.json"
        if not path.is_file():
            specs[name] = fallback
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        args = doc.get("args") or {}
        properties: dict[str, Any] = args.get("properties") or {}
        specs[name] = MethodSpec(
            name=name,
            required=tuple(a for a in (args.get("required") or []) if a != "token"),
            arg_types={
                arg: _schema_types(schema) for arg, schema in properties.items() if arg != "token"
            },
            groups=groups.get(name, fallback.groups),
            json_body=doc.get("json_input_supported") is True,
        )
    return specs
