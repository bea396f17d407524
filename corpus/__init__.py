"""The bundled corpus: the case and practice files loaded by ``sinergi init`` and the labelled
development sets (``dev/``) used by ``sinergi evaluate``.

It is a package so that it installs with Sinergi as package data (in a wheel as in an editable
install) and is found through the import system, never by a path relative to the code.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def folder() -> Path:
    """The folder holding ``cases/``, ``practices/`` and ``dev/``."""
    root = files(__name__)
    if not isinstance(root, Path):  # e.g. imported from a zip archive: the files are not on disk
        raise RuntimeError(f"{root} is not a folder on disk")
    return root
