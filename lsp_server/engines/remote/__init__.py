"""Engines that call a team's inference server (TGI, OpenAI-compatible) over HTTP."""
