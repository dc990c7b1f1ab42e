"""Django file storage for objectstore, Sentry's blob service."""

__version__ = "0.1.0"
