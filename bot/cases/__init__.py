"""Case store: one concept per module.

``status`` (codes, labels, workflow) · ``deadlines`` (statutory clock, pure) · ``models``
(SQLAlchemy tables) · ``db`` (engine, transactions, migrations) · ``case_no`` (XF numbers)
· ``service`` (``do_*`` state changes with audit rows, reads) · ``serialize`` (JSON, PII masking).
"""
