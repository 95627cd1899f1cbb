"""The README and the documentation pages, and the fenced blocks in them, for the tests that run
every example: a block that is shown but not meant to run says so on the line before its fence,
`<!-- not run: why -->`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_RUN = re.compile(r"<!-- not run: \S.*-->\s*$")
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
TITLE = re.compile(r'\btitle="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    page: Path
    language: str  # the first word of the fence's info string; "" for none
    title: str | None  # title="..." in the info string: a file of the reader's
    body: str
    marked_not_run: bool

    @property
    def is_python(self) -> bool:
        return self.language in {"python", "py", "python3", "pycon"}

    @property
    def is_example(self) -> bool:
        """Python to run in order with the page's other examples, in one namespace."""
        return self.is_python and self.title is None and not self.marked_not_run

    @property
    def is_test_file(self) -> bool:
        """A test file of the reader's (`title="tests/NAME.py"`), to run under pytest."""
        return (
            self.is_python
            and self.title is not None
            and self.title.startswith("tests/")
            and not self.marked_not_run
        )


def blocks(page: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of `page` (or of `text`, read as that page), in order."""
    text = page.read_text() if text is None else text
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        info = match["info"].strip()
        title = TITLE.search(info)
        found.append(
            Block(
                page=page,
                language=info.split(" ", 1)[0],
                title=title["title"] if title else None,
                body=match["body"],
                marked_not_run=bool(NOT_RUN.match(before)),
            )
        )
    return found


def every_block() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))
