"""Engines run a prepared prompt and stream back the middle: in-process or remote."""
