"""``python -m bot``: the management command (users, API tokens); see :mod:`bot.cli`."""
from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
