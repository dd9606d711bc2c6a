"""``python -m landsim`` runs the ``landsim`` command (as ``python -m landsim.cli``)."""

import sys

from landsim.cli import main

if __name__ == "__main__":  # worker processes import this module again
    sys.exit(main())
