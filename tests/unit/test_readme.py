"""The README's example of unit tests on the fakes runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_the_fake_based_example_passes() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    example = next(block for block in blocks if "def test_checkout" in block)
    namespace: dict[str, Any] = {}
    exec(example.replace("@pytest.fixture\n", ""), namespace)  # noqa: S102 - our own README
    fixture = namespace["container"]()
    try:
        namespace["test_checkout"](next(fixture))
    finally:
        fixture.close()
