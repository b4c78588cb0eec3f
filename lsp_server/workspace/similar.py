"""The window of a recently edited document most like the code at the cursor.

Copilot's "neighboring tabs": code the user just wrote elsewhere often looks
like what comes next here. Windows of `WINDOW` lines, every `STEP` lines,
scored by the Jaccard similarity of their identifier sets with the lines
above the cursor; only the best window above `THRESHOLD` is kept.
"""

from __future__ import annotations

import re

WINDOW = 12
STEP = 6
THRESHOLD = 0.3
MAX_LINES = 3000  # windows looked at per document (keeps a recompute cheap)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text) if len(w) > 1}


def best_window(query: set[str], text: str) -> tuple[float, int, str]:
    """(score, first line, text) of the window of `text` most like `query`."""
    if not query:
        return 0.0, 0, ""
    lines = text.split("\n")[:MAX_LINES]
    best = (0.0, 0, "")
    for start in range(0, max(len(lines) - WINDOW, 0) + 1, STEP):
        chunk = "\n".join(lines[start : start + WINDOW])
        found = words(chunk)
        if not found:
            continue
        score = len(query & found) / len(query | found)
        if score > best[0]:
            best = (score, start, chunk)
    return best if best[0] >= THRESHOLD else (0.0, 0, "")
