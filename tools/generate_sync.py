"""Generate the sync side from the async one: every `*_async.py` under src/ and tests/ is the
source of the module of the same name without `_async`, which no one edits by hand.

    python tools/generate_sync.py            write every generated module
    python tools/generate_sync.py --check    exit 1, naming them, if any is not as generated

What the async source may say, and what the sync module gets:
- `async def`, `async with`, `async for`: the same without `async`; `await x`: `x`.
- A name `AsyncX` (X capitalized): `X` (AsyncUnitOfWork, AsyncConnectionPool, AsyncIterator);
  a name `x_async`: `x` (modules, and the async twin of a sync helper); the async special
  methods and helpers in SPECIAL: their sync counterparts. The same in strings and comments,
  where `await ` goes, and `async` before a word too ("an async unit of work": "a unit of
  work").
- Code that differs:

      if True:  # ASYNC
          await asyncio.sleep(delay)
      else:
          time.sleep(delay)

  keeps its `else` body only (dedented), or nothing without one.
The result is formatted by ruff: imports sorted, those left unused dropped, and nested `with`
statements joined (an async source nests `async with` and `with`, which cannot share one)."""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("src", "tests")
MARK = "# ASYNC"

SPECIAL = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "asynccontextmanager": "contextmanager",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "aclosing": "closing",
    "aclose": "close",
    "anext": "next",
    "aiter": "iter",
}
_ASYNC_CLASS = re.compile(r"\bAsync(?=[A-Z])")
_ASYNC_SUFFIX = re.compile(r"\b(\w+?)_async\b")
_IN_TEXT: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\basync (with|for|def)\b"), r"\1"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\ban async\b"), "a"),
    (re.compile(r"\bAn async\b"), "A"),
    (re.compile(r"\b[Aa]sync "), ""),
    (re.compile(r"\b(" + "|".join(SPECIAL) + r")\b"), lambda m: SPECIAL[m.group(1)]),
]


def name_of(name: str) -> str:
    """The sync name of an async source's name."""
    if name in SPECIAL:
        return SPECIAL[name]
    if name.startswith("Async") and name[5:6].isupper():
        return name[5:]
    if name.endswith("_async") and len(name) > 6:
        return name[:-6]
    return name


def text_of(text: str) -> str:
    """A string's sync wording."""
    text = _ASYNC_CLASS.sub("", text)
    text = _ASYNC_SUFFIX.sub(r"\1", text)
    for pattern, replacement in _IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def drop_async_blocks(source: str, path: Path) -> str:
    """Each `if True:  # ASYNC` block becomes its `else` body, dedented (innermost first is
    not needed: such blocks do not nest)."""
    lines = source.splitlines(keepends=True)
    blocks = [
        node
        for node in ast.walk(ast.parse(source, str(path)))
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Constant)
        and node.test.value is True
        and lines[node.lineno - 1].rstrip().endswith(MARK)
    ]
    for node in sorted(blocks, key=lambda n: n.lineno, reverse=True):
        start, end = node.lineno - 1, node.end_lineno or node.lineno
        indent = len(lines[start]) - len(lines[start].lstrip())
        while end < len(lines) and lines[end].strip().startswith("#"):
            deeper = len(lines[end]) - len(lines[end].lstrip()) > indent
            if not deeper:
                break
            end += 1  # a comment closing the block's body is part of it
        kept: list[str] = []
        if node.orelse:
            first = node.orelse[0].lineno - 1
            head = first - 1
            while lines[head].strip() != "else:":
                head -= 1
            for line in lines[head + 1 : end]:
                if line.strip() and not line.startswith(" " * (indent + 4)):
                    raise SystemExit(f"{path}:{start + 1}: the else body is not indented")
                kept.append(line[4:] if line.strip() else line)
        lines[start:end] = kept
    return "".join(lines)


def _used_at_once(node: ast.AST) -> ast.expr | None:
    """The value an attribute, a subscript or a call is taken of."""
    if isinstance(node, ast.Attribute | ast.Subscript):
        return node.value
    if isinstance(node, ast.Call):
        return node.func
    return None


def ungroup_awaits(source: str, path: Path) -> str:
    """`(await cur.execute(q)).fetchone()` becomes `cur.execute(q).fetchone()`: the await goes
    with the parentheses it needs (and the line breaks just inside them), which the sync
    module does not (ruff keeps parentheses it finds)."""
    lines = source.splitlines(keepends=True)
    awaited = set()  # (row, column in characters) of each such await
    for node in ast.walk(ast.parse(source, str(path))):
        inner = _used_at_once(node)
        if isinstance(inner, ast.Await):
            line = lines[inner.lineno - 1]  # ast counts columns in UTF-8 bytes
            awaited.add((inner.lineno, len(line.encode()[: inner.col_offset].decode())))
    if not awaited:
        return source
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def at(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    cuts: list[tuple[int, int]] = []  # spans of the source to delete
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string != "await" or tok.start not in awaited:
            continue
        opening = i - 1
        while tokens[opening].type == tokenize.NL:
            opening -= 1
        if tokens[opening].string != "(":
            raise SystemExit(f"{path}:{tok.start[0]}: no `(` right before this await")
        depth, closing = 0, opening
        for closing in range(opening, len(tokens)):
            t = tokens[closing]
            if t.type == tokenize.OP and t.string in "([{":
                depth += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                depth -= 1
                if depth == 0:
                    break
            elif depth == 1 and t.type == tokenize.COMMENT:
                raise SystemExit(f"{path}:{t.start[0]}: a comment inside `(await ...)`")
            elif depth == 1 and t.type == tokenize.NL:  # the break, and the next line's indent
                cuts.append((at(t.start), at(tokens[closing + 1].start)))
        cuts.append((at(tokens[opening].start), at(tokens[opening].end)))
        cuts.append((at(tok.start), at(tokens[i + 1].start)))  # `await `: what is left parses
        cuts.append((at(tokens[closing].start), at(tokens[closing].end)))
    for start, end in sorted(cuts, reverse=True):
        source = source[:start] + source[end:]
    return source


def join_forced_nesting(source: str, path: Path) -> str:
    """`async with a:` holding only `with b:` (or the other way round) is one `with a, b:` in
    the sync module, as anyone would write it there: the async source nests them only because
    `async with` cannot take a sync context manager. A comment stays if the headers hold one."""
    while pair := _forced_pair(source, path):
        outer, inner = pair
        lines = source.splitlines(keepends=True)
        head_rows = range(outer.lineno, inner.body[0].lineno)
        said = [
            tok.string
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT and tok.start[0] in head_rows
        ]
        items = [
            _segment(source, item.context_expr)
            + (f" as {_segment(source, item.optional_vars)}" if item.optional_vars else "")
            for item in [*outer.items, *inner.items]
        ]
        head = " " * outer.col_offset + f"with {', '.join(items)}:"
        head += "".join(f"  {comment}" for comment in said) + "\n"
        shift = inner.col_offset - outer.col_offset
        body = [
            line[shift:] if line.strip() else line
            for line in lines[inner.body[0].lineno - 1 : inner.end_lineno]
        ]
        lines[outer.lineno - 1 : inner.end_lineno] = [head, *body]
        source = "".join(lines)
    return source


Withs = ast.With | ast.AsyncWith


def _forced_pair(source: str, path: Path) -> tuple[Withs, Withs] | None:
    """A `with` that holds only a `with` of the other kind, and that one."""
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, Withs) and len(node.body) == 1:
            inner = node.body[0]
            if isinstance(inner, Withs) and type(inner) is not type(node):
                return node, inner
    return None


def _segment(source: str, node: ast.expr) -> str:
    text = ast.get_source_segment(source, node)
    assert text is not None
    return text


def unasync(source: str, path: Path) -> str:
    """The sync module's text, before formatting."""
    source = ungroup_awaits(drop_async_blocks(source, path), path)
    source = join_forced_nesting(source, path)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (row, start col, end col, replacement)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(tokens):
        row, col = tok.start
        if tok.type == tokenize.NAME:
            if tok.string in ("async", "await"):
                following = tokens[i + 1]
                end = following.start[1] if following.start[0] == row else tok.end[1]
                edits.append((row, col, end, ""))
            elif (renamed := name_of(tok.string)) != tok.string:
                edits.append((row, col, tok.end[1], renamed))
        elif tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            if tok.start[0] == tok.end[0]:
                renamed = text_of(tok.string)
                if renamed != tok.string:
                    edits.append((row, col, tok.end[1], renamed))
            else:  # a string over several lines: edit each of its lines
                for r in range(tok.start[0], tok.end[0] + 1):
                    line = lines[r - 1]
                    lo = col if r == tok.start[0] else 0
                    hi = tok.end[1] if r == tok.end[0] else len(line)
                    renamed = text_of(line[lo:hi])
                    if renamed != line[lo:hi]:
                        edits.append((r, lo, hi, renamed))
        elif tok.type == tokenize.COMMENT:
            renamed = text_of(tok.string)
            if renamed != tok.string:
                edits.append((row, col, tok.end[1], renamed))
    for row, start, end, replacement in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + replacement + line[end:]
    return "".join(lines)


def header(source_path: Path) -> str:
    return f"# Generated from {source_path.name} (tools/generate_sync.py): edit that instead.\n"


def formatted(text: str, target: Path) -> str:
    ruff = [sys.executable, "-m", "ruff"]
    name = str(target.relative_to(ROOT))
    fixed = subprocess.run(  # noqa: S603 (this interpreter's ruff, fixed arguments)
        [
            *ruff,
            "check",
            "--quiet",
            "--fix",
            "--select",
            "I,F401,SIM117",
            "--stdin-filename",
            name,
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if fixed.returncode not in (0, 1):
        raise SystemExit(f"ruff check failed on {name}:\n{fixed.stderr}")
    done = subprocess.run(  # noqa: S603
        [*ruff, "format", "--quiet", "--stdin-filename", name, "-"],
        input=fixed.stdout,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return done.stdout


def generated(source_path: Path) -> tuple[Path, str]:
    """The sync module's path and its text."""
    target = source_path.with_name(source_path.name.removesuffix("_async.py") + ".py")
    text = header(source_path) + unasync(source_path.read_text(), source_path)
    return target, formatted(text, target)


def sources(root: Path = ROOT) -> list[Path]:
    return sorted(p for top in SOURCES for p in (root / top).rglob("*_async.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail if stale")
    parser.add_argument("files", nargs="*", type=Path, help="only these async sources")
    args = parser.parse_args(argv)
    stale = []
    for source_path in [p.resolve() for p in args.files] or sources():
        target, text = generated(source_path)
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text)
    for target in stale:
        verb = "not as generated" if args.check else "written"
        print(f"{target.relative_to(ROOT)}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
