"""``python -m landsim`` runs the ``landsim`` command (as ``python -m landsim.cli``)."""

import sys

from landsim.cli import main

sys.exit(main())
