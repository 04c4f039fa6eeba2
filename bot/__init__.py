"""Citizen petition (信访) assistant: the product's Python package.

Layers import inward only: ``channels``/``backoffice``/``actions`` call services;
services (``cases``, ``triage``, ``knowledge``, ``intake``) call storage and pure
domain code. Nothing here creates clients or engines at import time.
"""
