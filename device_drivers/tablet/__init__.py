"""Student tablets as devices: battery, charging, app version, Wi-Fi signal."""
