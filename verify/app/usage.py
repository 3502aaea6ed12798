"""What the command line reports as a user's mistake (one line on stderr, exit code 2)."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake of the user: printed as one line on stderr, exit code 2."""
