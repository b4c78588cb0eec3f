"""How many CPU threads PyTorch may use for the model (the `threads` setting).

PyTorch's default is one thread per core. An editor's model shares the
machine with the editor, the language servers and the build, and a decode
step of a small model is too short to split well: on a busy 2-core machine
the default made Neovim's key-to-answer latency over 10x worse than one
thread (benchmarks/RESULTS.md, "Editor latency and threads"). `0` (auto)
therefore picks one thread per two cores, at most 4 (a guess for bigger
machines, where it was not measured); a number is used as given.
"""

from __future__ import annotations

import os
import sys

MAX_AUTO = 4
# What the model's thread read back after the last apply_threads(). OpenMP's
# thread count is per calling thread, so only that thread can tell.
applied: int | None = None


def auto_threads(cores: int | None = None) -> int:
    """The thread count `0` stands for on this machine."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(MAX_AUTO, cores // 2))


def resolve_threads(setting: int, cores: int | None = None) -> int:
    return setting if setting > 0 else auto_threads(cores)


def apply_threads(setting: int) -> int | None:
    """Set torch's intra-op threads; None when torch is not in use.

    Call it on the thread that runs the model: with OpenMP the count belongs
    to the calling thread. Does not import torch (a remote engine never needs it).
    """
    global applied
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    count = resolve_threads(setting)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    applied = torch.get_num_threads()
    return applied
