"""The engine contract: stop reasons, cancel tokens, the one stopping rule, prompters,
the custom requests' names, and the package's layering."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.completion import filters
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import IdsPrompter, PromptTooLong, make_prompter
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.generation import (
    CancelToken,
    EngineInfo,
    GenerationRequest,
    Prompt,
    StoppingCriteria,
    StopReason,
)
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.server import custom_methods
from lsp_server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lsp_server"


def _request(**kw) -> GenerationRequest:
    prompt = Prompt(text="x", stop_ids=(32010, 2), stop_strings=kw.pop("stops", ()))
    return GenerationRequest(prompt=prompt, **kw)


# -- stop reasons and cancel tokens ---------------------------------------------------


def test_stop_reason_reads_and_serialises_as_its_old_string():
    assert StopReason.CANCELLED == "cancelled" and str(StopReason.EOT) == "eot"
    assert json.dumps({"r": StopReason.LENGTH}) == '{"r": "length"}'


def test_cancel_token_counts_steps_after_the_cancel():
    token = CancelToken()
    assert token.lag == 0 and not token.is_set()
    token.step(5)
    token.cancel()
    token.step(6)
    token.cancel()  # a second cancel does not move the mark
    assert token.is_set() and token.steps_at_cancel == 5 and token.lag == 1


# -- the stopping rule --------------------------------------------------------------


def test_stop_ids_end_before_the_token_and_say_which():
    with_eot = StoppingCriteria(_request(), CancelToken(), eot_id=32010)
    assert with_eot.token(32010) == (True, StopReason.EOT)
    assert with_eot.token(2) == (True, StopReason.EOS)
    assert with_eot.token(7) == (False, None)
    remote = StoppingCriteria(_request(), CancelToken())  # every stop reads as EOT
    assert remote.token(2) == (True, StopReason.EOT)
    assert remote.token(99, special=True) == (True, StopReason.EOT)
    assert remote.token(None) == (False, None)


def test_prompt_stop_ids_win_over_the_engine_defaults():
    prompt = Prompt(ids=[1], stop_ids=(2,))
    rule = StoppingCriteria(GenerationRequest(prompt), CancelToken(), stop_ids=(32010, 2))
    assert rule.token(32010) == (False, None) and rule.token(2)[0]


def test_after_a_token_should_stop_then_length_then_cancel() -> None:
    seen: list[str] = []

    def should_stop(text: str) -> bool:
        seen.append(text)
        return "!" in text

    cancel = CancelToken()
    rule = StoppingCriteria(_request(max_new_tokens=3, should_stop=should_stop), cancel)
    assert rule("a", 1) == (False, None)
    assert rule("a!", 2) == (True, StopReason.STOP)
    assert rule("ab", 3) == (True, StopReason.LENGTH)
    cancel.cancel()
    assert rule("a", 1) == (True, StopReason.CANCELLED)
    assert StoppingCriteria(_request(max_new_tokens=1), cancel, count_length=False)("a", 5) == (
        True,
        StopReason.CANCELLED,
    )


def test_other_control_ids_end_it_as_control_never_as_text():
    rule = StoppingCriteria(
        _request(), CancelToken(), eot_id=32010, control_ids={32007, 32009}, vocab_size=32016
    )
    assert rule.token(32009) == (True, StopReason.CONTROL)  # <MID> chosen mid-answer
    assert rule.token(32016) == (True, StopReason.CONTROL)  # past the vocabulary
    assert rule.token(32010) == (True, StopReason.EOT)  # a stop id stays a stop
    assert rule.token(500) == (False, None)


def test_while_healing_the_pipeline_is_not_asked_and_sees_the_answer_only() -> None:
    seen: list[str] = []

    def should_stop(text: str) -> bool:
        seen.append(text)
        return False

    prompt = Prompt(ids=[1], heal="    ")
    request = GenerationRequest(prompt, max_new_tokens=2, should_stop=should_stop)
    rule = StoppingCriteria(request, CancelToken())
    assert rule("  ", 0, healing=True) == (False, None) and seen == []
    assert rule("    return", 1) == (False, None) and seen == ["return"]
    assert rule("    return x", 2) == (True, StopReason.LENGTH)


def test_should_stop_never_sees_a_half_arrived_stop_string() -> None:
    seen: list[str] = []

    def should_stop(text: str) -> bool:
        seen.append(text)
        return False

    rule = StoppingCriteria(_request(stops=(" <EOT>",), should_stop=should_stop), CancelToken())
    rule("return x <E", 1)
    assert seen == ["return x"]
    assert rule.cut("a <EOT> b") == ("a", True)


# -- filters say which one cut -------------------------------------------------------

CASES = [
    ("def f(x):\n    return ", "\n\nprint(f(1))\n", "x + 1\n\nprint(f(1))\nmore"),
    ("total = ", "\n", "sum(values)\nprint(total)\n"),
    ("if ok:\n    ", "\n", "run()\n    again()\nelse:\n    stop()\n"),
    ("x = [", "]\n", "1, 2]\n"),
    ("", "", "    \n"),
]


@pytest.mark.parametrize("prefix,suffix,raw", CASES)
def test_traced_postprocess_is_postprocess_and_names_real_filters(prefix, suffix, raw):
    ctx = CompletionContext(prefix, suffix, "python")
    text, changed = filters.postprocess_traced(raw, ctx)
    assert text == filters.postprocess(raw, ctx)
    names = {filters.filter_name(f) for f in (*filters.TRUNCATIONS, *filters.CLEANUPS)}
    assert set(changed) <= names
    assert bool(changed) == (text != raw)


def test_a_cut_names_the_truncation_that_made_it():
    # The model repeats the line after the cursor: the suffix-repeat filter cuts it.
    ctx = CompletionContext("def f(x):\n    y = ", "\n    return y\n", "python")
    raw = "x * 2\n    return y\n"
    text, changed = filters.postprocess_traced(raw, ctx)
    truncations = {filters.filter_name(f) for f in filters.TRUNCATIONS}
    assert text == "x * 2" and changed and changed[0] in truncations


# -- prompters ------------------------------------------------------------------------


class _IdsEngine:
    name, prompt_kind, last_path = "fake", "ids", ""

    def about(self) -> EngineInfo:
        return EngineInfo("fake", max_positions=256)


def test_ids_prompter_is_chosen_for_an_ids_engine_and_budgets_its_window():
    tok = FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")
    prompter = make_prompter(_IdsEngine(), PromptBuilder(tok))  # type: ignore[arg-type]
    assert isinstance(prompter, IdsPrompter) and prompter.kind == "ids"
    settings = Settings().merged({"contextWindow": 4096, "maxNewTokens": 64})
    ctx = CompletionContext("x = 1\n" * 400, "", "python")
    prompt = prompter.completion(ctx, settings)
    assert prompt.ids and len(prompt.ids) <= 256 - 64  # the model's 256, not the setting
    assert prompt.stop_ids == (tok.tokens.eot, tok.tokens.eos)
    assert prompter.render(prompt) == tok.decode(prompt.ids)
    assert ctx.prefix.endswith(prompt.prefix) and prompt.prefix
    chat = prompter.instruct("Be brief.", "Write a test.", 16, settings)
    assert chat.ids and chat.ids[0] == tok.tokens.bos and chat.stop_ids == (tok.tokens.eos,)
    assert prompter.render(chat).startswith("<s> [INST] <<SYS>>\nBe brief.\n<</SYS>>")
    with pytest.raises(PromptTooLong):
        prompter.instruct("", "word " * 400, 16, settings)


# -- the custom requests, defined once -------------------------------------------------

EDITOR_SOURCES = [
    ROOT / "editor_configs" / "vscode" / "src" / "controller.ts",
    ROOT / "editor_configs" / "neovim" / "lua" / "codellama_lsp" / "status.lua",
]


def test_editors_use_the_custom_request_names_the_server_defines():
    for source in EDITOR_SOURCES:
        used = set(re.findall(r"""['"](codellamaLsp/[A-Za-z]+)['"]""", source.read_text()))
        assert used, source
        assert used <= set(custom_methods.METHODS), (source, used)


def test_tests_and_benchmarks_import_the_names_instead_of_retyping_them():
    literal = re.compile(r"""['"]codellamaLsp/(?:stats|prompt|document)['"]""")
    for folder in ("tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not literal.search(path.read_text(encoding="utf-8")), path


def test_the_protocol_doc_covers_every_custom_request():
    doc = (ROOT / "docs" / "protocol.md").read_text()
    for method in custom_methods.METHODS:
        assert f"`{method}`" in doc


# -- layering -------------------------------------------------------------------------

LOWER = ("completion", "prompts", "engines", "actions", "syntax")


def _imports(path: Path, type_only: bool = True) -> set[str]:
    """Every lsp_server module `path` imports (lazy ones included; type-only ones
    too unless `type_only` is False)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if not type_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("lsp_server"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lsp_server"))
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_lower_layers_never_import_the_server():
    for name, path in _modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in LOWER:
            upward = {m for m in _imports(path) if m.startswith("lsp_server.server")}
            assert not upward, (name, upward)


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep, [*path, dep])):
                return cycle
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name, [name])):
            return cycle
    return None


def _graph(type_only: bool, within: str = "lsp_server") -> dict[str, set[str]]:
    modules = {n: p for n, p in _modules().items() if n.startswith(within)}
    graph = {
        name: {m for m in _imports(path, type_only) if m in modules and m != name}
        for name, path in modules.items()
    }
    # A package's __init__ is imported with its modules; leave those edges out.
    return {n: {d for d in deps if not n.startswith(d + ".")} for n, deps in graph.items()}


def test_no_import_cycles_at_run_time():
    """Lazy imports count; `if TYPE_CHECKING:` ones do not."""
    assert _find_cycle(_graph(type_only=False)) is None


def test_server_modules_do_not_refer_back_even_for_types():
    """app.py wires the parts; models.py and code_actions.py get collaborators,
    never the server (they used to import app.py for its type)."""
    assert _find_cycle(_graph(type_only=True, within="lsp_server.server")) is None


def test_complete_json_says_why_it_stopped_and_which_filters_cut(tmp_path):
    source = tmp_path / "total.py"
    source.write_text("def total(values):\n    result = 0\n    for v in values:\n        \n")
    args = [str(source), "--line", "4", "--column", "9", "--model", "bundled", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "lsp_server", "complete", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["stop_reason"] in {r.value for r in StopReason}
    names = {filters.filter_name(f) for f in (*filters.TRUNCATIONS, *filters.CLEANUPS)}
    assert isinstance(shown["filtered_by"], list) and set(shown["filtered_by"]) <= names
    assert bool(shown["filtered_by"]) == (shown["completion"] != shown["raw"])
