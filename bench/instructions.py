"""Client instructions per point read, counted by callgrind (needs valgrind).

    python -m bench.instructions URL [--op get|email] [--calls 10000] [--tree DIR] [--keys 5000]

URL is a database the bench seeded (`python -m bench --database NAME` leaves one). The read
runs through the bench's shopdb contestant in two processes under callgrind: 200 warm-up calls
then 1,000 calls, and the same with 1,000 + `calls`. The difference of the two totals divided
by `calls` is what the client spends per call, start-up and warm-up excluded. Runs differ by
~1 % (the pool's threads and the deadline watchdog wake by the clock, and a run under valgrind
is slow), where a timed run on a VM moves by several %. The server's work is not counted, nor
how fast the CPU runs the instructions (cache misses): a timed run still decides.

`--tree DIR` measures the code of another checkout (its bench/ and src/ come first on the
path), to compare two versions on one database."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
WARM_UP = 200
BASE = 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("url")
    parser.add_argument("--op", choices=("get", "email"), default="get")
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--tree", type=Path, default=HERE)
    parser.add_argument("--keys", type=int, default=5000, help="products and users read in turn")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner is not None:
        _calls(args.tree, args.url, args.op, args.inner, args.keys)
        return
    totals = [_counted(args, BASE + extra) for extra in (0, args.calls)]
    print(
        f"{args.op} ({args.tree}): {(totals[1] - totals[0]) / args.calls:,.0f} instructions a call"
    )


def _counted(args: argparse.Namespace, calls: int) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(  # noqa: S603 - valgrind on this interpreter and module, as a list
            [
                valgrind,
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.instructions",
                args.url,
                f"--op={args.op}",
                f"--tree={args.tree}",
                f"--inner={calls}",
                f"--keys={args.keys}",
            ],
            cwd=HERE,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"no summary in {out}")
        return int(found.group(1))


def _calls(tree: Path, url: str, op: str, calls: int, keys: int) -> None:
    sys.path[:0] = [str(tree), str(tree / "src")]
    for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
        del sys.modules[name]  # this module's own package: the tree's comes first now
    from bench.contestants import Shopdb

    shopdb: Any = Shopdb(url, 1)

    def get(n: int) -> Any:
        return shopdb.get_product(1 + n % keys)

    def email(n: int) -> Any:
        return shopdb.get_user(f"user{n % keys}@example.com")

    call = get if op == "get" else email
    for n in range(WARM_UP):
        call(n)
    for n in range(calls):
        call(n)
    shopdb.close()


if __name__ == "__main__":
    main()
