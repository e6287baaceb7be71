"""Device kind ``smart_plug`` (declaration: kind.py; its agent's protocol: README.md)."""
