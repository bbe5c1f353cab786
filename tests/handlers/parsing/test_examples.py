"""The shared examples and our own corpus must parse exactly as annotated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.parsing import parse
from tests.handlers.parsing.conftest import NOW

DATA = Path(__file__).resolve().parents[2] / "data"


def _load(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check(case: dict[str, Any]) -> list[str]:
    """Return the differences between an annotated case and what `parse` makes of it."""
    got = parse(case["text"], NOW).as_contract()
    problems: list[str] = []
    wanted = case["intent"]
    intents = wanted if isinstance(wanted, list) else [wanted]
    if got["intent"] not in intents:
        problems.append(f"intent {got['intent']!r} not in {intents}")
    for key, value in case.items():
        if key in ("text", "intent"):
            continue
        if key == "error":
            if bool(value) != ("error" in got):
                problems.append(f"error expected={value} got={got.get('error')!r}")
        elif key.endswith("_contains"):
            field = key.removesuffix("_contains")
            if value not in str(got.get(field) or ""):
                problems.append(f"{field}={got.get(field)!r} lacks {value!r}")
        elif got.get(key) != value:
            problems.append(f"{key}={got.get(key)!r} expected {value!r}")
    if "error" not in case and "error" in got:
        problems.append(f"unexpected error {got['error']!r}")
    return problems


EXAMPLES = _load("parse_examples.jsonl")
CORPUS = _load("parse_corpus.jsonl")


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["text"][:30] for c in EXAMPLES])
def test_shared_examples(case: dict[str, Any]) -> None:
    assert check(case) == []


def test_corpus_is_large_and_covers_every_intent() -> None:
    assert len(CORPUS) >= 300
    seen = {
        i for c in CORPUS for i in (c["intent"] if isinstance(c["intent"], list) else [c["intent"]])
    }
    expected = {
        "checkin",
        "leave",
        "study",
        "volunteer",
        "mine",
        "help",
        "open_meeting",
        "close_meeting",
        "publish_study",
        "missing",
        "stats",
        "export",
        "unknown",
        "correction",
        "bind",
        "add_member",
        "set_role",
        "points",
        "points_rank",
        "points_adjust",
    }
    assert expected <= seen


def test_corpus_all_pass() -> None:
    failures = {c["text"]: p for c in CORPUS if (p := check(c))}
    assert failures == {}, f"{len(failures)}/{len(CORPUS)} corpus cases fail: {failures}"
