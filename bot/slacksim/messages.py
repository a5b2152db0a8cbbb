"""Messages, threads and ephemeral messages of the simulated workspace."""

from __future__ import annotations

import copy
from typing import Any

from . import elements
from .records import APP_ID, Channel, SlackError, Team, is_thread_reply


class MessagesMixin:
    """Part of ``Workspace``: its state is the workspace's (see ``Workspace.__init__``)."""

    # -- messages -----------------------------------------------------------------------

    def assign_block_ids(self, blocks: list[Any]) -> list[Any]:
        """Copy of ``blocks`` with Slack's generated block_id/action_id where they were omitted."""
        blocks = copy.deepcopy(blocks)
        for block in blocks:
            if isinstance(block, dict) and "block_id" not in block:
                block["block_id"] = self.ids.short_id(4)
        for _block, element in elements.iter_elements(blocks):
            if "action_id" not in element and element.get("type") != "image":
                element["action_id"] = self.ids.short_id(5)
        return blocks

    def find_message(self, channel: Channel, ts: str | None) -> dict[str, Any] | None:
        with self.lock:
            for message in channel.messages:
                if message["ts"] == ts:
                    return message
            return None

    def require_message(self, channel: Channel, ts: str | None) -> dict[str, Any]:
        message = self.find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def post_message(
        self,
        channel: Channel,
        *,
        user: str,
        text: str,
        bot_id: str | None = None,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        files: list[dict[str, Any]] | None = None,
        subtype: str | None = None,
        reply_broadcast: bool = False,
    ) -> dict[str, Any]:
        """Store a message and maintain its thread's reply counters; returns the stored dict."""
        with self.lock:
            team = self.teams[channel.team_id]
            message: dict[str, Any] = {"type": "message"}
            if subtype:
                message["subtype"] = subtype
            message["user"] = user
            if bot_id:
                message["bot_id"] = bot_id
                message["app_id"] = APP_ID
                message["bot_profile"] = {
                    "id": bot_id,
                    "app_id": APP_ID,
                    "name": team.bot_name,
                    "deleted": False,
                    "team_id": team.id,
                }
            message["text"] = text
            message["ts"] = self.ids.next_ts()
            message["team"] = team.id
            if blocks is not None:
                message["blocks"] = self.assign_block_ids(blocks)
            if attachments is not None:
                message["attachments"] = copy.deepcopy(attachments)
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            if files:
                message["files"] = copy.deepcopy(files)
                message["upload"] = False
                message["display_as_bot"] = False
            if thread_ts:
                self._attach_to_thread(channel, message, thread_ts, reply_broadcast)
            channel.messages.append(message)
            return message

    def _attach_to_thread(
        self, channel: Channel, message: dict[str, Any], thread_ts: str, broadcast: bool
    ) -> None:
        root = self.find_message(channel, thread_ts)
        if root is not None and is_thread_reply(root):
            # Slack threads a reply-to-a-reply under the original parent.
            thread_ts = root["thread_ts"]
            root = self.find_message(channel, thread_ts)
        message["thread_ts"] = thread_ts
        if broadcast:
            message["subtype"] = "thread_broadcast"
        if root is None:
            # Slack documents no error for an unknown thread_ts; the reply is simply orphaned.
            return
        message["parent_user_id"] = root.get("user")
        root["thread_ts"] = root["ts"]
        root["reply_count"] = root.get("reply_count", 0) + 1
        reply_users = root.setdefault("reply_users", [])
        if message["user"] not in reply_users:
            reply_users.append(message["user"])
        root["reply_users_count"] = len(reply_users)
        root["latest_reply"] = message["ts"]

    def delete_message(self, channel: Channel, message: dict[str, Any]) -> None:
        with self.lock:
            replies = self.thread_messages(channel, message["ts"])[1:]
            if not is_thread_reply(message) and replies:
                # A parent with replies leaves a tombstone so the thread stays readable.
                tombstone_fields = ("thread_ts", "reply_count", "reply_users", "latest_reply")
                kept = {k: message[k] for k in tombstone_fields if k in message}
                message.clear()
                message.update(
                    type="message",
                    subtype="tombstone",
                    text="This message was deleted.",
                    user="USLACKBOT",
                    hidden=True,
                    ts=kept.get("thread_ts"),
                    **kept,
                )
                return
            channel.messages.remove(message)
            if is_thread_reply(message):
                root = self.find_message(channel, message["thread_ts"])
                if root is not None:
                    remaining = self.thread_messages(channel, root["ts"])[1:]
                    root["reply_count"] = len(remaining)
                    root["reply_users"] = list(dict.fromkeys(r["user"] for r in remaining))
                    root["reply_users_count"] = len(root["reply_users"])
                    if remaining:
                        root["latest_reply"] = remaining[-1]["ts"]
                    else:
                        for key in ("reply_count", "reply_users", "reply_users_count"):
                            root.pop(key, None)
                        root.pop("latest_reply", None)

    def thread_messages(self, channel: Channel, thread_ts: str) -> list[dict[str, Any]]:
        """The parent (if present) followed by its replies, in posting order."""
        with self.lock:
            return [
                m
                for m in channel.messages
                if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
            ]

    def add_ephemeral(
        self,
        team: Team,
        *,
        channel_id: str | None,
        user_id: str,
        source: str,
        text: str,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            ephemeral: dict[str, Any] = {
                "type": "message",
                "subtype": "ephemeral",
                "team": team.id,
                "channel": channel_id,
                "user": user_id,
                "bot_id": team.bot_id,
                "text": text,
                "ts": self.ids.next_ts(),
                "source": source,
            }
            if blocks is not None:
                ephemeral["blocks"] = self.assign_block_ids(blocks)
            if attachments is not None:
                ephemeral["attachments"] = copy.deepcopy(attachments)
            if thread_ts:
                ephemeral["thread_ts"] = thread_ts
            self.ephemeral_messages.append(ephemeral)
            return ephemeral

    def find_ephemeral(self, user_id: str, ts: str | None) -> dict[str, Any] | None:
        with self.lock:
            for ephemeral in self.ephemeral_messages:
                if ephemeral["user"] == user_id and ephemeral["ts"] == ts:
                    return ephemeral
            return None
