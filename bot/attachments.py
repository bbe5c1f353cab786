"""Files sent along with outbox rows: built from the row's recipe at send time, off the event loop.

A ledger export is a workbook generated from the database when it is sent (or downloaded), so a
queued row holds only which branch and period; a chart is drawn from the numbers its recipe
carries. Where a chat cannot take the file, a ledger is offered as a signed download link.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.platforms.base import Delivery, SendResult
from handlers.plan_ledger import write_branch_ledger
from scheduler.chart_png import render_chart
from storage.attachments import ChartRecipe, LedgerRecipe, Recipe
from storage.db import Database
from storage.models import Branch
from storage.periods import resolve

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG_TYPE = "image/png"
FILE = "file"
IMAGE = "image"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

# (branch id, period key) -> a download URL, or None when no public URL is configured.
LinkMaker = Callable[[int, str], str | None]


class AttachmentError(Exception):
    """A recipe that cannot be built (its branch is gone, the period is bad): permanent."""


@dataclass(frozen=True)
class OutboundFile:
    """A file or image ready to upload: its bytes, name and content type."""

    kind: str  # FILE or IMAGE
    filename: str
    data: bytes
    content_type: str

    @property
    def md5(self) -> str:
        """Hex MD5 of the bytes (WeCom asks for it)."""
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @property
    def extension(self) -> str:
        """The file name's extension without the dot, e.g. xlsx."""
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""


class FileSender(Protocol):
    """A platform sender that can deliver files (and images) to some chats."""

    def accepts(self, delivery: Delivery, kind: str) -> bool:
        """True when the delivery's chat has a route that takes a FILE or an IMAGE."""
        ...

    async def send_file(self, delivery: Delivery, file: OutboundFile) -> SendResult:
        """Upload and send the file to the delivery's chat once; never raise."""
        ...


def safe_filename(name: str) -> str:
    """A file name without path separators or characters file systems refuse."""
    return _UNSAFE.sub("_", name).strip(" .") or "台账"


class AttachmentBuilder:
    """Turns recipes into files (call from a worker thread: it reads the database)."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        link: LinkMaker | None = None,
        link_ttl_hours: int | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.link = link
        self.link_ttl_hours = link_ttl_hours

    def build(self, recipe: Recipe) -> OutboundFile:
        """The file a recipe describes; AttachmentError if it cannot exist."""
        if isinstance(recipe, ChartRecipe):
            data = render_chart(recipe.months, recipe.attendance, recipe.study)
            name = f"{recipe.year}年{recipe.months[0]}-{recipe.months[-1]}月统计.png"
            return OutboundFile(IMAGE, name, data, PNG_TYPE)
        return self._ledger(recipe)

    def _ledger(self, recipe: LedgerRecipe) -> OutboundFile:
        if recipe.format != "xlsx":
            raise AttachmentError(f"unsupported ledger format {recipe.format!r}")
        with self.db.session() as session:
            branch = session.get(Branch, recipe.branch_id)
            if branch is None:
                raise AttachmentError(f"branch {recipe.branch_id} no longer exists")
            today = self.clock().astimezone(ZoneInfo(branch.timezone)).date()
            try:
                period = resolve(recipe.period_key, today)
            except ValueError as exc:
                raise AttachmentError(str(exc)) from exc
            with tempfile.TemporaryDirectory(prefix="zhibu-ledger-") as folder:
                path = Path(folder) / "ledger.xlsx"
                write_branch_ledger(session, branch, period, path, today)
                data = path.read_bytes()
            name = safe_filename(f"{branch.name}{period.label}台账") + ".xlsx"
        return OutboundFile(FILE, name, data, XLSX_TYPE)

    def link_text(self, recipe: LedgerRecipe) -> str:
        """The message that replaces the file where it cannot be sent: a link, or how to export."""
        with self.db.session() as session:
            branch = session.get(Branch, recipe.branch_id)
            name = branch.name if branch is not None else f"支部{recipe.branch_id}"
        try:
            label = resolve(recipe.period_key, self.clock().date()).label
        except ValueError:
            label = recipe.period_key
        url = self.link(recipe.branch_id, recipe.period_key) if self.link else None
        if url is None:
            return (
                f"📎 {name}{label}台账文件无法直接发到本群，且未配置下载地址（ZHIBU_PUBLIC_URL）。"
                f"请管理员在服务器导出：zhibu export --branch {name} --period {recipe.period_key}"
                " --format xlsx --out 台账.xlsx"
            )
        hours = self.link_ttl_hours
        within = f"{hours} 小时内" if hours else "链接过期前"
        return f"📎 {name}{label}台账（Excel），请在{within}打开下载：\n{url}"
