"""Setup problems an operator can fix: shown as one line, exit status 2."""


class SetupError(Exception):
    """A missing or wrong setting. The message names the problem and the fix."""
