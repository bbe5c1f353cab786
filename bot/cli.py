"""The `zhibu` command line: serve, console, parse, db, roster, chat and export."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from bot.config import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.writer_process import WriterSpec
    from storage.db import Database
    from storage.models import Branch
    from storage.periods import Period

PLATFORMS = ("wecom", "dingtalk", "console")
EXPORT_FORMATS = ("json", "xlsx")

app = typer.Typer(
    help="zhibu 支部助手：党支部群聊台账机器人。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="数据库迁移。", no_args_is_help=True)
roster_app = typer.Typer(help="党员名册。", no_args_is_help=True)
chat_app = typer.Typer(help="群聊与支部的绑定。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(roster_app, name="roster")
app.add_typer(chat_app, name="chat")


def _register_outbox() -> None:
    from bot.cli_outbox import outbox_app

    app.add_typer(outbox_app, name="outbox")


def _register_reminders() -> None:
    from bot.cli_reminders import calendar_app, reminders_app

    app.add_typer(reminders_app, name="reminders")
    app.add_typer(calendar_app, name="calendar")


def _register_plan() -> None:
    from bot.cli_plan import plan_app

    app.add_typer(plan_app, name="plan")


def _register_report() -> None:
    from bot.cli_report import report

    app.command("report")(report)


def _register_branch() -> None:
    from bot.cli_branch import branch_app

    app.add_typer(branch_app, name="branch")


def _register_points() -> None:
    from bot.cli_points import points_app

    app.add_typer(points_app, name="points")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error to stderr and return the Exit to raise."""
    typer.echo(f"错误：{message}", err=True)
    return typer.Exit(code)


def require_branch(session: Session, name: str) -> Branch:
    """Return the named branch, or stop with a clear error saying how to create it."""
    from storage.roster import get_branch

    branch = get_branch(session, name)
    if branch is None:
        raise fail(f"没有支部“{name}”，请先用 zhibu roster import 导入名册")
    return branch


def settings() -> Settings:
    """Load settings, turning validation errors into a readable message."""
    try:
        return load_settings()
    except ValidationError as exc:
        problems = "；".join(
            f"ZHIBU_{'_'.join(map(str, e['loc'])).upper()}：{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise fail(f"配置有误：{problems}") from exc


def setup_logging(level: str) -> None:
    """Log to stderr at the configured level."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs request URLs at INFO, and a WeCom webhook URL carries its key.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def writer_spec(cfg: Settings, db: Database) -> WriterSpec | None:
    """The writer process `serve` should start, or None to dispatch on a thread.

    An in-memory SQLite database lives in one process only, so it keeps the thread.
    """
    from bot.writer_process import WriterSpec

    if not cfg.writer_process or (
        db.is_sqlite and db.engine.url.database in (None, "", ":memory:")
    ):
        return None
    return WriterSpec(cfg.database_url, cfg.redis_url, cfg.tz, cfg.log_level)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口", min=1, max=65535)] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="不在本进程推送提醒（另用 zhibu scheduler）")
    ] = False,
) -> None:
    """启动机器人服务（自动升级数据库；默认同时推送提醒）。"""
    import uvicorn

    from bot.app import create_app
    from bot.runtime import build, describe

    cfg = settings()
    setup_logging(cfg.log_level)
    log = logging.getLogger("zhibu")
    runtime = build(cfg)
    log.info("zhibu serving on http://%s:%d: %s", host, port, describe(cfg))
    log.info("platforms: none configured yet; try the bot with `zhibu console`")
    if no_scheduler:
        log.info("scheduler off in this process (--no-scheduler)")
    writer = writer_spec(cfg, runtime.db)
    log.info(
        "ledger writer: %s", "a child process" if writer else "a thread (ZHIBU_WRITER_PROCESS=0)"
    )
    app_ = create_app(runtime, run_scheduler=not no_scheduler, writer=writer)
    gc.freeze()  # what startup built lives as long as the process: keep it out of GC passes
    uvicorn.run(app_, host=host, port=port, log_level=cfg.log_level.lower())


@app.command("scheduler")
def scheduler_only() -> None:
    """只运行提醒调度（与 serve --no-scheduler 配合，按时把提醒写入待发队列）。"""
    from bot.runtime import build, describe
    from scheduler.runner import ReminderTicker

    cfg = settings()
    setup_logging(cfg.log_level)
    runtime = build(cfg)
    logging.getLogger("zhibu").info(
        "zhibu scheduler: reminders every %ds: %s", cfg.scheduler_interval, describe(cfg)
    )
    ReminderTicker(runtime.db, runtime.clock).run_blocking(cfg.scheduler_interval)


@app.command()
def console(
    branch: Annotated[str | None, typer.Option(help="支部名称（默认唯一的支部或演示支部）")] = None,
) -> None:
    """在终端里模拟支部群聊（与正式环境同一套处理和存储）。"""
    from bot.console import SwitchableClock, run_console
    from bot.runtime import build

    cfg = settings()
    setup_logging("WARNING")
    # The console says itself when a reminder was too late to send; no log lines in the chat.
    logging.getLogger("scheduler.reminders").setLevel(logging.ERROR)
    clock = SwitchableClock()
    runtime = build(cfg, clock)
    raise typer.Exit(run_console(runtime, clock, branch))


@app.command()
def parse(
    text: Annotated[
        str | None, typer.Argument(help="要解析的消息；省略则从标准输入逐行读取")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="当前时间，ISO 8601，如 2026-11-20T10:00+08:00")
    ] = None,
) -> None:
    """把消息解析成 JSON（每条输入一行输出）。"""
    from handlers.parsing import parse as parse_text

    cfg = settings()
    zone = ZoneInfo(cfg.tz)
    if now:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError as exc:
            raise fail(f"--now 不是 ISO 8601 时间：{now}") from exc
        # Dates are read in the branch zone, as dispatch does: convert, do not just relabel.
        moment = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    else:
        moment = datetime.now(zone)

    def emit(line: str) -> None:
        sys.stdout.write(json.dumps(parse_text(line, moment).as_contract(), ensure_ascii=False))
        sys.stdout.write("\n")

    if text is not None:
        emit(text)
        return
    data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another text
    for line in lines:
        emit(line.removesuffix("\r"))
    sys.stdout.flush()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库升级到最新版本。"""
    from storage import migrate
    from storage.db import Database

    db = Database(settings().database_url)
    migrate.upgrade(db.engine)
    typer.echo(f"数据库已是最新版本（{migrate.current_revision(db.engine)}）。")


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前版本。"""
    from storage import migrate
    from storage.db import Database

    db = Database(settings().database_url)
    typer.echo(
        f"当前版本：{migrate.current_revision(db.engine) or '空库'}；"
        f"最新版本：{migrate.head_revision()}"
    )


@roster_app.command("import")
def roster_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="名册 CSV（姓名,职务,党小组,党员类别,企业微信账号,钉钉用户ID,手机号）",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    branch: Annotated[str, typer.Option(help="支部名称（不存在则新建）")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入")] = False,
    organisation: Annotated[
        str | None,
        typer.Option("--organisation", "--org", help="同时设置支部的所属组织（机关工委）"),
    ] = None,
) -> None:
    """导入或更新党员名册（重复导入只更新，不会重复）。"""
    from bot.roster_csv import RosterFileError, read_roster
    from bot.runtime import build
    from storage import roster
    from storage.audit import Actor
    from storage.org_branches import normalise_organisation, set_organisation

    try:
        parsed = read_roster(file)
    except RosterFileError as exc:
        raise fail(str(exc)) from exc
    for problem in parsed.errors:
        typer.echo(f"跳过 {problem}", err=True)
    if not parsed.rows:
        raise fail("文件里没有可导入的成员")
    name = branch.strip()
    if not name or len(name) > 100:
        raise fail("支部名称不能为空，且不超过100字")
    try:
        org = normalise_organisation(organisation)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if dry_run:
        typer.echo(f"检查通过：{len(parsed.rows)} 人可导入，{len(parsed.errors)} 行有问题。")
        return
    runtime = build(settings())
    with runtime.db.transaction() as session:
        actor = Actor(f"cli:{os.environ.get('USER', 'admin')}", runtime.clock.now())
        target = roster.ensure_branch(session, actor, name, runtime.settings.tz)
        result = roster.import_roster(session, actor, target, parsed.rows)
        if organisation is not None:
            set_organisation(session, actor, target, org)
    typer.echo(
        f"{name}：新增 {len(result.created)} 人，更新 {len(result.updated)} 人，"
        f"未变 {len(result.unchanged)} 人"
        + (f"，跳过 {len(parsed.errors)} 行" if parsed.errors else "")
        + (f"；所属组织：{org or '无'}" if organisation is not None else "")
        + "。"
    )
    if result.conflicts:
        typer.echo(
            "以下成员的企业微信/钉钉账号已被名册中其他人占用，未设置："
            + "、".join(result.conflicts),
            err=True,
        )
    if parsed.errors or result.conflicts:
        raise typer.Exit(2)


@chat_app.command("bind")
def chat_bind(
    chat_id: Annotated[str, typer.Option("--chat-id", help="平台上的群 ID")],
    branch: Annotated[str, typer.Option(help="支部名称")],
    platform: Annotated[str, typer.Option(help="平台：wecom / dingtalk / console")] = "wecom",
    webhook_key: Annotated[
        str | None,
        typer.Option("--webhook-key", help="群机器人（消息推送）的 webhook key 或完整地址"),
    ] = None,
) -> None:
    """把一个群绑定到支部（可同时设置主动推送用的群机器人地址）。"""
    from bot.runtime import build
    from storage import roster
    from storage.audit import Actor

    if platform not in PLATFORMS:
        raise fail(f"未知平台“{platform}”，可用：{' / '.join(PLATFORMS)}")
    if not chat_id.strip():
        raise fail("--chat-id 不能为空")
    runtime = build(settings())
    with runtime.db.transaction() as session:
        target = require_branch(session, branch)
        actor = Actor(f"cli:{os.environ.get('USER', 'admin')}", runtime.clock.now())
        chat = roster.ensure_chat(session, platform, chat_id, title=None, at=actor.at)
        roster.bind_chat(session, actor, chat, target)
        if webhook_key:
            roster.merge_chat_routes(chat, {"push_target": webhook_key.strip()})
    pushed = "，并设置了消息推送地址" if webhook_key else ""
    typer.echo(f"已将 {platform} 群 {chat_id} 绑定到 {branch}{pushed}。")


@app.command()
def export(
    branch: Annotated[str | None, typer.Option(help="支部名称")] = None,
    period: Annotated[
        str, typer.Option(help="2026-11、2026、2026-Q4、this_month …")
    ] = "this_month",
    fmt: Annotated[
        str, typer.Option("--format", help="输出格式：json，或 xlsx（可打印的台账，需 --out）")
    ] = "json",
    out: Annotated[Path | None, typer.Option(help="输出文件（json 默认打印到屏幕）")] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="机关工委/组织名称：其全部支部的台账（仅 xlsx）")
    ] = None,
) -> None:
    """导出一个时段的台账（一个支部，或用 --org 导出一个组织的全部支部）。"""
    from bot.runtime import build
    from storage.export import ledger
    from storage.periods import PERIOD_HINT, resolve

    if fmt not in EXPORT_FORMATS:
        raise fail(f"暂不支持格式 {fmt}，可用：{' / '.join(EXPORT_FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise fail("导出 xlsx 需要用 --out 指定文件，例如 --out 台账.xlsx")
    if out is not None and _is_dir(out):
        raise fail(f"{out} 是一个目录，请给出文件名，例如 {out / ('台账.' + fmt)}")
    if (branch is None) == (org is None):
        raise fail("请用 --branch 指定一个支部，或用 --org 指定一个组织，二者只能选一")
    if org is not None and fmt != "xlsx":
        raise fail("--org 导出整个组织的台账只支持 --format xlsx（需 --out）")
    runtime = build(settings())
    with runtime.db.session() as session:
        if org is not None:
            from bot.cli_report import export_org

            assert out is not None  # xlsx needs --out, checked above
            today = runtime.clock.now().astimezone(ZoneInfo(runtime.settings.tz)).date()
            export_org(session, org, period, today, out)
            return
        assert branch is not None  # exactly one of --branch and --org
        target = require_branch(session, branch)
        today = runtime.clock.now().astimezone(ZoneInfo(target.timezone)).date()
        try:
            span = resolve(period, today)
        except ValueError as exc:
            raise fail(f"时段“{period}”无效：可用 {PERIOD_HINT}") from exc
        if fmt == "xlsx":
            assert out is not None  # checked above
            _export_xlsx(session, target, span, out)
            return
        data = json.dumps(ledger(session, target, span), ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(data)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a failed export never leaves a half file.
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=out.parent, delete=False, suffix=".tmp"
        ) as handle:
            handle.write(data + "\n")
        os.replace(handle.name, out)
    except OSError as exc:
        raise fail(f"无法写入 {out}：{exc.strerror or exc}") from exc
    typer.echo(f"已导出 {target.name} {span.label} 台账到 {out}", err=True)


def _is_dir(path: Path) -> bool:
    """True for an existing directory; a path the system rejects fails later, when written."""
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long, which pathlib does not swallow
        return False


def _export_xlsx(session: Session, target: Branch, span: Period, out: Path) -> None:
    """Write the print-ready workbook, reporting each sheet on stderr."""
    from bot.clock import SystemClock
    from handlers.plan_ledger import write_branch_ledger

    today = SystemClock().now().astimezone(ZoneInfo(target.timezone)).date()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        summary = write_branch_ledger(
            session,
            target,
            span,
            out,
            today,
            progress=lambda name: typer.echo(f"写入 {name} …", err=True),
        )
    except OSError as exc:
        raise fail(f"无法写入 {out}：{exc.strerror or exc}") from exc
    typer.echo(
        f"已导出 {target.name} {span.label} 台账到 {out}（{len(summary.sheets)} 个工作表）",
        err=True,
    )


_register_branch()
_register_outbox()
_register_plan()
_register_points()
_register_report()
_register_reminders()


def main() -> None:
    """Entry point of the `zhibu` script."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    try:
        app()
    except Exception as exc:
        from sqlalchemy.exc import ArgumentError, OperationalError

        from storage.migrate import SchemaMismatchError

        if isinstance(exc, OperationalError | ArgumentError):
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            typer.echo(f"错误：无法使用数据库（请检查 ZHIBU_DATABASE_URL）：{detail}", err=True)
        elif isinstance(exc, SchemaMismatchError):
            typer.echo(f"错误：数据库结构与程序不符：{exc}", err=True)
        else:
            raise
        sys.exit(1)
