"""``python -m torch_amt``: the ``torch-amt`` command (see :mod:`torch_amt.cli`)."""

from torch_amt.cli import main

raise SystemExit(main())
