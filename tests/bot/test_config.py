"""Settings: defaults, ZHIBU_* environment variables, a .env file in the working directory, and
clear Chinese errors from the CLI when a value is wrong."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.cli import writer_spec
from bot.config import DEFAULT_DATABASE_URL, Settings, load_settings
from storage.db import Database
from storage.models import Branch
from tests.cli_runner import run_zhibu
from tests.factories import DATA


def zhibu(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `cwd` with exactly these ZHIBU_* variables."""
    return run_zhibu(cwd, *args, env=env, default_db=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./zhibu.db"
    assert settings.redis_url is None
    assert settings.tz == "Asia/Shanghai"
    assert settings.log_level == "INFO"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBU_DATABASE_URL", "postgresql+psycopg://u:p@db/zhibu")
    monkeypatch.setenv("ZHIBU_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("ZHIBU_TZ", "Asia/Urumqi")
    monkeypatch.setenv("ZHIBU_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db/zhibu"
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.tz == "Asia/Urumqi"
    assert settings.log_level == "DEBUG"


def test_blank_redis_url_means_the_in_process_substitute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBU_REDIS_URL", "")
    assert load_settings().redis_url is None


def test_dotenv_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "# local settings\n"
        "ZHIBU_DATABASE_URL=sqlite:///./from_dotenv.db\n"
        "ZHIBU_TZ=Europe/Berlin\n"
        "UNRELATED_KEY=ignored\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./from_dotenv.db"
    assert settings.tz == "Europe/Berlin"
    # The environment beats the file.
    monkeypatch.setenv("ZHIBU_TZ", "Asia/Shanghai")
    assert load_settings().tz == "Asia/Shanghai"
    # Another directory has no .env.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_settings().database_url == DEFAULT_DATABASE_URL


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "asia/shanghai ", "../etc/passwd", "Asia"])
def test_unknown_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("ZHIBU_TZ", zone)
    with pytest.raises(ValidationError, match="时区"):
        load_settings()


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValidationError, match="日志级别"):
        Settings(log_level="LOUD")


def test_the_cli_reads_env_and_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ZHIBU_DATABASE_URL=sqlite:///./from_dotenv.db\n", "utf-8")
    done = zhibu(
        tmp_path,
        "roster",
        "import",
        str(DATA / "roster_sample.csv"),
        "--branch",
        "乌鲁木齐某支部",
        env={"ZHIBU_TZ": "Asia/Urumqi"},
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "zhibu.db").exists()
    db = Database(f"sqlite:///{tmp_path / 'from_dotenv.db'}")
    try:
        with db.session() as session:
            branch = session.scalars(select(Branch)).one()
            assert branch.timezone == "Asia/Urumqi"  # new branches take ZHIBU_TZ
    finally:
        db.dispose()


@pytest.mark.parametrize("source", ["env", "dotenv"])
def test_bad_time_zone_is_a_clear_cli_error(tmp_path: Path, source: str) -> None:
    env = {"ZHIBU_TZ": "Mars/Olympus"} if source == "env" else {}
    if source == "dotenv":
        (tmp_path / ".env").write_text("ZHIBU_TZ=Mars/Olympus\n", encoding="utf-8")
    done = zhibu(tmp_path, "parse", "签到", env=env)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert "配置有误" in done.stderr
    assert "ZHIBU_TZ" in done.stderr
    assert "未知的时区“Mars/Olympus”" in done.stderr
    assert "Asia/Shanghai" in done.stderr  # an example of a right value


def test_bad_log_level_stops_serve_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free loopback port, in case the server did start
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    done = zhibu(tmp_path, "serve", "--port", port, env={"ZHIBU_LOG_LEVEL": "loud"})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "ZHIBU_LOG_LEVEL" in done.stderr and "日志级别" in done.stderr
    assert not (tmp_path / "zhibu.db").exists()


def test_serve_writes_from_a_child_process_unless_told_or_unable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file_db = Database(f"sqlite:///{tmp_path / 'zhibu.db'}")
    memory_db = Database("sqlite://")
    spec = writer_spec(Settings(database_url=file_db.url, log_level="warning"), file_db)
    assert spec is not None and spec.database_url == file_db.url and spec.log_level == "WARNING"
    # An in-memory database exists in one process only.
    assert writer_spec(Settings(database_url="sqlite://"), memory_db) is None
    monkeypatch.setenv("ZHIBU_WRITER_PROCESS", "0")
    assert writer_spec(load_settings(), file_db) is None
    file_db.dispose()
    memory_db.dispose()
