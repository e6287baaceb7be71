"""Home Assistant MQTT discovery of the room's devices (docs/home-assistant.md).

The package declares itself in ``declaration.py``; ``part.py`` builds and publishes the
discovery messages from each device kind's entities (device_drivers/<kind>/kind.py).
"""
