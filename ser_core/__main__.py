"""``python -m ser_core`` runs the ``ser`` command line."""

from ser_core.cli import main

raise SystemExit(main())
