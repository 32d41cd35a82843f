"""Adapters to AWS services, each behind a small interface."""
