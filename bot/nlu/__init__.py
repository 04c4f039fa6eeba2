"""Custom Rasa NLU components (loaded by Rasa through config.yml)."""
