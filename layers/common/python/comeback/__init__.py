"""Comeback: a self-hosted re-engagement engine for online shops."""

__version__ = "0.1.0"
