"""The docs a newcomer reads: the README stays short, every relative link reaches a file and a
heading that exist, and the command reference is what the parser says today."""

from __future__ import annotations

import re

from enrollcfn.cli import reference
from tests.conftest import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings (outside fenced code)."""
    out, fence = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            out.add(re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-"))
    return out


def test_the_readme_is_short_enough_to_read_first():
    assert len((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_every_relative_link_reaches_a_file_and_a_heading():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target, _, fragment in re.findall(r"\]\((?!https?:|mailto:)([^)#\s]*)(#?)([^)\s]*)\)", text):
            path = (doc.parent / target).resolve() if target else doc
            assert path.exists(), f"{doc.name}: {target} does not exist"
            if fragment and path.suffix == ".md":
                assert fragment in _anchors(path.read_text(encoding="utf-8")), f"{doc.name}: #{fragment} is not a heading of {path.name}"


def test_the_command_reference_is_the_parsers():
    assert (PROJECT_ROOT / "docs" / "commands.md").read_text(encoding="utf-8") == reference(), \
        "docs/commands.md is stale: python -m enrollcfn.cli > docs/commands.md"
