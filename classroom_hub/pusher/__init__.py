"""Store and forward: the hub's records to the central database and xAPI LRSs, rosters and materials in.

See docs/central-database.md (destinations, the materials bank API) and docs/privacy.md.
The package declares itself in ``declaration.py``: the hub starts it with
:func:`classroom_hub.pusher.web.setup`; the CLI is ``classroom-hub push ...``; its settings are
the room file's ``[central]`` (``settings.py``). Nothing is imported here, so that reading the
declaration stays cheap: import from the modules (``classroom_hub.pusher.pusher.Pusher``...).
"""
