"""Where the statute texts kept beside the design are (tests that check cited articles)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def statutes_dir() -> Path | None:
    """``STATUTES_DIR``, else ``../shared/domain/statutes`` beside the clone, else the workplace's copy."""
    configured = os.environ.get("STATUTES_DIR")
    candidates = [Path(configured)] if configured else [
        REPO.parent / "shared" / "domain" / "statutes",
        Path("/work/shared/domain/statutes"),
    ]
    return next((c for c in candidates if c.is_dir()), None)
