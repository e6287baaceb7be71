"""How the hub keeps things on disk: every SQLite file through one helper (``sqlite.py``)."""
