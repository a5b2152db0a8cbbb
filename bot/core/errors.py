"""Domain errors. Each carries a message meant for the person who caused it."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the helpdesk said no. `message` is shown to the user as is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The input the message is about, for modal field errors and 422 bodies.
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or exists in another organization (indistinguishable)."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class InvalidInput(DomainError):
    """A value was refused; `field` names it."""
