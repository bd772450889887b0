"""Error types shared by every stage."""


class InputError(ValueError):
    """Bad user input (file, config key, array): the message names the problem."""
