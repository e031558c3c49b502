"""Errors a user can fix. The entry point prints them as one line and exits with status 2."""


class RecBoleMambaError(Exception):
    """Base class: a problem with the user's input, not a bug."""


class UnknownModelError(RecBoleMambaError, ValueError):
    pass


class DatasetNotFoundError(RecBoleMambaError, FileNotFoundError):
    pass


class ConfigError(RecBoleMambaError, ValueError):
    pass


class DatasetFormatError(RecBoleMambaError, ValueError):
    pass
