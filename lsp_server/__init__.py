"""codellama-lsp: Code Llama fill-in-the-middle completions over LSP.

The prompt function most users of the library want is `fim_prompt_ids`
(Meta's exact Code Llama infilling ids for a prefix and a suffix); the
budgeted version is `PromptBuilder.build`.
"""

from lsp_server.prompts.codellama_ids import FimPrompt, PromptBuilder, fim_prompt_ids
from lsp_server.prompts.fim_tokenizer import FimTokenizer

__version__ = "0.1.0"
__all__ = ["FimPrompt", "FimTokenizer", "PromptBuilder", "__version__", "fim_prompt_ids"]
