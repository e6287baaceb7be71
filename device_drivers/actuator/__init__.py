"""Device kind ``actuator`` (declaration: kind.py)."""
