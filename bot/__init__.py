"""Holdfast: scheduled safety check-ins that escalate to trusted contacts."""

__version__ = "0.1.0"
