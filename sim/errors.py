"""Errors a user can fix: reported as one line and exit code 2, never as a traceback."""


class UserError(Exception):
    """Bad input from the user: a file, a field or an override. The message says which and why."""
