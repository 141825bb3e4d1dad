"""The one exception type for mistakes a user can make (bad input, bad settings, bad model file)."""


class N2VError(ValueError):
    """A problem the user can fix; the message says what to change.

    Widgets show it as a notification, the CLI prints it on one line and exits with status 2.
    """


class TrustRequired(N2VError):
    """A model package holds code (TorchScript): it loads only when the user says they trust it."""
