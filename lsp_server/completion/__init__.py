"""The completion pipeline, free of LSP: context → prompt → engine → filters."""
