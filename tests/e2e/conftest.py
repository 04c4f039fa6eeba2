"""End-to-end tests: the real stack (rasa, action server, back-office) as subprocesses."""
from tests.rasa_fixtures import Stack, free_port, stack, trained_model
