"""Fixtures of the dialogue integration tests: the trained model of the current data."""
from tests.rasa_fixtures import trained_model
