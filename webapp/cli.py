"""The ``sinergi`` console script: kb's commands, the recommender's, and the web server's."""

from __future__ import annotations

from kb.cli import main
from recommender.cli import register as register_recommender

register_recommender(main)

__all__ = ["main"]

if __name__ == "__main__":
    main()
