"""The manual holds together: every relative link of README.md and docs/ reaches a file (and a heading, for
``#anchors``), and the Python examples import names that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|(?:src|href)=\"([^\"]+)\"")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        anchor, n = github_anchor(heading), 1
        while anchor in found:  # repeated headings get -1, -2, ...
            anchor, n = f"{github_anchor(heading)}-{n}", n + 1
        found.add(anchor)
    return found


def test_anchor_rules() -> None:
    assert github_anchor("When something is off: `i2i doctor`") == "when-something-is-off-i2i-doctor"
    assert github_anchor("Training step (CPU)") == "training-step-cpu"
    assert github_anchor("Set-up, tests and troubleshooting") == "set-up-tests-and-troubleshooting"


def test_the_manual_has_its_pages() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "training.md", "deploy.md", "super-resolution.md", "generation.md", "evaluation.md",
            "python-api.md", "architecture.md", "benchmarks.md"} <= names
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200  # the README stays an entrance


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_reach_their_targets(page: Path) -> None:
    broken = []
    for target in (a or b for a, b in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not fetched here
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no heading '{anchor}' in {linked.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_examples_import_what_exists(page: Path) -> None:
    """``from i2i.x import a, b`` in a ```python block names a module and attributes that exist."""
    missing = []
    for block in re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M):
        for module, names in re.findall(r"^from (i2i[\w.]*) import ([\w, ]+)$", block, re.M):
            imported = importlib.import_module(module)
            missing += [f"{module}.{n.strip()}" for n in names.split(",") if not hasattr(imported, n.strip())]
        if re.search(r"^import i2i$", block, re.M):
            import i2i

            missing += [f"i2i.{n}" for n in re.findall(r"\bi2i\.(\w+)\(", block) if not hasattr(i2i, n)]
    assert not missing, f"{page.relative_to(ROOT)}: {missing}"
