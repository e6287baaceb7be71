"""VR/AR headsets: the MQTT agent protocol (see docs/protocol.md)."""
