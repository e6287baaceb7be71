"""Device kind ``teacher_laptop`` (declaration: kind.py)."""
