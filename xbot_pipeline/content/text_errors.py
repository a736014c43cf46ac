"""The error a text raises when we refuse to measure it. Its own module so that validating callers can
catch it without importing ``content.entities``, whose twitter-text patterns take about a second to
compile: a command that never measures a text does not pay for them."""


class TextTooComplex(ValueError):
    """A text we refuse to measure against a limit (see ``content.entities.MAX_CHAIN_CHARS``)."""
