"""Selectors: every function that reads, shaped for a screen, an export or the API."""
