"""Device kind ``robot`` (declaration: kind.py)."""
