"""Shared fixtures: the real server over stdio, driven by pytest-lsp's client."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.support.lsp import CONFIG, initialize


def pytest_configure(config: pytest.Config) -> None:
    import torch

    torch.set_num_threads(1)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    """A fresh server per test; the test initializes it the way it needs."""
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def shared(lsp_client: LanguageClient):
    """One server for a whole module (bundled model, default settings), to keep the suite fast.

    Modules using it need `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
    """
    await initialize(lsp_client, {"model": "bundled"})
    yield
    await lsp_client.shutdown_session()
