"""The marketing service."""
