"""Blueprints, one package per feature (each: ``__init__`` with ``bp``, routes, forms)."""
