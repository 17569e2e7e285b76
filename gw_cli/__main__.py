"""``python -m gw_cli``: the same as the ``gw`` command."""

from gw_cli.main import main

raise SystemExit(main())
