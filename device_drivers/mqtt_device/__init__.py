"""Generic MQTT devices (sensor nodes, actuators, the teacher laptop, device agents)."""
