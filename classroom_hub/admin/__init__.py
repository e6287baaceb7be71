"""The school admin's page, ``/admin``: accounts, classes and rosters, device names, backups (docs/admin.md).

Imports nothing at package level: the declaration (declaration.py) is read while the room's
settings model is assembled (docs/architecture.md, "Import rules").
"""
