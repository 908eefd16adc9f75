"""``python -m gaorg``: the ``gaorg`` console script's command line, for an interpreter without the
script on its PATH (a venv not activated, a clone run with another checkout's interpreter)."""

import sys

from gaorg.cli import main

if __name__ == "__main__":
    sys.exit(main())
