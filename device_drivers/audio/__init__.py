"""Device kind ``audio`` (declaration: kind.py)."""
