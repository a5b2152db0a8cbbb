"""The simulated Web API methods: argument checks and Slack-shaped responses.

Each handler takes an ``ApiCall`` (authenticated team + decoded arguments) and returns the
response body, or raises ``SlackError``.  Handlers run with the workspace lock held, so a
call is atomic like a single Slack request.  Response shapes follow the ``examples`` in
``docs-slack-dev/methods/<method>.json``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .blockkit import validate_blocks, validate_view
from .records import APP_ID, Channel, PendingUpload, SlackError, Team, is_thread_reply
from .specs import MethodSpec
from .workspace import Workspace

# Arguments that carry JSON documents.  They arrive as JSON-encoded strings in form bodies
# and as real JSON values in JSON bodies; each handler parses them with its own error code.
JSON_ARGS = frozenset(
    {"blocks", "attachments", "unfurled_attachments", "metadata", "view", "files", "file_ids"}
)
_TRUE = ("true", "1")
_FALSE = ("false", "0")
# Methods whose text-or-blocks check fails with no_text (others use invalid_arguments).
_MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")


def present(value: Any) -> bool:
    """Slack treats an empty string like a missing argument."""
    return value is not None and value != ""


@dataclass
class ApiCall:
    ws: Workspace
    method: str
    team: Team
    args: dict[str, Any]

    def text(self, name: str) -> str | None:
        value = self.args.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise SlackError("invalid_arguments", f"[ERROR] missing required field: {name}")
        return value

    def flag(self, name: str) -> bool:
        value = self.args.get(name)
        if isinstance(value, str):
            return value.lower() in _TRUE
        return bool(value)

    def integer(self, name: str, default: int) -> int:
        value = self.args.get(name)
        if not present(value):
            return default
        return int(float(value))

    def json_value(self, name: str, error: str) -> Any:
        """The decoded JSON argument ``name`` (None when absent); ``error`` when undecodable."""
        value = self.args.get(name)
        if not present(value):
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error, f"[ERROR] `{name}` is not valid JSON") from None
        return value


# -- argument validation (before dispatch) ------------------------------------------------


def _type_problem(name: str, value: Any, types: tuple[str, ...]) -> str | None:
    wanted = set(types) - {"null"}
    if name in JSON_ARGS or not wanted or value is None:
        return None
    if wanted == {"boolean"}:
        if isinstance(value, bool) or value in (0, 1):
            return None
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return None
        return f"[ERROR] `{name}` must be a boolean (true, false, 1 or 0)"
    if wanted <= {"integer", "number"}:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return None
        try:
            float(value)
        except (TypeError, ValueError):
            return f"[ERROR] `{name}` must be a number"
        return None
    if wanted == {"string"} and isinstance(value, dict | list | bool):
        return f"[ERROR] `{name}` must be a string"
    return None


def check_arguments(spec: MethodSpec, args: dict[str, Any]) -> None:
    """Slack's generic checks: required arguments, argument types, one-of groups."""
    missing = [name for name in spec.required if not present(args.get(name))]
    if missing:
        raise SlackError(
            "invalid_arguments", *(f"[ERROR] missing required field: {name}" for name in missing)
        )
    problems = [
        problem
        for name, value in args.items()
        if (problem := _type_problem(name, value, spec.arg_types.get(name, ()))) is not None
    ]
    if problems:
        raise SlackError("invalid_arguments", *problems)
    for kind, names in spec.groups:
        given = [name for name in names if present(args.get(name))]
        listed = ", ".join(f"`{n}`" for n in names)
        if kind == "one_or_more_of" and not given:
            if spec.name in _MESSAGE_METHODS:
                raise SlackError("no_text")
            raise SlackError("invalid_arguments", f"[ERROR] one of {listed} is required")
        if kind == "mutually_exclusive" and len(given) > 1:
            if "markdown_text" in given:
                raise SlackError("markdown_text_conflict")
            raise SlackError("invalid_arguments", f"[ERROR] only one of {listed} may be given")
        if kind == "exactly_one_of" and len(given) != 1:
            raise SlackError("invalid_arguments", f"[ERROR] exactly one of {listed} is required")
        if kind == "one_of" and not given:
            if spec.name == "conversations.open":
                raise SlackError("users_list_not_supplied")
            raise SlackError("invalid_arguments", f"[ERROR] one of {listed} is required")


# -- shared pieces ------------------------------------------------------------------------


@dataclass
class MessageContent:
    text: str | None
    blocks: list[Any] | None
    attachments: list[Any] | None
    metadata: dict[str, Any] | None


def parse_message_content(call: ApiCall) -> MessageContent:
    """text/markdown_text/blocks/attachments/metadata with Slack's error codes."""
    limits = call.ws.limits
    text = call.text("text")
    markdown_text = call.text("markdown_text")
    if text is not None and len(text) > limits.message_text:
        raise SlackError("msg_too_long")
    if markdown_text is not None and len(markdown_text) > limits.markdown_text:
        raise SlackError("msg_too_long")

    blocks = call.json_value("blocks", "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format", "[ERROR] `blocks` must be a JSON array")
    if blocks is not None:
        problems = validate_blocks(blocks, "message", limits=limits)
        if problems:
            raise SlackError("invalid_blocks", *(f"[ERROR] {p}" for p in problems))
    if present(markdown_text):
        if blocks:
            raise SlackError("markdown_text_conflict")
        # Slack renders markdown_text as a markdown block.
        blocks = [{"type": "markdown", "text": markdown_text}]
        text = markdown_text

    attachments = call.json_value("attachments", "invalid_attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > limits.message_attachments:
            raise SlackError("too_many_attachments")

    metadata = call.json_value("metadata", "invalid_metadata_format")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise SlackError("invalid_metadata_format")
        if not isinstance(metadata.get("event_type"), str) or not isinstance(
            metadata.get("event_payload"), dict
        ):
            raise SlackError(
                "invalid_metadata_schema",
                "[ERROR] metadata needs a string `event_type` and an object `event_payload`",
            )
    return MessageContent(text, blocks, attachments, metadata)


def public_message(message: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(message)
    if not with_metadata:
        out.pop("metadata", None)
    return out


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        prefix, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix != "offset":
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None


def _ts_value(call: ApiCall, name: str, error: str) -> float | None:
    raw = call.text(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise SlackError(error) from None


def _paginate(
    call: ApiCall, items: list[Any], *, default_limit: int, max_limit: int
) -> tuple[list[Any], str]:
    limit = call.integer("limit", default_limit)
    if limit < 1:
        limit = default_limit
    limit = min(limit, max_limit)
    offset = _decode_cursor(call.text("cursor"))
    page = items[offset : offset + limit]
    has_more = offset + limit < len(items)
    return page, _encode_cursor(offset + limit) if has_more else ""


def _in_range(call: ApiCall, ts: str, oldest: float | None, latest: float | None) -> bool:
    inclusive = call.flag("inclusive")
    value = float(ts)
    if oldest is not None and (value < oldest or (value == oldest and not inclusive)):
        return False
    return not (latest is not None and (value > latest or (value == latest and not inclusive)))


def _channel_for_write(call: ApiCall, arg: str = "channel") -> Channel:
    channel = call.ws.resolve_channel(call.team, call.text(arg))
    call.ws.require_member(call.team, channel)
    return channel


def is_bots_message(team: Team, message: dict[str, Any]) -> bool:
    return message.get("user") == team.bot_user_id and message.get("bot_id") == team.bot_id


# -- auth, chat ---------------------------------------------------------------------------


def auth_test(call: ApiCall) -> dict[str, Any]:
    team = call.team
    body: dict[str, Any] = {
        "ok": True,
        "url": team.url,
        "team": team.name,
        "user": team.bot_name,
        "team_id": team.id,
        "user_id": team.bot_user_id,
        "bot_id": team.bot_id,
        "is_enterprise_install": False,
    }
    if team.enterprise_id:
        body["enterprise_id"] = team.enterprise_id
    return body


def chat_post_message(call: ApiCall) -> dict[str, Any]:
    channel = _channel_for_write(call)
    content = parse_message_content(call)
    message = call.ws.post_message(
        channel,
        user=call.team.bot_user_id,
        bot_id=call.team.bot_id,
        text=content.text or "",
        blocks=content.blocks,
        attachments=content.attachments,
        metadata=content.metadata,
        thread_ts=call.text("thread_ts") or None,
        reply_broadcast=call.flag("reply_broadcast"),
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message["ts"],
        "message": public_message(message),
    }


def chat_update(call: ApiCall) -> dict[str, Any]:
    channel = _channel_for_write(call)
    message = call.ws.require_message(channel, call.text("ts"))
    if not is_bots_message(call.team, message):
        raise SlackError("cant_update_message")
    content = parse_message_content(call)
    # Omitted fields keep their old value; "blocks": [] removes the blocks (Slack's rule).
    if content.text is not None:
        message["text"] = content.text
    if content.blocks is not None:
        message["blocks"] = call.ws.assign_block_ids(content.blocks)
        if not message["blocks"]:
            del message["blocks"]
    if content.attachments is not None:
        message["attachments"] = content.attachments
    if content.metadata is not None:
        message["metadata"] = content.metadata
    message["edited"] = {"user": call.team.bot_user_id, "ts": call.ws.ids.next_ts()}
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message["ts"],
        "text": message.get("text", ""),
        "message": public_message(message),
    }


def chat_post_ephemeral(call: ApiCall) -> dict[str, Any]:
    channel = _channel_for_write(call)
    user_id = call.required_text("user")
    if call.ws.user(call.team.id, user_id) is None:
        raise SlackError("user_not_found")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    content = parse_message_content(call)
    ephemeral = call.ws.add_ephemeral(
        call.team,
        channel_id=channel.id,
        user_id=user_id,
        source="chat.postEphemeral",
        text=content.text or "",
        blocks=content.blocks,
        attachments=content.attachments,
        thread_ts=call.text("thread_ts") or None,
    )
    return {"ok": True, "message_ts": ephemeral["ts"]}


def chat_delete(call: ApiCall) -> dict[str, Any]:
    channel = _channel_for_write(call)
    message = call.ws.require_message(channel, call.text("ts"))
    if not is_bots_message(call.team, message):
        raise SlackError("cant_delete_message")
    call.ws.delete_message(channel, message)
    return {"ok": True, "channel": channel.id, "ts": call.text("ts")}


def chat_get_permalink(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_visible(call.team, channel)
    message = call.ws.require_message(channel, call.text("message_ts"))
    # Slack's permalink drops the dot of the ts: 1358546515.000008 -> p1358546515000008.
    packed_ts = message["ts"].replace(".", "")
    link = f"https://{call.team.domain}.slack.com/archives/{channel.id}/p{packed_ts}"
    if is_thread_reply(message):
        link += f"?thread_ts={message['thread_ts']}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


# -- conversations ------------------------------------------------------------------------


def conversations_open(call: ApiCall) -> dict[str, Any]:
    ws, team = call.ws, call.team
    if present(call.args.get("channel")):
        channel = ws.resolve_channel(team, call.text("channel"))
        if not channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        already_open = True
    else:
        users = [u.strip() for u in (call.text("users") or "").split(",") if u.strip()]
        if len(users) != 1:
            # Group DMs (mpim) are not simulated; Ticketbot only opens 1:1 DMs.
            raise SlackError(
                "invalid_arguments", "[ERROR] the simulator supports one user per conversation"
            )
        if ws.user(team.id, users[0]) is None:
            raise SlackError("user_not_found")
        already_open = (team.id, users[0]) in ws.dms
        channel = ws.dm_channel(team.id, users[0])
    if call.flag("return_im"):
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": ws.channel_object(team, channel),
        }
    return {"ok": True, "channel": {"id": channel.id}}


def conversations_info(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_visible(call.team, channel)
    obj = call.ws.channel_object(call.team, channel)
    if call.flag("include_num_members"):
        obj["num_members"] = len(channel.members)
    return {"ok": True, "channel": obj}


def conversations_members(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_visible(call.team, channel)
    if call.integer("limit", 100) > 1000:
        raise SlackError("invalid_limit")
    page, next_cursor = _paginate(call, list(channel.members), default_limit=100, max_limit=1000)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}


def conversations_history(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_member(call.team, channel)
    oldest = _ts_value(call, "oldest", "invalid_ts_oldest")
    latest = _ts_value(call, "latest", "invalid_ts_latest")
    with_metadata = call.flag("include_all_metadata")
    # Top-level messages and broadcast replies, newest first (Slack's order).
    top_level = [
        m
        for m in reversed(channel.messages)
        if (not is_thread_reply(m) or m.get("subtype") == "thread_broadcast")
        and _in_range(call, m["ts"], oldest, latest)
    ]
    page, next_cursor = _paginate(call, top_level, default_limit=100, max_limit=999)
    body: dict[str, Any] = {
        "ok": True,
        "messages": [public_message(m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }
    if latest is not None:
        body["latest"] = call.text("latest")
    return body


def conversations_replies(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_member(call.team, channel)
    message = call.ws.find_message(channel, call.text("ts"))
    if message is None:
        raise SlackError("thread_not_found")
    root_ts = message["thread_ts"] if is_thread_reply(message) else message["ts"]
    oldest = _ts_value(call, "oldest", "invalid_ts_oldest")
    latest = _ts_value(call, "latest", "invalid_ts_latest")
    thread = call.ws.thread_messages(channel, root_ts)
    # The parent always comes first; the time window only filters replies.
    selected = [m for m in thread if m["ts"] == root_ts or _in_range(call, m["ts"], oldest, latest)]
    page, next_cursor = _paginate(call, selected, default_limit=1000, max_limit=1000)
    with_metadata = call.flag("include_all_metadata")
    return {
        "ok": True,
        "messages": [public_message(m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


# -- views --------------------------------------------------------------------------------


def _parse_view(call: ApiCall, *, expected_type: str | None) -> dict[str, Any]:
    view = call.json_value("view", "invalid_arguments")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", "[ERROR] `view` must be a JSON object")
    if len(json.dumps(view)) > call.ws.limits.view_size_bytes:
        raise SlackError("view_too_large")
    problems = validate_view(view, limits=call.ws.limits)
    if expected_type is not None and view.get("type") != expected_type:
        problems.insert(0, f'must be "{expected_type}" [json-pointer:/view/type]')
    if problems:
        raise SlackError("invalid_arguments", *(f"[ERROR] {p}" for p in problems))
    return view


def _trigger(call: ApiCall) -> str:
    return call.text("trigger_id") or call.text("interactivity_pointer") or ""


def views_open(call: ApiCall) -> dict[str, Any]:
    view = _parse_view(call, expected_type="modal")
    trigger = call.ws.consume_trigger(call.team, _trigger(call))
    return {"ok": True, "view": call.ws.open_modal(call.team, trigger.user_id, view)}


def views_push(call: ApiCall) -> dict[str, Any]:
    view = _parse_view(call, expected_type="modal")
    trigger = call.ws.consume_trigger(call.team, _trigger(call))
    return {"ok": True, "view": call.ws.push_modal(call.team, trigger.user_id, view)}


def views_update(call: ApiCall) -> dict[str, Any]:
    view_id = call.ws.view_id_for(call.team, call.text("view_id"), call.text("external_id"))
    view = _parse_view(call, expected_type=call.ws.views[view_id]["type"])
    return {
        "ok": True,
        "view": call.ws.update_view(call.team, view_id, view, call.text("hash")),
    }


def views_publish(call: ApiCall) -> dict[str, Any]:
    user_id = call.required_text("user_id")
    if call.ws.user(call.team.id, user_id) is None:
        raise SlackError("invalid_arguments", "[ERROR] invalid `user_id`")
    view = _parse_view(call, expected_type="home")
    return {
        "ok": True,
        "view": call.ws.publish_home(call.team, user_id, view, call.text("hash")),
    }


# -- users ---------------------------------------------------------------------------------


def users_info(call: ApiCall) -> dict[str, Any]:
    user = call.ws.user(call.team.id, call.required_text("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": copy.deepcopy(user)}


def users_lookup_by_email(call: ApiCall) -> dict[str, Any]:
    email = call.required_text("email").lower()
    for user in call.ws.users.get(call.team.id, {}).values():
        if str(user["profile"].get("email", "")).lower() == email:
            return {"ok": True, "user": copy.deepcopy(user)}
    raise SlackError("users_not_found")


def team_info(call: ApiCall) -> dict[str, Any]:
    """The calling team, or another one (a Slack Connect partner) by id."""
    team_id = call.text("team") or call.team.id
    team = call.ws.teams.get(team_id)
    if team is None:
        raise SlackError("team_not_found")
    return {
        "ok": True,
        "team": {
            "id": team.id,
            "name": team.name,
            "domain": team.domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "enterprise_id": team.enterprise_id,
            "enterprise_name": team.enterprise_name,
        },
    }


# -- files --------------------------------------------------------------------------------


def files_info(call: ApiCall) -> dict[str, Any]:
    stored = call.ws.files.get(call.required_text("file"))
    if stored is None or stored.team_id != call.team.id:
        raise SlackError("file_not_found")
    return {
        "ok": True,
        "file": call.ws.file_object(stored),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def files_get_upload_url_external(call: ApiCall) -> dict[str, Any]:
    length = call.integer("length", 0)
    if length < 0:
        raise SlackError("invalid_arguments", "[ERROR] `length` must not be negative")
    upload = PendingUpload(
        id=call.ws.ids.opaque(12),
        team_id=call.team.id,
        file_id=call.ws.ids.new_id("F"),
        filename=call.required_text("filename"),
        length=length,
        alt_txt=call.text("alt_txt"),
    )
    call.ws.uploads[upload.id] = upload
    return {
        "ok": True,
        "upload_url": call.ws.url(f"/upload/v1/{upload.id}"),
        "file_id": upload.file_id,
    }


def files_complete_upload_external(call: ApiCall) -> dict[str, Any]:
    ws, team = call.ws, call.team
    requested = call.json_value("files", "invalid_arguments")
    if not isinstance(requested, list) or not all(
        isinstance(f, dict) and isinstance(f.get("id"), str) for f in requested
    ):
        raise SlackError(
            "invalid_arguments", '[ERROR] `files` must be a JSON array like [{"id": "F…"}]'
        )
    uploads_by_file = {u.file_id: u for u in ws.uploads.values() if u.team_id == team.id}
    pending = []
    for item in requested:
        upload = uploads_by_file.get(item["id"])
        if upload is None or upload.content is None:
            raise SlackError("file_not_found")
        pending.append((upload, item))

    # channel_id (one) and the older channels (comma-separated) both name share targets.
    refs = [call.text("channel_id") or "", *(call.text("channels") or "").split(",")]
    targets = [_require_writable(call, ref.strip()) for ref in refs if ref.strip()]
    blocks = call.json_value("blocks", "invalid_blocks_format")
    if blocks is not None:
        problems = validate_blocks(blocks, "message", limits=ws.limits)
        if problems:
            raise SlackError("invalid_blocks", *(f"[ERROR] {p}" for p in problems))

    stored_files = []
    for upload, item in pending:
        stored = ws.add_file(
            team.id,
            team.bot_user_id,
            name=upload.filename,
            content=upload.content or b"",
            mimetype=_guess_mimetype(upload.filename),
            filetype=upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "",
            title=item.get("title") or upload.filename,
            file_id=upload.file_id,
            alt_txt=upload.alt_txt,
        )
        del ws.uploads[upload.id]
        stored_files.append(stored)
    for channel in targets:
        for stored in stored_files:
            ws.share_file(stored, channel)
        posted = ws.post_message(
            channel,
            user=team.bot_user_id,
            bot_id=team.bot_id,
            text=call.text("initial_comment") or "",
            blocks=blocks,
            files=[ws.file_object(s) for s in stored_files],
            thread_ts=call.text("thread_ts") or None,
        )
        for stored in stored_files:
            ws.share_file(stored, channel, posted["ts"], call.text("thread_ts") or None)
    return {"ok": True, "files": [ws.file_object(s) for s in stored_files]}


def _require_writable(call: ApiCall, channel_id: str) -> Channel:
    channel = call.ws.resolve_channel(call.team, channel_id)
    call.ws.require_member(call.team, channel)
    return channel


def _guess_mimetype(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


# -- reactions, oauth ---------------------------------------------------------------------


def reactions_add(call: ApiCall) -> dict[str, Any]:
    channel = call.ws.resolve_channel(call.team, call.text("channel"))
    call.ws.require_member(call.team, channel)
    message = call.ws.require_message(channel, call.text("timestamp"))
    name = (call.text("name") or "").strip(":")
    if not name or any(ch.isspace() for ch in name):
        raise SlackError("invalid_name")
    reactions = message.setdefault("reactions", [])
    for reaction in reactions:
        if reaction["name"] == name:
            if call.team.bot_user_id in reaction["users"]:
                raise SlackError("already_reacted")
            reaction["users"].append(call.team.bot_user_id)
            reaction["count"] = len(reaction["users"])
            break
    else:
        reactions.append({"name": name, "users": [call.team.bot_user_id], "count": 1})
    return {"ok": True}


def oauth_v2_access(
    ws: Workspace, args: dict[str, Any], basic_auth: tuple[str, str] | None
) -> dict[str, Any]:
    """Token exchange; authenticated by client credentials, not by a token."""
    client_id, client_secret = basic_auth or (args.get("client_id"), args.get("client_secret"))
    app = ws.oauth_apps.get(str(client_id or ""))
    if app is None:
        raise SlackError("invalid_client_id")
    if client_secret != app.client_secret:
        raise SlackError("bad_client_secret")
    grant = ws.oauth_codes.get(str(args.get("code") or ""))
    if grant is None or grant.used or grant.client_id not in (None, app.client_id):
        raise SlackError("invalid_code")
    grant.used = True
    team = ws.teams[grant.team_id]
    enterprise_id = grant.enterprise_id or team.enterprise_id
    return {
        "ok": True,
        "app_id": APP_ID,
        "authed_user": {"id": grant.user_id},
        "scope": ",".join(app.scopes),
        "token_type": "bot",
        "access_token": team.bot_token,
        "bot_user_id": team.bot_user_id,
        "team": {"id": team.id, "name": team.name},
        "enterprise": (
            {"id": enterprise_id, "name": team.enterprise_name or ""} if enterprise_id else None
        ),
        "is_enterprise_install": False,
    }


Handler = Callable[[ApiCall], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "team.info": team_info,
    "files.info": files_info,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "reactions.add": reactions_add,
}
# Methods authenticated by something other than a bot token.
TOKENLESS_METHODS = frozenset({"oauth.v2.access"})
SUPPORTED_METHODS = frozenset(HANDLERS) | TOKENLESS_METHODS
