"""Conversation tests: share the trained model (and, if needed, the running stack)."""
from tests.rasa_fixtures import Stack, free_port, stack, trained_model
