"""Security and data safety: what a hostile file or model directory cannot do.

* document text cannot produce control ids (steer or stop the model);
* `trust_remote_code` is never enabled, and a model directory's Python code
  never runs;
* pickled weights are never unpickled: `.bin`-only directories are refused;
* text the tokenizer cannot take (a lone UTF-16 surrogate) is still served.
Huge files and invalid positions are in `test_large_files.py`.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.engines.transformers.loader import BUNDLED_MODEL, ModelLoadError, load_model
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.fim_tokenizer import CONTROL_IDS, FimTokenizer
from lsp_server.server.custom_methods import PROMPT
from tests.support.lsp import ROOT, custom, inline, open_doc
from tests.support.lsp_session import Session

LAYOUT_CONTROLS = [1, 32007, 32008, 32009]  # BOS, PRE, SUF, MID: the only ones allowed
# Every FIM piece's text, with and without the space sentencepiece glues on.
PIECES = ("<PRE>", "<SUF>", "<MID>", "<EOT>", "<SU", "<M", "<E", "</s>", "<s>", "<unk>")
HOSTILE = [p for piece in PIECES for p in (piece, " " + piece, "▁" + piece)] + ["<EOT><EOT>"]


@pytest.fixture(scope="module")
def session():
    s = Session({"model": "bundled", "maxNewTokens": 4})
    yield s
    s.close()


@pytest.fixture(scope="module")
def builder() -> PromptBuilder:
    return PromptBuilder(FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json"))


hostile_text = st.lists(
    st.sampled_from([*HOSTILE, "x", " ", "\n", "    ", "def f():", "😀", "\ud83d"]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(
    prefix=hostile_text,
    suffix=hostile_text,
    order=st.sampled_from(["spm", "psm"]),
    budget=st.integers(8, 200),
)
def test_document_text_never_encodes_to_control_ids(builder, prefix, suffix, order, budget):
    ids = builder.build(prefix, suffix, budget, order).ids
    assert [i for i in ids if i in CONTROL_IDS] == LAYOUT_CONTROLS
    assert len(ids) <= max(budget, 4)


def test_control_text_in_prefix_and_suffix_over_the_wire(session):
    text = "A = '" + "".join(HOSTILE) + "'\ndef f():\n    return \nB = '" + "".join(HOSTILE) + "'\n"

    async def go():
        open_doc(session.client, "file:///sec/hostile.py", text)
        prompt = await custom(
            session.client,
            PROMPT,
            {
                "textDocument": {"uri": "file:///sec/hostile.py"},
                "position": {"line": 2, "character": 11},
            },
        )
        return prompt, await inline(session.client, "file:///sec/hostile.py", 2, 11)

    mark = session.mark()
    prompt, items = session.run(go())
    assert [i for i in prompt["ids"] if i in CONTROL_IDS] == LAYOUT_CONTROLS
    assert prompt["prefix"].endswith("def f():\n    return ")
    assert "<EOT>" in prompt["prefix"] and "<EOT>" in prompt["suffix"]
    assert isinstance(items, list)
    assert session.alarms(mark) == []


# -- trust_remote_code and model directories ---------------------------------


def test_trust_remote_code_is_never_enabled_in_the_source():
    """Every mention in the package sets it to False; nothing else loads models."""
    source = "\n".join(p.read_text() for p in (ROOT / "lsp_server").rglob("*.py"))
    settings_of_it = re.findall(r"trust_remote_code[\"']?\s*[:=]\s*(\w+)", source)
    assert settings_of_it and set(settings_of_it) == {"False"}
    assert not re.search(r"AutoTokenizer|AutoConfig\.from_pretrained|torch\.load\(", source)


def test_loader_passes_trust_remote_code_false(monkeypatch):
    from transformers import AutoModelForCausalLM

    calls = []
    original = AutoModelForCausalLM.from_pretrained

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", spy)
    load_model(str(BUNDLED_MODEL), "cpu")
    assert len(calls) == 1
    assert calls[0]["trust_remote_code"] is False and calls[0]["use_safetensors"] is True


def _model_copy(tmp_path: Path, weights: bool = True) -> Path:
    """The bundled model's files, linked into a directory we can add to."""
    model = tmp_path / "model"
    model.mkdir()
    for file in BUNDLED_MODEL.iterdir():
        if weights or not file.name.endswith((".safetensors", ".index.json")):
            (model / file.name).symlink_to(file)
    return model


def test_model_code_in_the_directory_never_runs(tmp_path):
    model = _model_copy(tmp_path)
    config = json.loads((BUNDLED_MODEL / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel", "AutoConfig": "evil.Cfg"}
    (model / "config.json").unlink()
    (model / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "ran"
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    loaded = load_model(str(model), "cpu")
    assert type(loaded.model).__name__ == "LlamaForCausalLM"
    assert not marker.exists()


class _Payload:
    """Unpickling this creates a file: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_only_directory_is_refused_unopened(tmp_path):
    model = _model_copy(tmp_path, weights=False)
    marker = tmp_path / "unpickled"
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelLoadError, match=r"pickled weights.*safetensors"):
        load_model(str(model), "cpu")
    assert not marker.exists()


def test_pickle_beside_safetensors_is_ignored(tmp_path):
    model = _model_copy(tmp_path)
    marker = tmp_path / "unpickled"
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    assert load_model(str(model), "cpu").model is not None
    assert not marker.exists()


def test_lone_surrogate_in_the_document_is_served(session):
    """Regression: a lone surrogate (a JSON "\\ud83d" escape) made every
    completion in the document fail with TypeError from the tokenizer."""
    tok = FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")
    assert tok.encode("x = '\ud83d'") == tok.encode("x = '\ufffd'")
    _, offsets = tok.encode_with_offsets("a\ud83db")
    assert offsets[-1][1] == 3  # one character for one: offsets still index the text
    open_doc(session.client, "file:///sec/half.py", "x = '\ud83d'\ny = ")
    mark = session.mark()
    items = session.run(inline(session.client, "file:///sec/half.py", 1, 4))
    assert isinstance(items, list)
    assert session.alarms(mark) == []


# -- test scaffolds stay in the workspace -------------------------------------


def test_a_dot_dot_path_cannot_place_tests_outside_the_workspace(tmp_path):
    """The actions' own tests cover a source outside and a symlinked tests/
    folder; a path that climbs out with `..` (as a crafted URI decodes) too."""
    from lsp_server.actions.test_conventions import UnitTestFileError
    from lsp_server.actions.unit_tests import plan_tests
    from lsp_server.syntax import enclosing_function, parse

    source = "def add(a, b):\n    return a + b\n"
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "util.py").write_text(source)
    climbing = root / "pkg" / ".." / ".." / "elsewhere" / "util.py"
    doc = parse(source, "python")
    with pytest.raises(UnitTestFileError, match="outside the workspace"):
        plan_tests(root, climbing, doc, enclosing_function(doc, source.index("return")), None)
    assert not (tmp_path / "tests").exists()
