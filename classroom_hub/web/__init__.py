"""Pages and HTTP/WebSocket API served by the hub (plain HTML/CSS/JS, no build step)."""
