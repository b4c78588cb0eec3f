"""LSP glue only: handlers, document sync, the worker thread and model lifecycle."""
