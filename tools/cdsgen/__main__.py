"""``python -m cdsgen`` is the same as the ``cdsgen`` command."""

from cdsgen.cli import main

raise SystemExit(main())
