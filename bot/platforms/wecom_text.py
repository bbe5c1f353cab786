"""UTF-8 byte budgets for WeCom texts: cut at character boundaries, split at line breaks."""

from __future__ import annotations

from collections.abc import Sequence

# Room kept in every part of a split text for its number, e.g. "\n（12/12）".
LABEL_RESERVE = 24
TRUNCATED = "\n……（内容过长，已截断）"


def utf8_len(text: str) -> int:
    """Length of `text` in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def cut(text: str, max_bytes: int) -> tuple[str, str]:
    """Split `text` into a head of at most `max_bytes` UTF-8 bytes and the rest, never inside a
    character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, ""
    end = max(max_bytes, 0)
    while end > 0 and (data[end] & 0xC0) == 0x80:  # a continuation byte: back up
        end -= 1
    return data[:end].decode("utf-8"), data[end:].decode("utf-8")


def truncate(text: str, max_bytes: int) -> str:
    """Return `text` if it fits, else its head with a Chinese "truncated" note, within budget."""
    if utf8_len(text) <= max_bytes:
        return text
    head, _ = cut(text, max_bytes - utf8_len(TRUNCATED))
    return head + TRUNCATED


def _chunks(text: str, budget: int) -> list[str]:
    """Greedy chunks of at most `budget` bytes, breaking at newlines where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf8_len(candidate) <= budget:
            current = candidate
            continue
        if current:
            chunks.append(current)
        rest = line
        while utf8_len(rest) > budget:
            head, rest = cut(rest, budget)
            chunks.append(head)
        current = rest
    if current or not chunks:
        chunks.append(current)
    return chunks


def split_numbered(text: str, max_bytes: int) -> list[str]:
    """Split `text` into parts of at most `max_bytes` bytes, numbered "（i/n）" only when split."""
    if utf8_len(text) <= max_bytes:
        return [text]
    chunks = _chunks(text, max_bytes - LABEL_RESERVE)
    total = len(chunks)
    return [f"{chunk}\n（{i}/{total}）" for i, chunk in enumerate(chunks, start=1)]


def pack(texts: Sequence[str], max_bytes: int, separator: str = "\n\n") -> int:
    """How many leading `texts`, joined by `separator`, fit in `max_bytes` bytes."""
    used = 0
    for count, text in enumerate(texts):
        used += utf8_len(text) + (utf8_len(separator) if count else 0)
        if used > max_bytes:
            return count
    return len(texts)
