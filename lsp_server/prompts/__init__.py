"""Prompts: Code Llama's exact FIM ids, and text templates for remote model families."""
