"""Engines run a prepared prompt and stream back the middle."""
