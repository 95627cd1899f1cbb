"""Every fenced Python block of the README and the documentation pages is run by
tests/integration/test_readme.py, or marked as not run with a reason; the marker is read."""

from __future__ import annotations

from pathlib import Path

from tests import pages


def test_every_python_block_is_an_example_a_test_file_or_marked_not_run() -> None:
    python = [block for block in pages.every_block() if block.is_python]
    assert len(python) >= 10
    unrun = [
        f"{pages.name(b.page)}: {b.body[:60]!r}"
        for b in python
        if not (b.is_example or b.is_test_file or b.marked_not_run)
    ]
    assert not unrun, f"run it, or mark it <!-- not run: why -->: {unrun}"


def test_the_documentation_pages_are_found() -> None:
    names = {pages.name(page) for page in pages.PAGES}
    assert {"README.md", "docs/index.md", "docs/performance.md", "docs/reference/ports.md"} <= names


def test_the_marker_keeps_a_block_from_running_and_titles_name_test_files() -> None:
    text = """Shown only:

<!-- not run: it needs a payment provider -->
```python
charge(card)
```

```python
run_me()
```

```python title="tests/test_mine.py"
def test_it(): ...
```

<!-- not run -->
```python
no_reason_given()
```
"""
    shown, example, test_file, unmarked = pages.blocks(Path("docs/x.md"), text)
    assert (shown.marked_not_run, shown.is_example) == (True, False)
    assert (example.is_example, example.body) == (True, "run_me()\n")
    assert (test_file.is_test_file, test_file.title) == (True, "tests/test_mine.py")
    assert unmarked.is_example  # a marker must say why
