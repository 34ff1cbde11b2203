"""``python -m lib``: the command line (see lib/cli.py)."""

from __future__ import annotations

import sys

from lib.cli import main

if __name__ == "__main__":
    sys.exit(main())
