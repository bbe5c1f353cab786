"""Settings from ZHIBU_* environment variables and an optional .env file."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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
    # Seconds between reminder ticks (each tick is cheap; 60 keeps reminders within a minute).
    scheduler_interval: int = Field(default=60, ge=5, le=3600)
    # `zhibu serve` writes the ledger from a child process (a core of its own); off: a thread.
    writer_process: bool = True

    # WeCom 智能机器人 HTTP callback crypto (Token / EncodingAESKey) and long connection.
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_bot_id: str | None = None
    wecom_bot_secret: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_ws_url: str = "wss://openws.work.weixin.qq.com"  # AI-bot long connection
    # DingTalk enterprise-internal app robot.
    dingtalk_app_key: str | None = None
    dingtalk_app_secret: SecretStr | None = None
    dingtalk_robot_code: str | None = None  # defaults to the app key
    dingtalk_stream: bool = False
    dingtalk_api_base: str = "https://api.dingtalk.com"
    dingtalk_oapi_base: str = "https://oapi.dingtalk.com"
    # Signed download links for exported ledgers (`GET /files/ledger/<token>` on `zhibu serve`).
    public_url: str | None = None  # e.g. https://zhibu.example.org; unset: no links
    link_secret: SecretStr | None = None  # unset: generated once and kept in the database
    link_ttl_hours: int = Field(default=24, ge=1, le=24 * 31)

    @property
    def wecom_callback_on(self) -> bool:
        """True when the WeCom callback crypto is configured."""
        return bool(self.wecom_token and self.wecom_aes_key)

    @property
    def dingtalk_on(self) -> bool:
        """True when the DingTalk app credentials are configured."""
        return bool(self.dingtalk_app_key and self.dingtalk_app_secret)

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"未知的时区“{value}”，应为 IANA 时区名，例如 Asia/Shanghai") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"未知的日志级别“{value}”，可用：{'、'.join(LOG_LEVELS)}")
        return level

    @field_validator(
        "redis_url",
        "wecom_bot_id",
        "dingtalk_app_key",
        "dingtalk_robot_code",
        "public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator(
        "wecom_token",
        "wecom_aes_key",
        "wecom_bot_secret",
        "dingtalk_app_secret",
        "link_secret",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return value or None

    @field_validator("wecom_api_base", "dingtalk_api_base", "dingtalk_oapi_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"应为 http(s) 地址：{value}")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"ZHIBU_PUBLIC_URL 应为 http(s) 地址：{value}")
        return value.rstrip("/")


def load_settings() -> Settings:
    """Read the settings from the environment (and .env)."""
    return Settings()
