"""`zhibu branch`: list the branches and set the organisation (机关工委) each belongs to, which
`zhibu report --org` and `zhibu export --org` group branches by."""

from __future__ import annotations

import os
from typing import Annotated

import typer

branch_app = typer.Typer(
    help="支部：列表与所属组织（机关工委报表按此分组）。", no_args_is_help=True
)
SHOWN_NAMES = 10  # known branches named in an "unknown branch" error


@branch_app.command("list")
def branch_list() -> None:
    """列出全部支部：名称、所属组织、在册党员数。"""
    from bot.cli import settings
    from bot.runtime import build
    from storage.org_branches import branch_lines
    from storage.xlsx_sheets import text_width

    runtime = build(settings())
    with runtime.db.session() as session:
        lines = branch_lines(session)
    if not lines:
        typer.echo("还没有支部，请先用 zhibu roster import 导入名册。")
        return
    rows = [("支部", "所属组织", "党员数")]
    rows += [(b.name, b.organisation or "—", str(b.members)) for b in lines]
    widths = [max(text_width(row[i]) for row in rows) for i in range(2)]
    for name, organisation, members in rows:
        typer.echo(
            f"{name}{' ' * (widths[0] - text_width(name))}  "
            f"{organisation}{' ' * (widths[1] - text_width(organisation))}  {members}".rstrip()
        )


@branch_app.command("set")
def branch_set(
    name: Annotated[str, typer.Argument(help="支部名称（全称）")],
    organisation: Annotated[
        str,
        typer.Option("--organisation", "--org", help="所属组织（机关工委）全称；空字符串则清除"),
    ],
) -> None:
    """设置支部的所属组织（机关工委报表、整组织台账按此分组）。"""
    from bot.cli import fail, settings
    from bot.runtime import build
    from storage import roster
    from storage.audit import Actor
    from storage.org_branches import normalise_organisation, set_organisation

    try:
        wanted = normalise_organisation(organisation)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    runtime = build(settings())
    with runtime.db.transaction() as session:
        target = roster.get_branch(session, name.strip())
        if target is None:
            known = [b.name for b in roster.list_branches(session)]
            shown = "、".join(known[:SHOWN_NAMES]) + ("…" if len(known) > SHOWN_NAMES else "")
            raise fail(
                f"没有支部“{name}”（unknown branch）"
                + (f"；现有支部：{shown}" if known else "；请先用 zhibu roster import 导入名册")
            )
        actor = Actor(f"cli:{os.environ.get('USER', 'admin')}", runtime.clock.now())
        changed = set_organisation(session, actor, target, wanted)
    if wanted is None:
        said = f"已清除 {target.name} 的所属组织" if changed else f"{target.name} 没有所属组织"
    else:
        said = f"{target.name} 的所属组织{'已设为' if changed else '已是'}“{wanted}”"
    typer.echo(f"{said}。")
