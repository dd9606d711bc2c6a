"""``python -m landsim.cli`` runs the ``landsim`` command."""

import sys

from landsim.cli import main

if __name__ == "__main__":  # worker processes import this module again
    sys.exit(main())
