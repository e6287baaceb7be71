"""Serial bridge between USB kits (COBS frames) and the hub's MQTT bus."""
