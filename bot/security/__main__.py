"""``python -m bot.security``: personal-data maintenance commands (docs/security.md).

    new-key [--kid K]                   print a new PII_KEYS entry (put it FIRST in PII_KEYS)
    status                              which key ids the stored values use (cases, submission spool)
    rotate-keys [--tracker-url URL]     re-encrypt cases, the submission spool (and Rasa tracker
                                        events) with the current key
    anonymise [--older-than-days N] [--dry-run] [--tracker-url URL]
                                        anonymise cases closed more than N days ago (RETENTION_DAYS)
                                        and drop tracker conversations inactive for N days

The case database is ``DATABASE_URL``. The tracker database defaults to the embedded
``var/rasa_tracker.db`` when that file exists; ``--tracker-url`` names another one (a
SQLAlchemy URL), ``--no-tracker`` skips it. Run it from cron / a systemd timer, e.g. daily::

    15 3 * * *  cd /srv/xinfang && .venv/bin/python -m bot.security anonymise
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from bot.settings import PROJECT_ROOT, Settings, get_settings

DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "rasa_tracker.db"


def _tracker_url(args: argparse.Namespace) -> str | None:
    if args.no_tracker:
        return None
    if args.tracker_url:
        return str(args.tracker_url)
    return f"sqlite:///{DEFAULT_TRACKER_DB}" if DEFAULT_TRACKER_DB.exists() else None


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.security", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    new_key = sub.add_parser("new-key", help="print a new PII_KEYS entry")
    new_key.add_argument("--kid", help="key id (default k<UTC date and time>)")

    sub.add_parser("status", help="key ids in use in the case database")

    for name, help_text in (("rotate-keys", "re-encrypt every value with the current key"),
                            ("anonymise", "anonymise cases closed longer ago than the retention period")):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--tracker-url", help="SQLAlchemy URL of the Rasa tracker database")
        command.add_argument("--no-tracker", action="store_true", help="leave the tracker database alone")
        if name == "anonymise":
            command.add_argument("--older-than-days", type=int, default=settings.retention_days,
                                 help=f"retention period in days (default RETENTION_DAYS={settings.retention_days})")
            command.add_argument("--dry-run", action="store_true", help="only list the cases")
    return parser


def _session_factory(settings: Settings) -> tuple[sa.engine.Engine, sa.orm.sessionmaker]:
    from bot.cases.db import make_engine, make_session_factory, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine, make_session_factory(engine)


def _status(settings: Settings) -> int:
    from bot.cases.privacy import _cases_raw
    from bot.security.crypto import key_id_of

    engine, _ = _session_factory(settings)
    counts: Counter[str] = Counter()
    try:
        with engine.connect() as conn:
            t = _cases_raw.c
            for row in conn.execute(sa.select(t.id_number, t.phone, t.transcript)):
                for value in row:
                    if value is not None:
                        counts[(key_id_of(value) if isinstance(value, str) else None) or "(plaintext)"] += 1
    finally:
        engine.dispose()
    if not counts:
        print("no personal data stored")
    for kid, count in sorted(counts.items()):
        print(f"{kid}\t{count}")
    from bot.cases.spool import SubmissionSpool

    for kid, count in sorted(SubmissionSpool.from_settings(settings).key_ids().items()):
        print(f"{kid}\t{count}\t(submission spool)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = get_settings()
    args = _parser(settings).parse_args(argv)

    if args.command == "new-key":
        from bot.security.crypto import generate_key_entry

        print(generate_key_entry(args.kid))
        return 0

    from bot.security.startup import prepare_process

    ring = prepare_process("security", settings)
    if args.command == "status":
        return _status(settings)

    engine, factory = _session_factory(settings)
    tracker_url = _tracker_url(args)
    try:
        if args.command == "rotate-keys":
            from bot.cases.privacy import do_rotate_pii_keys

            report = do_rotate_pii_keys(factory, ring)
            print(f"cases: {report.rows} row(s), {report.values_reencrypted} value(s) re-encrypted, "
                  f"{report.indexes_updated} index(es) updated; current key {ring.current_kid}")
            from bot.cases.spool import SubmissionSpool

            print(f"submission spool: {SubmissionSpool.from_settings(settings, ring).rotate()} entry(ies) re-encrypted")
            if tracker_url:
                from bot.dialogue.tracker_maintenance import rotate_tracker_events

                tracker = sa.create_engine(tracker_url, future=True)
                try:
                    tracker_report = rotate_tracker_events(tracker, ring)
                finally:
                    tracker.dispose()
                print(f"tracker: {tracker_report.rows} event(s), {tracker_report.rotated} re-encrypted")
            return 0

        if args.command == "anonymise":
            from bot.cases.privacy import do_anonymise_closed_cases

            if args.older_than_days < 0:
                print("--older-than-days must be >= 0", file=sys.stderr)
                return 2
            result = do_anonymise_closed_cases(factory, args.older_than_days, dry_run=args.dry_run)
            verb = "would anonymise" if args.dry_run else "anonymised"
            print(f"cases closed before {result.cutoff.date().isoformat()}: {verb} {len(result.anonymised)}"
                  + (f" ({', '.join(result.anonymised)})" if result.anonymised else ""))
            if tracker_url and not args.dry_run:
                from bot.dialogue.tracker_maintenance import purge_inactive_conversations

                tracker = sa.create_engine(tracker_url, future=True)
                try:
                    removed = purge_inactive_conversations(tracker, args.older_than_days)
                finally:
                    tracker.dispose()
                print(f"tracker: {removed} inactive conversation(s) removed")
            return 0
    finally:
        engine.dispose()
    return 2


if __name__ == "__main__":
    sys.exit(main())
