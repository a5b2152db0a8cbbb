"""Saved views: a named search, a person's own or shared with the organization by an admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, created_at_field, utcnow

VIEW_NAME_MAX_LENGTH = 80
VIEW_QUERY_MAX_LENGTH = 1000


class SavedViewBase(SQLModel):
    name: str = Field(min_length=1, max_length=VIEW_NAME_MAX_LENGTH)
    query: str = Field(max_length=VIEW_QUERY_MAX_LENGTH, sa_type=Text)


class SavedView(SavedViewBase, table=True):
    __tablename__ = "saved_view"
    __table_args__ = (
        # Names are unique per owner (case aside); shared views (no owner) among themselves.
        Index(
            "uq_saved_view_owner_name",
            "organization_id",
            "owner_id",
            "name_key",
            unique=True,
            sqlite_where=text("owner_id IS NOT NULL"),
            postgresql_where=text("owner_id IS NOT NULL"),
        ),
        Index(
            "uq_saved_view_shared_name",
            "organization_id",
            "name_key",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    # The person whose view it is; None = shared with the whole organization.
    owner_id: int | None = Field(default=None, foreign_key="member.id")
    name_key: str = Field(max_length=VIEW_NAME_MAX_LENGTH)  # the name, lowercased
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
