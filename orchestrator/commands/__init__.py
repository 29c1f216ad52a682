"""CLI commands. Each module imports only typer and the standard library at import time."""
