"""Sensor nodes on Wi-Fi (MQTT): readings with units."""
