"""Settings from ZHIBU_* environment variables and an optional .env file."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./zhibu.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Runtime configuration; every field maps to ZHIBU_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ZHIBU_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    tz: str = "Asia/Shanghai"
    log_level: str = "INFO"

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知的时区“{value}”，应为 IANA 时区名，例如 Asia/Shanghai") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"未知的日志级别“{value}”，可用：{'、'.join(LOG_LEVELS)}")
        return level

    @field_validator("redis_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None


def load_settings() -> Settings:
    """Read the settings from the environment (and .env)."""
    return Settings()
