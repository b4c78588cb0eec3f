"""Finding and loading a model safely, with errors that say what to do.

Weights load from safetensors only and `trust_remote_code` is never passed:
a model directory is data, and pickled `.bin` weights can run code.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lsp_server.engines.transformers import cpu_memory
from lsp_server.prompts.fim_tokenizer import FimTokenizer

log = logging.getLogger(__name__)

BUNDLED_MODEL = Path(__file__).resolve().parents[2] / "models" / "tiny-codellama-fim"
DEFAULT_GPU_MODEL = "codellama/CodeLlama-7b-hf"
FIM_VOCAB = 32016  # Code Llama 7B/13B (base and Instruct); 34B/Python have 32000


class ModelLoadError(RuntimeError):
    """A model that cannot be used; the message tells the user what to do."""


@dataclass
class LoadedModel:
    """A model ready to generate, with the facts the engine needs."""

    model: Any
    tokenizer: FimTokenizer
    name: str
    device: str
    dtype: str
    max_positions: int


# Device files a GPU driver creates (NVIDIA, WSL's GPU bridge, AMD ROCm).
_GPU_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg", "/dev/kfd")


def gpu_driver_present() -> bool:
    """False only where no GPU driver can be found (Linux): then CUDA cannot be available.

    Lets `codellama-lsp prompt` skip importing torch (seconds) on such machines.
    The server still asks torch itself (`cuda_available`): the call also sets up
    state that torch.compile relies on later.
    """
    if sys.platform != "linux":
        return True
    return any(os.path.exists(p) for p in _GPU_DRIVER_FILES)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_model(model: str, device: str = "auto", cuda: bool | None = None) -> tuple[str, str]:
    """(model path or hub id, why it was chosen) for the `model` setting.

    `cuda` is whether CUDA is available when the caller already knows (None: ask torch).
    """
    if model == "bundled":
        return str(BUNDLED_MODEL), "the bundled tiny model (setting model=bundled)"
    if model == "auto":
        if device != "cpu" and (cuda_available() if cuda is None else cuda):
            return DEFAULT_GPU_MODEL, "Code Llama 7B, because CUDA is available (model=auto)"
        return str(BUNDLED_MODEL), (
            "the bundled tiny model, because no CUDA GPU was found (model=auto); "
            f"set model to '{DEFAULT_GPU_MODEL}' or a local directory on a GPU machine"
        )
    return model, f"'{model}' (setting model)"


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise ModelLoadError(
            "device is 'cuda' but PyTorch sees no CUDA GPU. Install a CUDA build of "
            "torch, or set codellamaLsp.device to 'cpu' or 'auto'."
        )
    return device


def load_model(model: str, device: str = "auto", quantization: str = "none") -> LoadedModel:
    """Load `model` (resolved path or hub id) for generation."""
    import torch

    device = pick_device(device)
    local = _local_dir(model)
    if local is not None:
        _check_local_weights(local)
        config = _read_config(local)
    else:
        config = json.loads(Path(_hub_file(model, "config.json")).read_text(encoding="utf-8"))
    _check_fim_support(model, config)
    tok_file = _tokenizer_file(model, local)
    tokenizer = FimTokenizer.from_file(tok_file)
    _check_fim_pieces(model, tokenizer)

    kwargs: dict[str, Any] = {"use_safetensors": True, "trust_remote_code": False}
    if device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        kwargs["device_map"] = "auto"
    elif quantization == "none":  # (quantized weights are a quarter or half the size)
        dtype = getattr(torch, _cpu_dtype(model, local, config))
    else:
        dtype = torch.float32
    kwargs["dtype"] = dtype
    if quantization != "none":
        kwargs["quantization_config"] = _quantization_config(quantization, device)
    try:
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        net = AutoModelForCausalLM.from_pretrained(str(local or model), **kwargs)
    except torch.cuda.OutOfMemoryError as exc:
        raise ModelLoadError(
            f"The GPU ran out of memory loading {model}. Use quantization '4bit', a "
            "smaller model, or free GPU memory; then change the setting to retry."
        ) from exc
    except OSError as exc:
        raise ModelLoadError(_explain_os_error(model, exc)) from exc
    if device == "cpu" and quantization == "none":
        net = net.to("cpu")  # type: ignore[arg-type]  # transformers' decorator hides `to`'s signature
    net.eval()
    max_positions = int(getattr(net.config, "max_position_embeddings", 4096) or 4096)
    return LoadedModel(
        net, tokenizer, model, device, str(dtype).replace("torch.", ""), max_positions
    )


def load_tokenizer(model: str) -> tuple[FimTokenizer, int]:
    """Only the tokenizer and the context length (for `codellama-lsp prompt`)."""
    local = _local_dir(model)
    config = _read_config(local) if local else None
    if config is None and local is None:
        config = json.loads(Path(_hub_file(model, "config.json")).read_text(encoding="utf-8"))
    tokenizer = FimTokenizer.from_file(_tokenizer_file(model, local))
    return tokenizer, int((config or {}).get("max_position_embeddings", 0) or 0)


def _local_dir(model: str) -> Path | None:
    path = Path(os.path.expanduser(model))
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model '{model}' is a file; point it at the model's directory.")
        return path
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
        raise ModelLoadError(f"model directory '{model}' does not exist.")
    return None


def _cpu_dtype(model: str, local: Path | None, config: dict | None) -> str:
    """float32 if the model fits in memory so, else its own 16-bit dtype (`cpu_memory`)."""
    weights = cpu_memory.local_weights_bytes(local) if local else _hub_weights_bytes(model)
    checkpoint = (config or {}).get("torch_dtype") or (config or {}).get("dtype")
    try:
        dtype = cpu_memory.choose(weights, checkpoint, cpu_memory.available_memory())
    except cpu_memory.DoesNotFit as exc:
        raise ModelLoadError(
            f"'{model}' {exc}, so it was not loaded. Use a GPU (codellamaLsp.device 'cuda', "
            "quantization '4bit' if memory is short there too), a team server "
            "(codellamaLsp.engine 'tgi' or 'openai'), or a smaller model ('bundled')."
        ) from exc
    if dtype != "float32":
        log.info("%s loads in %s on CPU: float32 would not fit in memory", model, dtype)
    return dtype


def _hub_weights_bytes(model: str) -> int | None:
    """A hub model's checkpoint size: from the local cache (no network at a restart),
    else from its index, downloaded (the weights are about to be); None if unknown."""
    from huggingface_hub import try_to_load_from_cache

    index = try_to_load_from_cache(model, "model.safetensors.index.json")
    if isinstance(index, str):
        return cpu_memory.index_weights_bytes(index)
    single = try_to_load_from_cache(model, "model.safetensors")
    if isinstance(single, str):
        return os.path.getsize(single)
    try:
        return cpu_memory.index_weights_bytes(_hub_file(model, "model.safetensors.index.json"))
    except ModelLoadError:  # one file, not sharded: its size is not known before loading
        return None


def _read_config(path: Path) -> dict | None:
    file = path / "config.json"
    if not file.is_file():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def _check_local_weights(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"'{path}' has no config.json: it is not a transformers model directory."
        )
    if any(path.glob("*.safetensors")):
        return
    if any(path.glob("*.bin")) or any(path.glob("*.pt")):
        raise ModelLoadError(
            f"'{path}' only has pickled weights (.bin/.pt), which can run arbitrary code when "
            "loaded, so codellama-lsp refuses them. Convert the model to safetensors "
            "(save_pretrained(..., safe_serialization=True)) or use the official checkpoint."
        )
    raise ModelLoadError(f"'{path}' has no .safetensors weights.")


def _tokenizer_file(model: str, local: Path | None) -> str:
    if local is not None:
        file = local / "tokenizer.json"
        if not file.is_file():
            raise ModelLoadError(
                f"'{local}' has no tokenizer.json (the fast tokenizer file is needed for exact "
                "Code Llama prompt ids)."
            )
        return str(file)
    return _hub_file(model, "tokenizer.json")


def _hub_file(model: str, name: str) -> str:
    """A file of a hub model: the local cache first, then one download.

    When the hub cannot be reached (offline mode, or no connection to it within
    a few seconds) this fails at once with one message, instead of the hub
    client's minute of retries.
    """
    from huggingface_hub import constants, hf_hub_download

    try:
        return hf_hub_download(model, name, local_files_only=True)
    except Exception:
        pass
    if constants.HF_HUB_OFFLINE or not _hub_reachable(constants.ENDPOINT):
        raise ModelLoadError(
            f"Could not load model '{model}': it is not in the local Hugging Face cache and "
            f"{constants.ENDPOINT} cannot be reached (offline?). Download it once on a "
            f"connected machine (hf download {model}) or set codellamaLsp.model to a local "
            "directory or 'bundled'."
        )
    try:
        return hf_hub_download(model, name)
    except Exception as exc:  # network, auth, missing repo: all need the same advice
        raise ModelLoadError(_explain_os_error(model, exc)) from exc


def _hub_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub opens (assumed yes behind a proxy: it may)."""
    proxies = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")
    if any(os.environ.get(name) for name in proxies):
        return True
    url = urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _check_fim_support(model: str, config: dict | None) -> None:
    if config is None:
        return
    vocab = int(config.get("vocab_size", 0))
    if vocab < FIM_VOCAB:
        raise ModelLoadError(
            f"{model} has no infilling tokens (vocabulary {vocab}, needs {FIM_VOCAB}): "
            "Code Llama 34B and the Python variants cannot fill in the middle. Use "
            "codellama/CodeLlama-7b-hf or -13b-hf (base or Instruct)."
        )


def _check_fim_pieces(model: str, tokenizer: FimTokenizer) -> None:
    """The in-process engine speaks Code Llama's ids: other families go remote."""
    t = tokenizer.tokens
    pieces = [tokenizer.piece(i) for i in (t.prefix, t.suffix, t.middle, t.eot)]
    if pieces != ["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"]:
        raise ModelLoadError(
            f"{model} is not a Code Llama infilling model (its tokenizer has no ▁<PRE>/▁<SUF>/"
            "▁<MID>/▁<EOT> at 32007-32010). The in-process engine runs Code Llama 7B/13B; serve "
            "other families (StarCoder, DeepSeek-Coder, Qwen2.5-Coder, CodeGemma) with TGI, "
            "vLLM, llama.cpp or Ollama and set codellamaLsp.engine to 'tgi' or 'openai'."
        )


def _quantization_config(quantization: str, device: str) -> Any:
    if device != "cuda":
        log.warning("%s quantization on CPU works but is slow; it is meant for GPUs", quantization)
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise ModelLoadError(
            "quantization needs bitsandbytes: pip install bitsandbytes (or, in a checkout, "
            "pip install '.[quant]')"
        ) from exc
    import torch

    if quantization == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def _explain_os_error(model: str, exc: Exception) -> str:
    return (
        f"Could not load model '{model}': {str(exc).splitlines()[0] if str(exc) else exc!r}. "
        "If this machine is offline, download the model once (hf download "
        f"{model}) or set codellamaLsp.model to a local directory or 'bundled'."
    )
