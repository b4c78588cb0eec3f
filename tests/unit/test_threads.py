"""The `threads` setting: what 0 (auto) means, and that it reaches torch on the calling thread."""

from __future__ import annotations

import threading

import pytest
import torch

from lsp_server.server.threads import apply_threads, auto_threads, resolve_threads
from lsp_server.settings import Settings, SettingsError


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, 4)])
def test_auto_is_one_thread_per_two_cores_at_most_four(cores, expected):
    assert auto_threads(cores) == expected
    assert resolve_threads(0, cores) == expected


def test_a_number_is_used_as_given():
    assert resolve_threads(3, cores=2) == 3


def test_the_setting_is_validated():
    assert Settings().threads == 0
    assert Settings().merged({"threads": 2}).threads == 2
    with pytest.raises(SettingsError, match="threads"):
        Settings().merged({"threads": -1})


def test_apply_sets_the_calling_threads_count():
    """OpenMP's count is per thread: the server calls this on the model's thread."""
    seen = {}

    def worker() -> None:
        seen["applied"] = apply_threads(2)
        seen["torch"] = torch.get_num_threads()
        seen["again"] = apply_threads(1)
        seen["torch_again"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert seen == {"applied": 2, "torch": 2, "again": 1, "torch_again": 1}
