"""How many random cases the long property tests run: a sample by default, all on request.

The default suite (`python -m pytest`, what `.ci/run` runs) has to finish within
10 minutes on a 2-core machine, so the model-bound property tests (random edits
through the engine, the wire fuzz) run a fixed-seed sample that still reaches
every branch they assert on (each test checks that it did: drafts accepted and
rejected, caches reused, ...). `CODELLAMA_LSP_FULL_TESTS=1` runs the full counts,
for a release or after touching the engine.
"""

from __future__ import annotations

import os

FULL = os.environ.get("CODELLAMA_LSP_FULL_TESTS", "") not in ("", "0")


def cases(default: int, full: int) -> int:
    """`full` with CODELLAMA_LSP_FULL_TESTS=1, else `default`."""
    return full if FULL else default
