"""Typed settings for a hub and example room files."""
