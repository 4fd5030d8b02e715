"""``python -m photoindex``: the same as the ``photoindex`` command."""

import sys

from photoindex.cli import main

sys.exit(main())
