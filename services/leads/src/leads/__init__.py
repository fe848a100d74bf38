"""The leads service."""
