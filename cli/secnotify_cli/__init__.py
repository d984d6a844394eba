"""`secnotify`: the command line for a secnotify stack's configuration API."""

__version__ = "0.1.0"
