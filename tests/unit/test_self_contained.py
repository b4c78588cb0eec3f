"""A clone needs nothing beside it: no code reads ../shared, every data file says its source.

`.ci/run` proves the whole path (the README's test command in a copy of the
tracked files, in a fresh virtualenv); these checks catch a regression in
seconds, before anyone runs that.
"""

from __future__ import annotations

import re
import subprocess

from tests.support.lsp import ROOT

# A path built to a folder named "shared" (the old reference folder beside the checkout).
OUTSIDE = re.compile(r"""/\s*["']shared["']|["']\.\./shared|ROOT\.parent\b|parents\[\d\]\.parent""")


def tracked(*patterns: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_no_code_reads_outside_the_repository():
    offenders = [
        f"{path}:{number}: {line.strip()}"
        for path in tracked("*.py", "*.lua", "*.ts", "*.sh", ".ci/run")
        for number, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_every_data_file_is_listed_with_its_source():
    readme = (ROOT / "data" / "README.md").read_text()
    for path in tracked("data"):
        folder = path.split("/")[1]
        if path.endswith(("README.md", "LICENSE")):
            continue
        assert f"`{folder}/" in readme, path
        assert (ROOT / path).stat().st_size > 0, path
    assert (
        (ROOT / "data/eval/human-eval-infilling/LICENSE").read_text().startswith("The MIT License")
    )


def test_license_matches_the_package_metadata():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text()


def test_cited_design_notes_exist():
    """Source comments cite docs/design.md; it must be in the repository."""
    citing = [p for p in tracked("*.py", "*.md") if "docs/design.md" in (ROOT / p).read_text()]
    assert citing and (ROOT / "docs" / "design.md").is_file()
