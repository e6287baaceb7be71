"""Every device of the room as one fleet: group commands with per-device results, the devices'
alarm rules (classroom_hub/alarms), battery and online history, and the scene bundles headsets
fetch from the hub.

The package declares itself in ``declaration.py``. Nothing is imported here, so that reading
the declaration stays cheap: import from the modules (``classroom_hub.fleet.commands``...).
"""
