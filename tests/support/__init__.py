"""Shared test support (not tests): boto3 clients for the sandbox, JSON-line parsing, and stacks
built by the product's own provisioning (orchestrator/sandbox/provision.py).

Imported as `support` (tests/ is on sys.path: tests/conftest.py's directory, pytest's prepend mode).
"""
