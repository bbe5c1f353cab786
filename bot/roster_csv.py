"""Reading a roster CSV (the columns of the sample file) into platform-neutral roster rows."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from storage.models import ROLE_MEMBER, ROLE_SECRETARY
from storage.roster import RosterRow

NAME = "姓名"
COLUMNS = {
    "title": ("职务",),
    "group": ("党小组",),
    "category": ("党员类别", "类别"),
    "wecom": ("企业微信账号", "企业微信ID", "企业微信userid"),
    "dingtalk": ("钉钉用户ID", "钉钉ID", "钉钉userid"),
    "phone": ("手机号", "手机", "电话"),
    "role": ("角色", "权限"),
}
SECRETARY_WORDS = {"管理员", "书记", "secretary", "admin", "是"}
MEMBER_WORDS = {"党员", "成员", "member", "否", ""}
# Minority names are written with several look-alike dots; the ledger keeps one.
MIDDLE_DOTS = str.maketrans(dict.fromkeys("•・．.‧∙", "·"))
VALID_NAME = re.compile(r"^[\u4e00-\u9fff·A-Za-z ]{1,20}$")
PLATFORM_OF = {"wecom": "wecom", "dingtalk": "dingtalk"}


class RosterFileError(ValueError):
    """The roster file cannot be read; the message says which line and why."""


@dataclass
class RosterFile:
    """The rows of a roster file and the problems found in it."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _decode(raw: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GBK; try UTF-8 (with or without BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def parse_roster(text: str) -> RosterFile:
    """Parse roster CSV text; rows with problems are reported, not imported."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise RosterFileError("文件是空的") from exc
    if NAME not in header:
        raise RosterFileError(
            f"缺少“{NAME}”列；表头应为：姓名,职务,党小组,党员类别,企业微信账号,钉钉用户ID,手机号"
        )
    name_at = header.index(NAME)
    at = {key: _column(header, names) for key, names in COLUMNS.items()}
    result, seen = RosterFile(), set[str]()
    last_line = reader.line_num
    for cells in reader:
        # The physical line the record starts on (a quoted cell may span several lines).
        line_no, last_line = last_line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            index = at[key]
            return cells[index].strip() if index is not None and index < len(cells) else ""

        name = cells[name_at].strip() if name_at < len(cells) else ""
        name = name.translate(MIDDLE_DOTS)
        if not VALID_NAME.match(name):
            result.errors.append(f"第{line_no}行：姓名“{name}”无效")
            continue
        if name in seen:
            result.errors.append(f"第{line_no}行：姓名“{name}”重复")
            continue
        seen.add(name)
        role_word = cell("role")
        role: str | None = None
        if role_word:
            if role_word in SECRETARY_WORDS:
                role = ROLE_SECRETARY
            elif role_word in MEMBER_WORDS:
                role = ROLE_MEMBER
            else:
                result.errors.append(f"第{line_no}行：角色“{role_word}”无效（可填 管理员 或 党员）")
                continue
        identities = {PLATFORM_OF[k]: cell(k) for k in ("wecom", "dingtalk") if cell(k)}
        result.rows.append(
            RosterRow(
                name=name,
                title=cell("title") or "党员",
                party_group=cell("group") or None,
                probationary="预备" in cell("category"),
                phone=cell("phone") or None,
                role=role,
                identities=identities,
            )
        )
    return result


def read_roster(path: Path) -> RosterFile:
    """Read and parse a roster CSV file in UTF-8 or GBK."""
    return parse_roster(_decode(path.read_bytes()))


def sample_roster() -> RosterFile:
    """The fictional demo roster shipped with the package (never real people)."""
    return read_roster(Path(__file__).with_name("samples") / "roster_sample.csv")
