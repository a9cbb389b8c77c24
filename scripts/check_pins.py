"""Exit 1 unless every `name==version` pin of a constraints file is the installed version.

pip applies a constraint only to packages it installs, so a pin that nothing required
would pass silently; this check makes the floor test fail instead.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version


def main(path: str) -> int:
    wrong = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if not match:
            continue
        name, pinned = match.groups()
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        print(f"{name}=={installed}")
        if installed != pinned:
            wrong.append(f"{name}: pinned {pinned}, installed {installed}")
    for problem in wrong:
        print(f"{path}: {problem}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
