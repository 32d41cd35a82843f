"""Use cases: each wires the domain rules to the adapters for one thing a handler does."""
