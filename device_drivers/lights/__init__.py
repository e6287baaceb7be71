"""Device kind ``lights`` (declaration: kind.py)."""
