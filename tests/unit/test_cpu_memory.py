"""A model that does not fit in memory in float32 loads in its own 16-bit dtype on CPU,
and one that fits in neither is refused with what to do, before the OS kills the server.

The bundled model is the real checkpoint here (bfloat16 on disk, ~30 MB): the memory
available is what the tests set, around its float32 (~69 MB) and bfloat16 (~35 MB) needs.
"""

from __future__ import annotations

import huggingface_hub
import pytest
import torch

from lsp_server.engines.transformers import cpu_memory, loader
from lsp_server.engines.transformers.cpu_memory import DoesNotFit, choose
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import BUNDLED_MODEL, ModelLoadError, load_model
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import fim_prompt_ids

GB = 2**30
SEVEN_B = 13_476_839_424  # bytes of CodeLlama-7b-hf's bfloat16 safetensors


@pytest.mark.parametrize(
    ("weights", "dtype", "available", "want"),
    [
        (SEVEN_B, "bfloat16", 64 * GB, "float32"),  # a big machine: exact and fast
        (SEVEN_B, "bfloat16", 24 * GB, "bfloat16"),  # ~31 GB in float32 does not fit
        (SEVEN_B, "float16", 24 * GB, "float16"),  # the checkpoint's own dtype
        (SEVEN_B, "bfloat16", None, "float32"),  # memory unknown: as before
        (None, "bfloat16", 8 * GB, "float32"),  # size unknown (one-file hub model)
    ],
)
def test_the_dtype_for_the_memory_available(weights, dtype, available, want):
    assert choose(weights, dtype, available) == want


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", None])
def test_a_model_that_fits_in_no_dtype_is_refused(dtype):
    with pytest.raises(DoesNotFit, match=r"needs about \d+ GB of memory on CPU and 8 GB"):
        choose(SEVEN_B * (2 if dtype != "bfloat16" else 1), dtype, 8 * GB)


def test_available_memory_is_read_from_the_machine():
    got = cpu_memory.available_memory()
    assert got is not None and 64 * 2**20 < got < 2**50


def test_the_bundled_model_loads_in_bfloat16_when_float32_would_not_fit(monkeypatch):
    monkeypatch.setattr(cpu_memory, "available_memory", lambda: 50 * 2**20)
    loaded = load_model(str(BUNDLED_MODEL), "cpu")
    assert (
        loaded.dtype == "bfloat16"
        and "(bfloat16)" in TransformersEngine(loaded).about().description
    )
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}
    ids = fim_prompt_ids(loaded.tokenizer, "def add(a, b):\n    return ", "\n")
    result = TransformersEngine(loaded).generate(
        GenerationRequest(Prompt(ids=ids), 8), CancelToken()
    )
    assert result.stop_reason in ("eot", "length") and result.token_ids


def test_plenty_of_memory_keeps_float32(monkeypatch):
    monkeypatch.setattr(cpu_memory, "available_memory", lambda: 64 * GB)
    assert load_model(str(BUNDLED_MODEL), "cpu").dtype == "float32"


def test_a_model_too_big_for_memory_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(cpu_memory, "available_memory", lambda: 20 * 2**20)
    with pytest.raises(ModelLoadError) as caught:
        load_model(str(BUNDLED_MODEL), "cpu")
    message = str(caught.value)
    assert "GB of memory on CPU" in message and "not loaded" in message
    assert "'cuda'" in message and "'tgi'" in message and "'bundled'" in message


def test_a_hub_model_is_sized_from_its_index(monkeypatch):
    """A sharded hub checkpoint: its index gives the size before anything big downloads."""
    asked = []

    def hub_file(model, name):
        asked.append(name)
        return str(BUNDLED_MODEL / name)

    monkeypatch.setattr(loader, "_hub_file", hub_file)
    monkeypatch.setattr(cpu_memory, "available_memory", lambda: 50 * 2**20)
    config = {"torch_dtype": "bfloat16"}
    assert loader._cpu_dtype("org/model", None, config) == "bfloat16"
    assert asked == ["model.safetensors.index.json"]


def test_a_quantized_model_is_not_sized_as_float32(monkeypatch):
    """4/8-bit weights are a quarter or half the 16-bit size: the check does not apply."""
    pytest.importorskip("bitsandbytes", reason="bitsandbytes (the [quant] extra) is not installed")
    monkeypatch.setattr(cpu_memory, "available_memory", lambda: 20 * 2**20)
    loaded = load_model(str(BUNDLED_MODEL), "cpu", "4bit")
    assert "4bit" in type(loaded.model.model.layers[0].mlp.gate_proj).__name__


def test_a_cached_hub_model_is_sized_without_the_network(monkeypatch):
    """At a restart the checkpoint is in the cache: no request to the hub for its size."""
    cached = {"model.safetensors": str(BUNDLED_MODEL / "model-00001-of-00002.safetensors")}
    monkeypatch.setattr(
        huggingface_hub, "try_to_load_from_cache", lambda model, name: cached.get(name)
    )
    monkeypatch.setattr(loader, "_hub_file", lambda model, name: pytest.fail("went online"))
    size = (BUNDLED_MODEL / "model-00001-of-00002.safetensors").stat().st_size
    assert loader._hub_weights_bytes("org/model") == size
