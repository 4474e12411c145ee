"""The README is true and self-contained: its links stay in the repository and resolve.

A newcomer reads the README from a fresh clone, maybe offline: a link to a file
outside the repository (`../shared/SPEC.md`) or to the web leaves them stranded.
Relative links in docs/ must resolve too. Web links are allowed in docs/ (the
signal-cli captcha page has no copy here), never in the README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: [text](target) and <https://…> autolinks; code spans are removed first.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|<(https?://[^>]+)>")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def links(path: Path) -> list[str]:
    text = _CODE.sub("", path.read_text(encoding="utf-8"))
    return [a or b for a, b in _LINK.findall(text)]


def test_the_readme_links_only_inside_the_repository() -> None:
    found = links(README)
    assert found, "the README links its docs"
    assert [target for target in found if "://" in target or target.startswith("mailto:")] == []
    text = README.read_text(encoding="utf-8")
    assert "../" not in text and "http://" not in _CODE.sub("", text)


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for target in links(path):
        if "://" in target or target.startswith(("mailto:", "#")):
            continue
        resolved = (path.parent / target.partition("#")[0]).resolve()
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        assert ROOT in resolved.parents, f"{path.name}: {target} leaves the repository"


def test_the_quick_start_uses_the_demo() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text[text.index("## Quick start") :].split("\n## ", 1)[0]
    assert "holdfast console --demo" in quick and "/timer 10s" in quick
