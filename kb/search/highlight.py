"""Snippets: the passages of a stored text around the words a query matched, as escaped HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from ..text import Term, analyze, normalize, plain_text, quick_matches


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+")


def _pieces(text: str, size: int = 600) -> Iterable[tuple[int, str]]:
    """``text`` in runs of whole sentences of about ``size`` characters, with their offsets."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() - start >= size:
            yield start, text[start:m.end()]
            start = m.end()
    if start < len(text):
        yield start, text[start:]


def highlight(text: str, wanted: set[str], lang: str, *, top: int = 2, width: int = 220) -> str:
    """Up to ``top`` passages of ``text`` around the words whose analyzed terms are in
    ``wanted``, as escaped HTML with ``<b class="match termN">`` marks ("" if none match).
    Markdown markup is left out (:func:`kb.text.plain_text`): a snippet reads as the page does."""
    text = normalize(plain_text(text))
    # Single words first (cheap); only when none match (a multi-word concept), the full analyzer,
    # sentence by sentence, stopping once enough matches are found.
    found = quick_matches(text, wanted, lang, limit=6 * top)
    for start, piece in _pieces(text) if not found else ():
        found.extend(Term(t.text, t.pos, t.start + start, t.end + start)
                     for t in analyze(piece, lang) if t.text in wanted)
        if len(found) >= 2 * top:
            break
    if not found:
        return ""
    classes = {w: i for i, w in enumerate(sorted(wanted))}
    # Score a window starting shortly before each match by the distinct terms it holds.
    windows = []
    for i, t in enumerate(found):
        start = max(0, t.start - width // 4)
        end = start + width
        inside = [x for x in found[i:] if x.end <= end]
        windows.append((len({x.text for x in inside}), len(inside), -start, start, end))
    chosen: list[tuple[int, int]] = []
    for *_, start, end in sorted(windows, reverse=True):
        if all(end <= a or start >= b for a, b in chosen):
            chosen.append((start, end))
        if len(chosen) == top:
            break
    parts = []
    for start, end in sorted(chosen):
        # Widen to word boundaries.
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        out, pos = [], start
        for t in found:
            if t.start >= start and t.end <= end and t.start >= pos:
                out.append(escape(text[pos:t.start]))
                out.append(f'<b class="match term{classes[t.text]}">{escape(text[t.start:t.end])}</b>')
                pos = t.end
        out.append(escape(text[pos:end]))
        parts.append(("…" if start > 0 else "") + "".join(out).strip() + ("…" if end < len(text) else ""))
    return " ".join(parts)


def highlight_to_text(fragment: str, start: str = "[", end: str = "]") -> str:
    """Turn a highlighted HTML fragment into plain text with ``start``/``end`` marks."""
    fragment = re.sub(r'<b class="match[^"]*">', start, fragment)
    fragment = fragment.replace("</b>", end)
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))
