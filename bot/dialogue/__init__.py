"""Pieces Rasa loads from our package: the encrypted tracker store (``endpoints.yml``)."""
