"""Triggers, response URLs, modals and App Home views of the simulated workspace."""

from __future__ import annotations

import copy
import time
from typing import Any

from . import elements
from .records import APP_ID, ResponseUrl, SlackError, Team, Trigger


class ViewsMixin:
    """Part of ``Workspace``: its state is the workspace's (see ``Workspace.__init__``)."""

    # -- triggers, response URLs --------------------------------------------------------

    def new_trigger_id(self, team_id: str, user_id: str) -> str:
        with self.lock:
            self.team(team_id)
            trigger_id = self.ids.trigger_id()
            self.triggers[trigger_id] = Trigger(team_id, user_id, time.monotonic())
            return trigger_id

    def consume_trigger(self, team: Team, trigger_id: str) -> Trigger:
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None or trigger.team_id != team.id:
                raise SlackError("invalid_trigger_id")
            if trigger.used:
                raise SlackError("exchanged_trigger_id")
            if time.monotonic() - trigger.issued_at > self.trigger_ttl:
                raise SlackError("expired_trigger_id")
            trigger.used = True
            return trigger

    def new_response_url(
        self, team_id: str, channel_id: str | None, user_id: str, message_ts: str | None = None
    ) -> str:
        with self.lock:
            self.team(team_id)
            url_id = f"{team_id}/{self.ids.opaque(9)}/{self.ids.opaque(18)}"
            self.response_urls[url_id] = ResponseUrl(team_id, channel_id, user_id, message_ts)
            return self.url(f"/response_url/{url_id}")

    # -- views --------------------------------------------------------------------------

    def _view_object(
        self,
        team: Team,
        view: dict[str, Any],
        *,
        view_id: str,
        root_view_id: str,
        previous_view_id: str | None,
        state_values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": view_id,
            "team_id": team.id,
            "type": view["type"],
            "blocks": self.assign_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": state_values or {}},
            "hash": self.ids.view_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": team.id,
            "bot_id": team.bot_id,
        }
        if "title" in view:
            obj["title"] = copy.deepcopy(view["title"])
        if "submit_disabled" in view:
            obj["submit_disabled"] = bool(view["submit_disabled"])
        return obj

    def _claim_external_id(self, team: Team, view: dict[str, Any], view_id: str) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        owner = self.external_ids.get((team.id, external_id))
        if owner is not None and owner != view_id:
            raise SlackError("duplicate_external_id")
        self.external_ids[(team.id, external_id)] = view_id

    def is_view_open(self, view_id: str) -> bool:
        with self.lock:
            owner = self.view_owner.get(view_id)
            if owner is None:
                return False
            return view_id in self.modal_stacks.get(owner, []) or (
                self.home_views.get(owner) == view_id
            )

    def open_modal(self, team: Team, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """views.open: a new modal stack for the user (replacing any open one)."""
        with self.lock:
            view_id = self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=view_id, previous_view_id=None
            )
            self._close_stack((team.id, user_id))
            self.views[view_id] = obj
            self.view_owner[view_id] = (team.id, user_id)
            self.modal_stacks[(team.id, user_id)] = [view_id]
            return obj

    def push_modal(self, team: Team, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stack = self.modal_stacks.get((team.id, user_id))
            if not stack:
                raise SlackError("not_found", "[ERROR] no open modal to push onto")
            if len(stack) >= self.limits.modal_stack_depth:
                raise SlackError("push_limit_reached")
            view_id = self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=stack[0], previous_view_id=stack[-1]
            )
            self.views[view_id] = obj
            self.view_owner[view_id] = (team.id, user_id)
            stack.append(view_id)
            return obj

    def view_id_for(self, team: Team, view_id: str | None, external_id: str | None) -> str:
        with self.lock:
            if external_id:
                found = self.external_ids.get((team.id, external_id))
            else:
                found = view_id if view_id in self.views else None
            if found is None or self.views[found]["team_id"] != team.id:
                raise SlackError("not_found")
            return found

    def update_view(
        self, team: Team, view_id: str, view: dict[str, Any], expected_hash: str | None
    ) -> dict[str, Any]:
        with self.lock:
            current = self.views[view_id]
            if not self.is_view_open(view_id):
                # A closed modal cannot be updated any more.
                raise SlackError("not_found")
            if expected_hash and expected_hash != current["hash"]:
                raise SlackError("hash_conflict")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team,
                view,
                view_id=view_id,
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
            obj["state"]["values"] = self._preserved_state(current, obj)
            self.views[view_id] = obj
            return obj

    @staticmethod
    def _preserved_state(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Slack keeps entered input when block_id and action_id survive an update."""
        kept: dict[str, Any] = {}
        old_values = old.get("state", {}).get("values", {})
        for block, element in elements.iter_elements(new["blocks"]):
            entry = old_values.get(block.get("block_id"), {}).get(element.get("action_id"))
            if entry is not None and entry.get("type") == element.get("type"):
                kept.setdefault(block["block_id"], {})[element["action_id"]] = entry
        return kept

    def publish_home(
        self, team: Team, user_id: str, view: dict[str, Any], expected_hash: str | None
    ) -> dict[str, Any]:
        with self.lock:
            key = (team.id, user_id)
            existing_id = self.home_views.get(key)
            if existing_id and expected_hash and expected_hash != self.views[existing_id]["hash"]:
                raise SlackError("hash_conflict")
            view_id = existing_id or self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=view_id, previous_view_id=None
            )
            self.views[view_id] = obj
            self.view_owner[view_id] = key
            self.home_views[key] = view_id
            return obj

    def close_modal(self, view_id: str) -> None:
        """The user closed/submitted ``view_id``: it and anything pushed above it leave."""
        with self.lock:
            owner = self.view_owner.get(view_id)
            if owner is None:
                return
            stack = self.modal_stacks.get(owner, [])
            if view_id not in stack:
                return
            del stack[stack.index(view_id) :]
            if not stack:
                del self.modal_stacks[owner]

    def clear_modals(self, team_id: str, user_id: str) -> None:
        with self.lock:
            self._close_stack((team_id, user_id))

    def _close_stack(self, key: tuple[str, str]) -> None:
        self.modal_stacks.pop(key, None)

    def set_view_state(self, view_id: str, block_id: str, action_id: str, entry: Any) -> None:
        """Record what the user entered in a view (Slack keeps it in ``view.state``)."""
        with self.lock:
            values = self.views[view_id].setdefault("state", {}).setdefault("values", {})
            values.setdefault(block_id, {})[action_id] = copy.deepcopy(entry)

    def replace_view_from_response(
        self, view_id: str, view: dict[str, Any], *, push: bool
    ) -> dict[str, Any]:
        """Apply a view_submission ``response_action`` of ``update`` or ``push``."""
        with self.lock:
            team_id, user_id = self.view_owner[view_id]
            team = self.teams[team_id]
            if push:
                return self.push_modal(team, user_id, view)
            return self.update_view(team, view_id, view, None)
