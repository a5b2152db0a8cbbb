"""Typed settings, read from the environment (and a `.env` file) once, in the entry point."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Ticketbot reads from its environment. Nothing else reads `os.environ`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///ticketbot.db"
    staff_channel_id: str | None = None

    # Where copies of attachments are kept, and the largest one accepted.
    file_storage_dir: Path = Path("data/files")
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # How long the staff list of a channel (conversations.members) is trusted.
    staff_cache_seconds: int = Field(default=60, ge=0)
    log_level: str = "INFO"

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("SLACK_API_URL must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN must be an app-level token (xapp-…)")
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, value: str) -> str:
        # Hosting platforms hand out postgres:// URLs; we always talk psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def oauth_enabled(self) -> bool:
        """Multi-workspace mode: installs through OAuth, a bot token per workspace."""
        return bool(
            self.slack_client_id and self.slack_client_secret and self.slack_bot_token is None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
