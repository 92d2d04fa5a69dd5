"""``python -m minetwin.cli …``: the ``minetwin`` command."""

import sys

from minetwin.cli import main

sys.exit(main())
