"""Device kind ``ar_device`` (declaration: kind.py)."""
