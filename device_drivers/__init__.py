"""Device drivers: one sub-package per device kind; bytes and topics, no classroom logic."""
