"""API tokens: issued once, stored as a hash, scoped to one organization, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound
from bot.services.actors import Actor
from models import Organization, utcnow
from models.api import TOKEN_NAME_MAX_LENGTH, ApiToken

# Tokens are recognisable in logs and secret scanners by this prefix.
TOKEN_SCHEME = "tbk_"
SECRET_BYTES = 32  # 256 bits from the OS's CSPRNG: guessing is hopeless, so a plain hash suffices
DISPLAY_PREFIX_LENGTH = len(TOKEN_SCHEME) + 8
# `last_used_at` is a hint for people, not an audit log: writing it on every request would
# make every read a write, so it moves at most once per this interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    record: ApiToken
    # The token itself; it exists only here and is shown once.
    secret: str


@dataclass(frozen=True)
class ApiCaller:
    """Who is behind an authenticated request."""

    organization_id: int
    token_id: int
    token_name: str

    @property
    def actor(self) -> Actor:
        return Actor.integration(f"API: {self.token_name}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the token a name.", field="name")
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the token name under {TOKEN_NAME_MAX_LENGTH} characters.", field="name"
        )
    return name


def create_api_token(session: Session, *, organization: Organization, name: str) -> IssuedToken:
    secret = TOKEN_SCHEME + secrets.token_urlsafe(SECRET_BYTES)
    record = ApiToken(
        organization_id=organization.id,  # type: ignore[arg-type]
        name=_clean_name(name),
        token_prefix=secret[:DISPLAY_PREFIX_LENGTH],
        token_hash=hash_token(secret),
    )
    session.add(record)
    session.flush()
    return IssuedToken(record=record, secret=secret)


def authenticate(session: Session, *, token: str) -> ApiCaller | None:
    """The caller behind `token`, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_SCHEME):
        return None
    record = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if record is None or record.revoked_at is not None:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        record.last_used_at = now
        session.add(record)
        session.flush()
    return ApiCaller(
        organization_id=record.organization_id,
        token_id=record.id,  # type: ignore[arg-type]
        token_name=record.name,
    )


def list_api_tokens(session: Session, *, organization: Organization) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.organization_id == organization.id)
            .order_by(col(ApiToken.id))
        ).all()
    )


def find_api_token(session: Session, *, organization: Organization, id_or_prefix: str) -> ApiToken:
    """A token of the organization by its id or by the prefix shown when it was created."""
    tokens = list_api_tokens(session, organization=organization)
    reference = id_or_prefix.strip()
    if reference.isdigit():
        matches = [t for t in tokens if t.id == int(reference)]
    else:
        matches = [t for t in tokens if reference and t.token_prefix.startswith(reference)]
    if not matches:
        raise NotFound(f"This workspace has no API token {reference!r}.")
    if len(matches) > 1:
        ids = ", ".join(str(t.id) for t in matches)
        raise InvalidInput(f"{reference!r} matches several tokens ({ids}); give the id instead.")
    return matches[0]


def revoke_api_token(
    session: Session, *, organization: Organization, id_or_prefix: str
) -> ApiToken:
    """Revoke a token for good; revoking a revoked token changes nothing."""
    record = find_api_token(session, organization=organization, id_or_prefix=id_or_prefix)
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        session.flush()
    return record
