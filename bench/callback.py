"""Benchmark: encrypted WeCom AI-bot callbacks against `zhibu serve`, beside a bare endpoint.

Usage: .venv/bin/python bench/callback.py [--seconds 10] [--connections 50] [--chats 1] [--database-url URL]
Needs `wrk` (apt-get install wrk). Starts `zhibu serve` on a free 127.0.0.1 port with WeCom
callback crypto on, pre-generates callbacks with distinct message ids from the sample roster, and
drives both servers with wrk. Prints requests/s and p50/p99 for each and their ratio. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.platforms.wecom_crypto import WeComCrypto  # noqa: E402

TOKEN = "benchtoken"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CHAT = "wrkBENCHGROUP"
USERS = [
    "liming",
    "wangfang",
    "zhangwei",
    "liuyang",
    "chenjing",
    "yangfan",
    "zhaolei",
    "huangli",
    "wumin",
    "sunqiang",
]
TEXTS = ["签到", "到", "已学习", "志愿服务 1小时 文明劝导", "我的", "请假 出差", "收到"]
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def ok(request):
    await request.body()
    return Response("ok")

app = Starlette(routes=[Route("/wecom/callback", ok, methods=["POST"])])
"""
LUA = r"""
local reqs = dofile(os.getenv("ZHIBU_BENCH_REQUESTS"))
local threads, counter = {}, 1
function setup(thread)
  thread:set("tid", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args) n = tonumber(tid) - 1; step = tonumber(os.getenv("ZHIBU_BENCH_THREADS")) end
function request()
  local r = reqs[(n % #reqs) + 1]; n = n + step
  return wrk.format("POST", r[1], {["Content-Type"] = "application/json"}, r[2])
end
"""


def free_port() -> int:
    """Ask the OS for a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lua_string(value: str) -> str:
    """Quote a value as a Lua long string."""
    return "[==[" + value + "]==]"


def chat_ids(count: int) -> list[str]:
    """The group chats the load comes from (one branch, bound on first sight)."""
    return [CHAT] + [f"{CHAT}{k}" for k in range(1, count)]


def callback(
    crypto: WeComCrypto, msgid: str, user: str, text: str, nonce: str, chat: str = CHAT
) -> tuple[str, str]:
    """Return (query, body) of one signed, encrypted AI-bot text callback."""
    timestamp = str(int(datetime.now(UTC).timestamp()))
    payload = {
        "msgid": msgid,
        "aibotid": "AIBOT",
        "chatid": chat,
        "chattype": "group",
        "from": {"userid": user},
        "msgtype": "text",
        "text": {"content": "@支部助手 " + text},
    }
    encrypt, signature = crypto.seal(json.dumps(payload, ensure_ascii=False), timestamp, nonce)
    query = f"/wecom/callback?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
    return query, json.dumps({"encrypt": encrypt})


def open_meeting_and_task(base: str, crypto: WeComCrypto, chats: list[str]) -> None:
    """As the secretary, open a meeting in every chat and publish a study task, as before a burst."""
    prelude = [(chat, "开会 党员大会 学习全会精神") for chat in chats]
    prelude.append((chats[0], "发布学习《党章》截止12月31日"))
    for n, (chat, text) in enumerate(prelude):
        query, body = callback(crypto, f"prelude-{n}", USERS[0], text, str(n), chat)
        httpx.post(base + query, content=body, timeout=10).raise_for_status()


def write_requests(path: Path, count: int, crypto: WeComCrypto, chats: list[str]) -> None:
    """Pre-generate `count` signed, encrypted callbacks with distinct message ids."""
    rng = random.Random(20261122)
    timestamp = str(int(datetime.now(UTC).timestamp()))
    lines = ["return {"]
    for i in range(count):
        payload = {
            "msgid": f"bench-{i}",
            "aibotid": "AIBOT",
            "chatid": rng.choice(chats),
            "chattype": "group",
            "from": {"userid": rng.choice(USERS)},
            "msgtype": "text",
            "text": {"content": "@支部助手 " + rng.choice(TEXTS)},
        }
        nonce = str(100000 + i)
        encrypt, signature = crypto.seal(json.dumps(payload, ensure_ascii=False), timestamp, nonce)
        query = f"/wecom/callback?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
        lines.append(
            "{" + lua_string(query) + "," + lua_string(json.dumps({"encrypt": encrypt})) + "},"
        )
    lines.append("}")
    path.write_text("\n".join(lines), encoding="utf-8")


def wait_healthy(url: str, seconds: float = 30) -> None:
    """Poll until the URL answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def run_wrk(url: str, seconds: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    """Run wrk and return requests/s, p50 and p99 (ms)."""
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            env["ZHIBU_BENCH_LUA"],
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    out = done.stdout

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            raise SystemExit(out)
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * factor

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    """Run both servers under the same load and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--requests", type=int, default=60000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--chats", type=int, default=1, help="group chats the callbacks come from (default 1)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the bot with py-spy into this file (collapsed stacks, one per thread)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        env = {
            **os.environ,
            "ZHIBU_DATABASE_URL": url,
            "ZHIBU_WECOM_TOKEN": TOKEN,
            "ZHIBU_WECOM_AES_KEY": AES_KEY,
            "ZHIBU_LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [
                bin_dir / "zhibu",
                "roster",
                "import",
                ROOT / "bot/samples/roster_sample.csv",
                "--branch",
                "基准支部",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        requests_file, lua_file = work / "requests.lua", work / "bench.lua"
        write_requests(
            requests_file, args.requests, WeComCrypto(TOKEN, AES_KEY), chat_ids(args.chats)
        )
        lua_file.write_text(LUA, encoding="utf-8")
        (work / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        wrk_env = {
            "ZHIBU_BENCH_REQUESTS": str(requests_file),
            "ZHIBU_BENCH_LUA": str(lua_file),
            "ZHIBU_BENCH_THREADS": "2",
        }
        bot_port, bare_port = free_port(), free_port()
        serve: list[str | Path] = [bin_dir / "zhibu", "serve", "--port", str(bot_port)]
        if args.profile is not None:
            serve = [
                bin_dir / "py-spy",
                "record",
                "--format",
                "raw",
                "--threads",
                "--output",
                args.profile.resolve(),
                "--",
                *serve,
            ]
        bot = subprocess.Popen(
            serve,
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            cwd=work,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{bot_port}/healthz")
            open_meeting_and_task(
                f"http://127.0.0.1:{bot_port}", WeComCrypto(TOKEN, AES_KEY), chat_ids(args.chats)
            )
            time.sleep(1)
            full = run_wrk(f"http://127.0.0.1:{bot_port}", args.seconds, args.connections, wrk_env)
            plain = run_wrk(
                f"http://127.0.0.1:{bare_port}", args.seconds, args.connections, wrk_env
            )
        finally:
            if args.profile is not None:
                bot.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for proc in (bot, bare):
                if args.profile is None or proc is bare:
                    proc.terminate()
                proc.wait(timeout=60)
    backend = url.split(":", 1)[0]
    print(
        f"backend={backend} connections={args.connections} seconds={args.seconds} "
        f"chats={args.chats}"
    )
    print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in (("full WeCom callback", full), ("bare 200 (same stack)", plain)):
        print(f"{name:<28}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['non2xx']:>10.0f}")
    print(f"ratio full/bare: {full['rps'] / plain['rps']:.2%}")


if __name__ == "__main__":
    main()
