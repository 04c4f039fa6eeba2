"""Personal data protection: encryption at rest, blind indexes, log masking, input hygiene.

``python -m bot.security`` runs the maintenance commands (key rotation, retention); see
docs/security.md.
"""
