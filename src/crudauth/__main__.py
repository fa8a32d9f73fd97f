"""Run the operator command line: ``python -m crudauth --help``."""

import sys

from crudauth.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
