"""Reading roster CSV files: the sample, Excel's GBK and BOM variants, and the problems reported
with their line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.roster_csv import RosterFileError, parse_roster, read_roster, sample_roster
from storage.roster import RosterRow
from tests.factories import DATA

HEADER = "姓名,职务,党小组,党员类别,企业微信账号,钉钉用户ID,手机号"


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a roster file in an encoding and return its path."""
    path = tmp_path / "名册.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_the_sample_file() -> None:
    parsed = read_roster(DATA / "roster_sample.csv")
    assert parsed.errors == []
    assert len(parsed.rows) == 10
    assert parsed.rows[0] == RosterRow(
        name="李明",
        title="书记",
        party_group="第一党小组",
        probationary=False,
        phone="13800000001",
        role=None,
        identities={"wecom": "liming", "dingtalk": "0138217"},
    )
    probationary = [r.name for r in parsed.rows if r.probationary]
    assert probationary == ["孙强"]
    assert all(r.role is None for r in parsed.rows)  # no 角色 column: derived from the title


def test_the_shipped_demo_roster_reads_cleanly() -> None:
    demo = sample_roster()
    assert demo.errors == []
    assert [r.name for r in demo.rows] == [
        r.name for r in read_roster(DATA / "roster_sample.csv").rows
    ]


def test_gbk_file_saved_by_excel(tmp_path: Path) -> None:
    text = f"{HEADER}\r\n张伟,宣传委员,第二党小组,预备党员,zhangwei,0138219,13800000003\r\n"
    path = write(tmp_path, text, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the file really is not UTF-8
    parsed = read_roster(path)
    assert parsed.errors == []
    (row,) = parsed.rows
    assert (row.name, row.title, row.party_group, row.probationary) == (
        "张伟",
        "宣传委员",
        "第二党小组",
        True,
    )
    assert row.identities == {"wecom": "zhangwei", "dingtalk": "0138219"}


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n王芳,组织委员,第一党小组,正式党员,wangfang,,\n", "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    parsed = read_roster(path)
    assert parsed.errors == []
    assert [(r.name, r.title) for r in parsed.rows] == [("王芳", "组织委员")]
    assert parsed.rows[0].identities == {"wecom": "wangfang"}  # an empty id is no id
    assert parsed.rows[0].phone is None


def test_only_the_name_column_is_required(tmp_path: Path) -> None:
    parsed = read_roster(write(tmp_path, "姓名\n李明\n\n王芳\n"))
    assert parsed.errors == []
    assert parsed.rows == [RosterRow(name="李明"), RosterRow(name="王芳")]


def test_columns_may_come_in_any_order_with_spaces(tmp_path: Path) -> None:
    parsed = read_roster(write(tmp_path, " 手机号 , 姓名 ,职务\n13800000009, 吴敏 ,党员\n"))
    assert parsed.rows == [RosterRow(name="吴敏", title="党员", phone="13800000009")]


@pytest.mark.parametrize(
    "text",
    ["名字,职务\n张三,党员\n", "职务,党小组\n书记,第一党小组\n"],
)
def test_missing_name_column(tmp_path: Path, text: str) -> None:
    with pytest.raises(RosterFileError, match="缺少“姓名”列"):
        read_roster(write(tmp_path, text))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RosterFileError, match="空"):
        read_roster(write(tmp_path, ""))


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes(b"\xff\xfe\x00\x00\x81\x30garbage")
    with pytest.raises(RosterFileError, match="编码"):
        read_roster(path)


def test_duplicate_and_bad_names_are_reported_with_line_numbers(tmp_path: Path) -> None:
    text = "\n".join(
        [
            HEADER,  # line 1
            "李明,书记,,,,,",  # 2
            "张伟,党员,,,,,",  # 3
            "李明,党员,,,,,",  # 4: duplicate
            ",党员,,,,,",  # 5: empty name
            "",  # 6: blank line, skipped silently
            "张伟123,党员,,,,,",  # 7: digits
            "这个名字实在是太长太长了超过了二十个字符的限制啊啊啊,党员,,,,,",  # 8
            "赵磊,党员,,,,,",  # 9
        ]
    )
    parsed = read_roster(write(tmp_path, text))
    assert [r.name for r in parsed.rows] == ["李明", "张伟", "赵磊"]
    assert parsed.rows[0].title == "书记"  # the first 李明 wins
    assert len(parsed.errors) == 4
    assert parsed.errors[0].startswith("第4行") and "重复" in parsed.errors[0]
    assert parsed.errors[1].startswith("第5行") and "无效" in parsed.errors[1]
    assert parsed.errors[2].startswith("第7行") and "张伟123" in parsed.errors[2]
    assert parsed.errors[3].startswith("第8行")


def test_line_numbers_count_lines_inside_quoted_cells(tmp_path: Path) -> None:
    text = '姓名,职务\n李明,"书记\n（兼）"\n12,党员\n'
    parsed = read_roster(write(tmp_path, text))
    assert parsed.rows[0].title == "书记\n（兼）"
    assert parsed.errors == ["第4行：姓名“12”无效"]


def test_names_with_a_middle_dot_are_valid() -> None:
    parsed = parse_roster("姓名\n买买提·艾力\n")
    assert [r.name for r in parsed.rows] == ["买买提·艾力"]


def test_optional_role_column(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "姓名,职务,角色",
            "李明,书记,",  # blank: derived from the title later
            "王芳,党员,管理员",
            "张伟,组织委员,党员",
            "刘洋,党员,admin",
            "陈静,党员,老大",  # 5: not a role
        ]
    )
    parsed = read_roster(write(tmp_path, text))
    assert {r.name: r.role for r in parsed.rows} == {
        "李明": None,
        "王芳": "secretary",
        "张伟": "member",
        "刘洋": "secretary",
    }
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("第6行") and "老大" in parsed.errors[0]


def test_short_rows_are_padded(tmp_path: Path) -> None:
    parsed = read_roster(write(tmp_path, f"{HEADER}\n黄丽,党员\n"))
    assert parsed.errors == []
    assert parsed.rows == [RosterRow(name="黄丽", title="党员")]


def test_minority_name_dots_are_unified() -> None:
    parsed = parse_roster("姓名,职务\n阿依古丽•买买提,党员\n热依拉・艾力,党员\n")
    assert [row.name for row in parsed.rows] == ["阿依古丽·买买提", "热依拉·艾力"]
    assert parsed.errors == []
