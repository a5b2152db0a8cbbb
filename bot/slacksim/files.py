"""Files and uploads of the simulated workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .records import Channel, StoredFile


class FilesMixin:
    """Part of ``Workspace``: its state is the workspace's (see ``Workspace.__init__``)."""

    # -- files --------------------------------------------------------------------------

    def add_file(
        self,
        team_id: str,
        user_id: str,
        *,
        name: str,
        content: bytes,
        mimetype: str,
        filetype: str,
        title: str | None = None,
        file_id: str | None = None,
        alt_txt: str | None = None,
    ) -> StoredFile:
        with self.lock:
            self.team(team_id)
            stored = StoredFile(
                id=file_id or self.ids.new_id("F"),
                team_id=team_id,
                user_id=user_id,
                name=name,
                title=title or name,
                mimetype=mimetype,
                filetype=filetype,
                content=bytes(content),
                alt_txt=alt_txt,
            )
            self.files[stored.id] = stored
            return stored

    def file_object(self, stored: StoredFile) -> dict[str, Any]:
        team = self.teams[stored.team_id]
        path = f"/files-pri/{stored.team_id}-{stored.id}"
        name = quote(stored.name)
        channels = [c for c in stored.channels if not self.channels[c].is_private]
        groups = [
            c for c in stored.channels if self.channels[c].is_private and not self.channels[c].is_im
        ]
        ims = [c for c in stored.channels if self.channels[c].is_im]
        obj: dict[str, Any] = {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": stored.filetype.upper(),
            "user": stored.user_id,
            "user_team": stored.team_id,
            "editable": False,
            "size": len(stored.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self.url(f"{path}/{name}"),
            "url_private_download": self.url(f"{path}/download/{name}"),
            "permalink": f"https://{team.domain}.slack.com/files/{stored.user_id}/{stored.id}/"
            f"{name}",
            "permalink_public": f"https://slack-files.com/{stored.team_id}-{stored.id}-"
            f"{stored.public_secret}",
            "channels": channels,
            "groups": groups,
            "ims": ims,
            "comments_count": 0,
            "has_rich_preview": False,
        }
        if stored.share_points:
            # files.info's `shares`: where the file was posted, by visibility and channel.
            shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for channel_id, ts, thread_ts in stored.share_points:
                visibility = "private" if self.channels[channel_id].is_private else "public"
                entry: dict[str, Any] = {"ts": ts, "channel_name": self.channels[channel_id].name}
                if thread_ts:
                    entry["thread_ts"] = thread_ts
                shares.setdefault(visibility, {}).setdefault(channel_id, []).append(entry)
            obj["shares"] = shares
        if stored.alt_txt is not None:
            obj["alt_txt"] = stored.alt_txt
        return obj

    def lookup_file(self, file_ref: Any, team_id: str) -> StoredFile:
        """Test-side: a file id or a file object (from add_file/files.info) -> the stored file."""
        file_id = file_ref.get("id") if isinstance(file_ref, dict) else file_ref
        with self.lock:
            stored = self.files.get(str(file_id))
            if stored is None or stored.team_id != team_id:
                raise KeyError(f"unknown file {file_id!r} in team {team_id}")
            return stored

    def share_file(
        self,
        stored: StoredFile,
        channel: Channel,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """The file was posted in `channel` (by the message at `ts`, when known)."""
        with self.lock:
            if channel.id not in stored.channels:
                stored.channels.append(channel.id)
            if ts is not None:
                stored.share_points.append((channel.id, ts, thread_ts))
