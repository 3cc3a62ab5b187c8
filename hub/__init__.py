"""StormHub: a crisis communication hub generator."""

__version__ = "0.1.0"
