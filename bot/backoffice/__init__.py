"""Back-office web app: ``app.create_app`` (FastAPI), ``auth`` (bearer tokens, roles), ``api`` (routes).

Run with ``python -m bot.backoffice``.
"""
