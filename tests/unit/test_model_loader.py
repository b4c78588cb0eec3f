"""Loading models safely: what is refused, and why the message says what to do."""

from __future__ import annotations

import json
import shutil

import pytest

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import (
    BUNDLED_MODEL,
    DEFAULT_GPU_MODEL,
    ModelLoadError,
    load_model,
    resolve_model,
)
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import fim_prompt_ids


def test_auto_picks_the_bundled_model_without_cuda():
    path, why = resolve_model("auto", "cpu")
    assert path == str(BUNDLED_MODEL) and "no CUDA GPU" in why and DEFAULT_GPU_MODEL in why
    assert resolve_model("bundled")[0] == str(BUNDLED_MODEL)
    assert resolve_model("codellama/CodeLlama-13b-hf")[0] == "codellama/CodeLlama-13b-hf"


def test_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "nope"), "cpu")


def test_pickled_weights_are_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 32016}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04 pickle")
    with pytest.raises(ModelLoadError, match="pickled weights"):
        load_model(str(tmp_path), "cpu")


def test_a_tokenizer_without_code_llama_infilling_pieces_is_refused(tmp_path):
    model = tmp_path / "other"
    shutil.copytree(BUNDLED_MODEL, model)
    spec = json.loads((model / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    # Another family's layout: id 32007 is an ordinary word there.
    vocab["▁<PRE>"], vocab["▁the"] = vocab["▁the"], vocab["▁<PRE>"]
    (model / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match="not a Code Llama infilling model"):
        load_model(str(model), "cpu")


def test_cuda_requested_without_a_gpu():
    with pytest.raises(ModelLoadError, match="sees no CUDA GPU"):
        load_model(str(BUNDLED_MODEL), "cuda")


def test_four_bit_loading_path_generates():
    """bitsandbytes 4-bit runs on CPU for widths divisible by 32: the loading path, not speed."""
    pytest.importorskip("bitsandbytes", reason="bitsandbytes (the [quant] extra) is not installed")
    loaded = load_model(str(BUNDLED_MODEL), "cpu", "4bit")
    assert "4bit" in type(loaded.model.model.layers[0].mlp.gate_proj).__name__
    ids = fim_prompt_ids(loaded.tokenizer, 'def list_files(path):\n    """', "\n")
    result = TransformersEngine(loaded).generate(
        GenerationRequest(Prompt(ids=ids), max_new_tokens=8), CancelToken()
    )
    assert result.steps >= 1 and result.stop_reason in ("length", "eot", "eos")
