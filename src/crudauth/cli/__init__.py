"""The ``crudauth`` operator command line, also run as ``python -m crudauth``."""

from crudauth.cli.parser import build_parser as build_parser
from crudauth.cli.parser import main as main

__all__ = ["build_parser", "main"]
