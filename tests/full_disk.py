"""A disk that fills up, for tests: `os.replace` into a folder fails with ENOSPC.

Every atomic write in the suite and in Inspect (temp file, then `os.replace`) ends in
`os.replace`, so failing it is a full disk as the writers see it, without root-only
tricks (a read-only chmod does not stop root; CI runs as root) or a tmpfs.

As a script it runs the `utility-gap` command with such a disk, so a test meets the
failure the way a user does, in a separate process:

    python tests/full_disk.py FOLDER ALLOWED FAILS [ERRNO] -- utility-gap arguments...

The first ALLOWED replaces into FOLDER succeed, the next FAILS fail (the disk is then
freed), ERRNO defaults to ENOSPC.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def failing_replace(folder: Path, allowed: int, fails: int, code: int = errno.ENOSPC) -> Callable[..., Any]:
    """An `os.replace` whose calls into `folder` fail after `allowed` successes, `fails` times."""
    real = os.replace
    folder = folder.resolve()
    seen = 0

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal seen
        if Path(os.fspath(dst)).resolve().is_relative_to(folder):
            seen += 1
            if allowed < seen <= allowed + fails:
                raise OSError(code, os.strerror(code))
        real(src, dst, *args, **kwargs)

    return replace


if __name__ == "__main__":
    split = sys.argv.index("--")
    folder, allowed, fails, *code = sys.argv[1:split]
    os.replace = failing_replace(Path(folder), int(allowed), int(fails), *(int(c) for c in code))
    from utility_gap.pipeline.cli import main

    sys.exit(main(sys.argv[split + 1 :]))
