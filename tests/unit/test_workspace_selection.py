"""Selection at the cursor: what it picks, and that it stays put while the user types."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.workspace.index import WorkspaceIndex
from lsp_server.workspace.selection import ContextSelector

SHAPES = '''def area(radius):
    """Area of a circle."""


def perimeter(radius):
    """Perimeter of a circle."""


class Square:
    def __init__(self, side):
        pass
'''
UNITS = "def to_metres(feet):\n    pass\n\n\ndef to_feet(metres):\n    pass\n"
MAIN = "from .shapes import area, Square\nfrom .units import to_metres\n\n\ndef run(r):\n    "


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "shapes.py").write_text(SHAPES)
    (tmp_path / "units.py").write_text(UNITS)
    (tmp_path / "main.py").write_text(MAIN)
    return tmp_path.resolve()


def selector(ws: Path) -> ContextSelector:
    index = WorkspaceIndex([ws])
    index.build()
    return ContextSelector(index)


def test_imported_definitions_come_first_and_the_current_file_never(ws):
    sel = selector(ws)
    blocks = sel.select("u", str(ws / "main.py"), MAIN + "ar", len(MAIN) + 2, "python", 4000)
    assert blocks[0] == ('# Path: shapes.py\n# def area(radius):\n#     """Area of a circle."""\n')
    text = "".join(blocks)
    assert "# class Square:\n#     def __init__(self, side):" in text
    assert "def to_metres(feet):" in text
    assert "def perimeter" not in text  # not imported, not near the cursor
    assert "main.py" not in text


def test_stable_while_typing_a_word_and_appends_new_blocks_in_order(ws):
    sel = selector(ws)
    path = str(ws / "main.py")
    first = sel.select("u", path, MAIN, len(MAIN), "python", 4000)
    count = sel.recomputes
    for typed in ("t", "to", "to_", "to_fe"):
        text = MAIN + typed
        assert sel.select("u", path, text, len(text), "python", 4000) == first
    assert sel.recomputes == count  # the word being typed does not change the set
    text = MAIN + "x = to_feet(r)\n    "
    after = sel.select("u", path, text, len(text), "python", 4000)
    assert sel.recomputes == count + 1
    assert after[: len(first)] == first  # old blocks keep their place: the KV cache survives
    assert "def to_feet(metres):" in "".join(after[len(first) :])


def test_an_edit_elsewhere_recomputes_but_own_edits_do_not(ws):
    sel = selector(ws)
    path = str(ws / "main.py")
    sel.select("u", path, MAIN, len(MAIN), "python", 4000)
    count = sel.recomputes
    sel.index.update(ws / "main.py", MAIN + "#")  # the open document itself changed
    sel.select("u", path, MAIN, len(MAIN), "python", 4000)
    assert sel.recomputes == count
    sel.index.update(ws / "shapes.py", SHAPES.replace("area(radius)", "area(r)"))
    blocks = sel.select("u", path, MAIN, len(MAIN), "python", 4000)
    assert sel.recomputes == count + 1 and "# def area(r):" in "".join(blocks)


def test_budget_zero_or_no_folder_gives_nothing(ws):
    sel = selector(ws)
    assert sel.select("u", str(ws / "main.py"), MAIN, len(MAIN), "python", 0) == ()
    assert ContextSelector(WorkspaceIndex()).select("u", "/x.py", MAIN, 3, "python", 4000) == ()


def test_similar_window_only_from_indexed_documents(ws, tmp_path_factory):
    sel = selector(ws)
    code = "def report(rows):\n    total = sum_rows(rows)\n    print_table(rows, total)\n"
    (ws / "other.py").write_text(code)
    sel.index.update(ws / "other.py")
    outside = tmp_path_factory.mktemp("outside") / "far.py"
    # More like the cursor's code than other.py, but outside the workspace: never shown.
    far = "def summary(rows):\n    total = sum_rows(rows)\n    secret_total = 1\n"
    sel.edited("far", str(outside), far, "python")
    sel.edited("other", str(ws / "other.py"), code, "python")
    here = "def summary(rows):\n    total = sum_rows(rows)\n    "
    blocks = sel.select("me", str(ws / "main.py"), here, len(here), "python", 4000)
    assert blocks[-1] == (
        "# Path: other.py\n# def report(rows):\n#     total = sum_rows(rows)\n"
        "#     print_table(rows, total)\n"
    )
    assert "secret_total" not in "".join(blocks)


def test_typescript_imports_and_comment_style(tmp_path):
    (tmp_path / "geo.ts").write_text(
        "/** Distance between points. */\n"
        "export function distance(a: Point, b: Point): number { return 0 }\n"
    )
    main = "import { distance as dist } from './geo';\n\nconst d = di"
    (tmp_path / "main.ts").write_text(main)
    sel = selector(tmp_path.resolve())
    blocks = sel.select(
        "u", str(tmp_path.resolve() / "main.ts"), main, len(main), "typescript", 4000
    )
    assert blocks == (
        "// Path: geo.ts\n"
        "// function distance(a: Point, b: Point): number\n"
        "//     /** Distance between points. */\n",
    )
