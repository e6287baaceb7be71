"""The room's MQTT bus: topics, payloads, the reconnecting link, commands with replies.

Nothing is imported here on purpose: ``topics``, ``payloads`` and ``link`` (with ``stream``)
are the wire, which device simulators and drivers import too; they must not pull in the
hub's side of the bus (``commands``, ``broker``) along with them.
"""
