"""secnotify: security-problem notifications from AWS to webhooks."""

__version__ = "0.1.0"
