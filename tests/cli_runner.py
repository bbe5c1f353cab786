"""Run the installed `zhibu` script as a real subprocess, with a controlled ZHIBU_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ZHIBU = Path(sys.executable).with_name("zhibu")


def run_zhibu(
    cwd: Path,
    *args: str | Path,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    default_db: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `zhibu ARGS` in `cwd`; by default its ledger is `cwd/zhibu.db`. Output is decoded."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    if default_db:
        environ["ZHIBU_DATABASE_URL"] = f"sqlite:///{cwd / 'zhibu.db'}"
    environ.update(env or {})
    done = subprocess.run(
        [str(ZHIBU), *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=environ,
        timeout=60,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )
