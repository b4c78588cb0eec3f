"""Model families: golden prompts from each family's published example, stops, detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.prompts.families import FAMILIES, FamilyError, detect, family_named
from lsp_server.prompts.prompt import cut_at_stop
from lsp_server.prompts.text import chat_text, fim_text
from lsp_server.settings import SETTINGS

BUNDLED = Path(__file__).resolve().parents[2] / "lsp_server" / "models" / "tiny-codellama-fim"

# (family, model id, prefix, suffix, the prompt text its authors publish)
PUBLISHED = [
    (
        # bigcode/starcoder model card, "Fill-in-the-middle".
        "starcoder",
        "bigcode/starcoder",
        "def print_hello_world():\n    ",
        "\n    print('Hello world!')",
        "<fim_prefix>def print_hello_world():\n    <fim_suffix>\n    print('Hello world!')"
        "<fim_middle>",
    ),
    (
        # deepseek-ai/DeepSeek-Coder README, "Code Insertion".
        "deepseek",
        "deepseek-ai/deepseek-coder-6.7b-base",
        "def quick_sort(arr):\n    if len(arr) <= 1:\n        return arr\n    pivot = arr[0]\n"
        "    left = []\n    right = []\n",
        "\n        if arr[i] < pivot:\n            left.append(arr[i])\n        else:\n"
        "            right.append(arr[i])\n    return quick_sort(left) + [pivot] + "
        "quick_sort(right)",
        "<｜fim▁begin｜>def quick_sort(arr):\n    if len(arr) <= 1:\n        return arr\n"
        "    pivot = arr[0]\n    left = []\n    right = []\n<｜fim▁hole｜>\n"
        "        if arr[i] < pivot:\n            left.append(arr[i])\n        else:\n"
        "            right.append(arr[i])\n    return quick_sort(left) + [pivot] + "
        "quick_sort(right)<｜fim▁end｜>",
    ),
    (
        # QwenLM/Qwen2.5-Coder examples/Qwen2.5-Coder-fim.py.
        "qwen",
        "Qwen/Qwen2.5-Coder-32B",
        "def quicksort(arr):\n    if len(arr) <= 1:\n        return arr\n"
        "    pivot = arr[len(arr) // 2]\n    ",
        "\n    middle = [x for x in arr if x == pivot]\n    right = [x for x in arr if x > pivot]"
        "\n    return quicksort(left) + middle + quicksort(right)",
        "<|fim_prefix|>def quicksort(arr):\n    if len(arr) <= 1:\n        return arr\n"
        "    pivot = arr[len(arr) // 2]\n    <|fim_suffix|>\n"
        "    middle = [x for x in arr if x == pivot]\n    right = [x for x in arr if x > pivot]"
        "\n    return quicksort(left) + middle + quicksort(right)<|fim_middle|>",
    ),
    (
        # ai.google.dev "CodeGemma formatting and system instructions" (the page's
        # own prompt misspells `__name__` in the suffix it has just shown).
        "codegemma",
        "google/codegemma-2b",
        "import ",
        "\nif __name__ == '__main__':\n  sys.exit(0)",
        "<|fim_prefix|>import <|fim_suffix|>\nif __name__ == '__main__':\n  sys.exit(0)"
        "<|fim_middle|>",
    ),
]


@pytest.mark.parametrize(("name", "model_id", "prefix", "suffix", "expected"), PUBLISHED)
def test_published_fim_prompts(name, model_id, prefix, suffix, expected):
    profile = detect(model_id)
    assert profile.family.name == name and profile.fim
    assert fim_text(profile, prefix, suffix, "psm") == expected
    # No published SPM layout: SPM falls back to the published PSM one.
    assert fim_text(profile, prefix, suffix, "spm") == expected


def _meta_cases() -> list[dict]:
    path = Path(__file__).resolve().parents[2] / "data" / "fim" / "golden_meta_reference.json"
    return json.loads(path.read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def hf_tokenizer():
    """The real Code Llama tokenizer as TGI and vLLM load it (BOS added, added tokens on)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(BUNDLED / "tokenizer.json"))


@pytest.mark.parametrize("case", _meta_cases(), ids=lambda c: repr(c["prefix"][:12]))
@pytest.mark.parametrize("order", ["psm", "spm"])
def test_codellama_text_tokenizes_to_metas_ids(hf_tokenizer, case, order):
    """Code Llama's text template gives Meta's exact ids on the server's tokenizer."""
    profile = detect("codellama/CodeLlama-7b-hf")
    ids = hf_tokenizer.encode(fim_text(profile, case["prefix"], case["suffix"], order)).ids
    expected = case[f"{order}_ids"]
    if not case["suffix"] or case["suffix"][0] not in profile.family.suffix_glue:
        assert ids == expected
    else:
        # `▁<SUF>` + `)` would merge into `▁<SUF` + `>)`: the glue space keeps the
        # control ids exact; the suffix is read with one leading space.
        glued = hf_tokenizer.encode("<PRE> <SUF> " + case["suffix"] + " <MID>").ids[3:-1]
        assert [i for i in ids if i >= 32000] == [i for i in expected if i >= 32000]
        assert ids.index(32008) + 1 + len(glued) == ids.index(32009) or order == "spm"
        start = ids.index(32008) + 1
        assert ids[start : start + len(glued)] == glued


def test_codellama_suffix_glue_is_exactly_what_the_tokenizer_merges(hf_tokenizer):
    """The data in families.py matches the tokenizer: no more, no fewer characters."""
    merging = set()
    for code in range(1, 0x3000):
        ids = hf_tokenizer.encode(f"<PRE> x <SUF>{chr(code)}y <MID>").ids
        if 32008 not in ids:
            merging.add(chr(code))
    assert merging == set(family_named("codellama").suffix_glue)


STOPS = [
    ("codellama", " x + 1 <EOT> def more():", " x + 1"),
    ("codellama", "return a</s>junk", "return a"),
    ("starcoder", "total += x<|endoftext|><fim_prefix>", "total += x"),
    ("starcoder", "pass\n<file_sep>other.py\nimport os", "pass\n"),
    (
        "deepseek",
        "   for i in range(1, len(arr)):<｜end▁of▁sentence｜>",
        "   for i in range(1, len(arr)):",
    ),
    (
        "qwen",
        "left = [x for x in arr if x < pivot]<|endoftext|>",
        "left = [x for x in arr if x < pivot]",
    ),
    ("qwen", "a = 1<|file_sep|>utils.py\n", "a = 1"),
    ("codegemma", "import sys<|file_separator|>", "import sys"),
    ("codegemma", "x<eos>", "x"),
]


@pytest.mark.parametrize(("name", "raw", "middle"), STOPS)
def test_stop_strings_end_the_middle(name, raw, middle):
    assert cut_at_stop(raw, family_named(name).stop_strings) == (middle, True)


def test_no_stop_keeps_the_text():
    assert cut_at_stop("a <MID> b", family_named("codellama").stop_strings) == (
        "a <MID> b",
        False,
    )


DETECT = [
    ("codellama/CodeLlama-7b-hf", "codellama", True, False, 16384),
    ("codellama/CodeLlama-13b-Instruct-hf", "codellama", True, True, 16384),
    ("codellama/CodeLlama-34b-hf", "codellama", False, False, 16384),
    ("codellama/CodeLlama-7b-Python-hf", "codellama", False, False, 16384),
    ("codellama/CodeLlama-70b-Instruct-hf", "codellama", False, True, 16384),
    ("TheBloke/CodeLlama-13B-GGUF", "codellama", True, False, 16384),
    ("/srv/models/CodeLlama-13b-hf/", "codellama", True, False, 16384),
    ("bigcode/starcoder", "starcoder", True, False, 8192),
    ("bigcode/starcoder2-15b", "starcoder", True, False, 16384),
    ("bigcode/starcoder2-15b-instruct-v0.1", "starcoder", False, True, 16384),
    ("deepseek-ai/deepseek-coder-6.7b-base", "deepseek", True, False, 16384),
    ("deepseek-ai/deepseek-coder-33b-instruct", "deepseek", True, True, 16384),
    ("Qwen/Qwen2.5-Coder-7B", "qwen", True, False, 32768),
    ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen", True, True, 32768),
    ("qwen2.5-coder:7b-base", "qwen", True, False, 32768),
    ("google/codegemma-2b", "codegemma", True, False, 8192),
    ("google/codegemma-7b-it", "codegemma", False, True, 8192),
]


@pytest.mark.parametrize(("model_id", "name", "fim", "instruct", "window"), DETECT)
def test_detect_from_model_name(model_id, name, fim, instruct, window):
    profile = detect(model_id)
    assert (profile.family.name, profile.fim, profile.instruct) == (name, fim, instruct)
    assert profile.window == window


def test_detect_from_the_bundled_models_config_and_tokenizer():
    config = json.loads((BUNDLED / "config.json").read_text())
    profile = detect("tiny-model", config=config)
    assert profile.family.name == "codellama" and profile.fim
    vocab = json.loads((BUNDLED / "tokenizer.json").read_text())["model"]["vocab"]
    assert detect("some/model", tokens=vocab).family.name == "codellama"


def test_detect_completion_only_code_llama_from_its_vocabulary():
    config = {"model_type": "llama", "vocab_size": 32000}
    assert not detect("my-codellama-finetune", config=config).fim


def test_detect_from_tokens_tells_qwen_and_codegemma_apart():
    fim = {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"}
    assert detect("x", tokens=fim | {"<|im_start|>"}).family.name == "qwen"
    assert detect("x", tokens=fim | {"<|file_separator|>"}).family.name == "codegemma"
    assert detect("x", tokens={"<｜fim▁begin｜>"}).family.name == "deepseek"
    assert detect("x", tokens={"<fim_prefix>"}).family.name == "starcoder"


def test_config_model_type():
    assert detect("x", config={"model_type": "starcoder2"}).family.name == "starcoder"
    assert detect("x", config={"model_type": "llama", "vocab_size": 32256}).family.name == (
        "deepseek"
    )


@pytest.mark.parametrize("model_id", ["meta-llama/Llama-2-7b-hf", "Qwen/Qwen2.5-7B", ""])
def test_unknown_models_are_an_error_not_a_guess(model_id):
    with pytest.raises(FamilyError, match=r"codellamaLsp\.modelFamily"):
        detect(model_id)


def test_setting_overrides_detection():
    profile = detect("bigcode/starcoder", override="qwen")
    assert profile.family.name == "qwen" and profile.reason == "modelFamily setting"
    with pytest.raises(FamilyError, match="unknown model family"):
        detect("bigcode/starcoder", override="gpt")


def test_setting_choices_match_the_families():
    assert SETTINGS["modelFamily"].choices == ("auto", *FAMILIES)


def test_completion_only_models_get_the_prefix_alone():
    profile = detect("codellama/CodeLlama-34b-hf")
    assert fim_text(profile, "def f():\n", "\n    return 1\n", "spm") == "def f():\n"


CHATS = [
    (
        "codellama/CodeLlama-7b-Instruct-hf",
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWrite a docstring. [/INST]",
    ),
    (
        "deepseek-ai/deepseek-coder-6.7b-instruct",
        "Be brief.\n### Instruction:\nWrite a docstring.\n### Response:\n",
    ),
    (
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWrite a docstring."
        "<|im_end|>\n<|im_start|>assistant\n",
    ),
    (
        "google/codegemma-7b-it",
        "<start_of_turn>user\nBe brief.\n\nWrite a docstring.<end_of_turn>\n<start_of_turn>model\n",
    ),
    (
        "bigcode/starcoder2-15b-instruct-v0.1",
        "<|endoftext|>Be brief.\n\n### Instruction\nWrite a docstring.\n\n### Response\n",
    ),
]


@pytest.mark.parametrize(("model_id", "expected"), CHATS)
def test_chat_layouts(model_id, expected):
    assert chat_text(detect(model_id), "Write a docstring.", system="Be brief.") == expected
