"""``python -m bot.dialogue.serve run --enable-api ...``: Rasa's own CLI with our speed fixes.

Takes exactly the arguments of the ``rasa`` command (``run``, ``--model``, ``--endpoints``, ...);
it installs :mod:`bot.dialogue.speedups` in this process first, then hands over to Rasa. Used
by ``make run``, the test fixtures, the load benchmark and the Docker image for the Rasa server.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from bot.dialogue.speedups import install

    applied = install()
    print(f"[bot.dialogue.serve] Rasa speed fixes: {', '.join(applied) or 'none'}", file=sys.stderr)
    from bot.dialogue import action_timeout
    from bot.settings import get_settings

    action_timeout.install(get_settings().action_timeout_seconds)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
