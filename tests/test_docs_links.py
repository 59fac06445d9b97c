"""The project's documents stand on their own: every relative link of README.md and docs/*.md
resolves in a fresh clone (the file exists inside the repository; a `#anchor` names a heading of
the target, as GitHub slugs it), and no committed file points at a folder outside the repository.

Pure Python, no pipeline: part of `make test-unit`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# The folder of the project's reference notes lives beside the checkout, not in it: a link or a
# mention would not resolve in a clone. Spelled in two parts so this file does not match itself.
OUTSIDE = "../" + "shared"
SCANNED_SUFFIXES = {".md", ".py", ".sql", ".yml", ".yaml"}
# Generated or installed, never committed (.gitignore): not the project's own files.
SKIPPED_DIRS = {".git", ".venv", "data", "target", "logs", "dbt_packages", "node_modules", "__pycache__",
                ".pytest_cache", ".ruff_cache", "artifacts"}

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target), with an optional "title"; the text may hold `code` or brackets.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link of a Markdown file, outside code."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        ref = REFERENCE_DEF.match(line)
        if ref:
            found.append((number, ref.group(1)))
            continue
        for match in INLINE_LINK.finditer(INLINE_CODE.sub("", line)):
            found.append((number, match.group(1)))
    return found


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: links reduced to their text, lower case, punctuation dropped
    (letters, digits, `_`, `-` and spaces stay), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "_- ")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(doc: Path) -> list[str]:
    problems = []
    for number, target in links(doc):
        where = f"{doc.relative_to(ROOT)}:{number}: {target}"
        if EXTERNAL.match(target):
            continue
        if target.startswith("/"):
            problems.append(f"{where}: absolute path (use a path relative to the document)")
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{where}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with anchor #{anchor} in {resolved.relative_to(ROOT)}")
    return problems


def project_files() -> list[Path]:
    """The Markdown, Python, SQL and YAML files of the checkout, without generated folders (pruned
    while walking: .venv alone holds tens of thousands of files)."""
    out = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        out += [Path(folder) / f for f in sorted(files) if Path(f).suffix in SCANNED_SUFFIXES]
    return out


def test_documents_exist():
    names = {p.relative_to(ROOT).as_posix() for p in DOCUMENTS}
    assert {"README.md", "docs/contract.md", "docs/metrics.md", "docs/ARCHITECTURE.md", "docs/operations.md"} <= names


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(doc):
    assert links(doc), f"{doc.relative_to(ROOT)} has no links: is the link pattern still right?"
    problems = broken_links(doc)
    assert not problems, "broken links:\n" + "\n".join(problems)


# The reference notes the documents were first written against; their content is in docs/ now.
OLD_NAMES = re.compile(r"\b(METRICS|CONTRACT|DESIGN)\.md\b")


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_mention_of_the_old_reference_notes(doc):
    """`docs/metrics.md` and the like name files outside the repository: link docs/metrics.md,
    docs/contract.md, docs/ARCHITECTURE.md instead."""
    text = doc.read_text(encoding="utf-8")
    mentions = [f"{doc.relative_to(ROOT)}:{n}: {line.strip()[:120]}" for n, line in prose_lines(text) if OLD_NAMES.search(line)]
    assert not mentions, "mentions of files outside the repository:\n" + "\n".join(mentions)


def test_github_slugs():
    assert github_slug("Incremental models (daily cost follows the new data)") == (
        "incremental-models-daily-cost-follows-the-new-data"
    )
    assert github_slug("marts.metric_values: every metric in one long table") == (
        "martsmetric_values-every-metric-in-one-long-table"
    )
    assert github_slug("dbt: threads and memory") == "dbt-threads-and-memory"


def test_no_committed_file_points_outside_the_repository():
    offenders = []
    for path in project_files():
        rel = path.relative_to(ROOT)
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if OUTSIDE in line:
                offenders.append(f"{rel}:{number}: {line.strip()[:120]}")
    assert not offenders, f"files mentioning {OUTSIDE} (not in a clone of the repository):\n" + "\n".join(offenders)
