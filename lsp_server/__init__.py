"""codellama-lsp: Code Llama fill-in-the-middle completions over LSP.

The prompt function most users of the library want is `fim_prompt_ids`
(Meta's exact Code Llama infilling ids for a prefix and a suffix); the
budgeted version is `PromptBuilder.build`.
"""

from .fim_tokenizer import FimTokenizer
from .prompt import FimPrompt, PromptBuilder, fim_prompt_ids

__version__ = "0.1.0"
__all__ = ["FimPrompt", "FimTokenizer", "PromptBuilder", "__version__", "fim_prompt_ids"]
