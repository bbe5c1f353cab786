"""Shared fixtures for the parser tests: a fixed `now` so nothing depends on the wall clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

# The date the example files assume (a Friday).
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def now() -> datetime:
    """The fixed parse time."""
    return NOW
