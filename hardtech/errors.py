class SetupError(Exception):
    """A problem the user can act on, printed as one line without a stack trace."""
