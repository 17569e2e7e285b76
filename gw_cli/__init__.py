"""The ``gw`` command: a tool built on ``gw_core`` and the adapters, never imported by them.

``gw_cli.main.main`` is the entry point; each subcommand lives in its own module here.
"""
