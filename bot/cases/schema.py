"""Every table of the product's database, for migrations and the schema test.

Each feature package keeps its tables in its own ``models`` module on the shared
``metadata``; importing them here registers them. Add a line when adding a package.
"""
from __future__ import annotations

import bot.backoffice.user_models  # registers its tables (as every import below)
import bot.cases.attachment_models
import bot.cases.routing_models
import bot.handoff.models
import bot.outbox.models
import bot.training.models  # noqa: F401
from bot.cases.models import metadata

__all__ = ["metadata"]
