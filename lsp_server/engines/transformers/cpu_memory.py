"""Which dtype a model loads in on CPU, so that it fits in memory.

float32 is the CPU's exact and, for small models, fastest choice: the
bundled model always loads in it. But Code Llama 7B in float32 needs ~27 GB
for its weights alone, and on a 16-24 GB machine the operating system would
kill the process while it loads: the server gone without a word. So before loading, the weights'
size is compared with the memory available: float32 when it fits, else the
checkpoint's own 16-bit dtype (Code Llama ships bfloat16: nothing is lost
against the published weights), else a `ModelLoadError` that says what to
do, and the server keeps running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SIXTEEN_BIT = {"bfloat16": 2, "float16": 2}
HEADROOM = 1.15  # the process, the KV caches and the load's own copies


class DoesNotFit(Exception):
    """Neither float32 nor the checkpoint's 16-bit dtype fits in the memory available."""

    def __init__(self, need: float, available: int) -> None:
        super().__init__(
            f"needs about {need / 2**30:.0f} GB of memory on CPU and "
            f"{available / 2**30:.0f} GB is available"
        )


def choose(weights: int | None, checkpoint_dtype: str | None, available: int | None) -> str:
    """The dtype to load in: float32, or the checkpoint's 16-bit dtype when only that
    fits (`DoesNotFit` when neither does). Unknown sizes (a hub model whose checkpoint
    is one file, no /proc) keep float32."""
    if not weights or not available:
        return "float32"
    half = SIXTEEN_BIT.get(checkpoint_dtype or "")
    params = weights / (half or 4)
    if params * 4 * HEADROOM <= available:
        return "float32"
    if half and params * half * HEADROOM <= available:
        return str(checkpoint_dtype)
    raise DoesNotFit(params * (half or 4) * HEADROOM, available)


def local_weights_bytes(path: Path) -> int:
    """Bytes of a model directory's safetensors files."""
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


def index_weights_bytes(index_file: str) -> int | None:
    """A sharded checkpoint's total size, from its `model.safetensors.index.json`."""
    try:
        data = json.loads(Path(index_file).read_text(encoding="utf-8"))
        return int(data["metadata"]["total_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def available_memory() -> int | None:
    """Memory the process can still use: Linux's MemAvailable, else the machine's total
    (macOS, Windows with sysconf), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
