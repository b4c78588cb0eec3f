"""The in-process engine: a transformers model, loaded safely, decoded step by step."""
