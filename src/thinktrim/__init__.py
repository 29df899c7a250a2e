"""thinktrim: make reasoning models think less and answer better."""

__version__ = "0.1.0"
