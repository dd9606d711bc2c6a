"""``python -m landsim.cli`` runs the ``landsim`` command."""

import sys

from landsim.cli import main

sys.exit(main())
