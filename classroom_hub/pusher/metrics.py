"""The pusher's figures in the Prometheus text exposition format (for /metrics)."""

from __future__ import annotations

from classroom_hub.pusher.pusher import PushReport


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(report: PushReport) -> str:
    lines = [
        "# HELP classroom_hub_push_queue_depth Rows not yet confirmed by the destination.",
        "# TYPE classroom_hub_push_queue_depth gauge",
    ]
    for d in report.destinations:
        for stream, depth in d.queue.items():
            lines.append(f'classroom_hub_push_queue_depth{{destination="{_label(d.name)}",stream="{stream}"}} {depth}')
    gauges = (
        ("oldest_undelivered_seconds", "Age of the oldest row not yet confirmed.", "oldest_undelivered_s"),
        ("last_success_timestamp_seconds", "When the destination last confirmed a batch.", "last_success"),
        ("quarantined", "Records the destination refused for good.", "quarantined"),
    )
    for name, help_text, attr in gauges:
        lines += [f"# HELP classroom_hub_push_{name} {help_text}", f"# TYPE classroom_hub_push_{name} gauge"]
        for d in report.destinations:
            value = getattr(d, attr)
            if value is not None:
                lines.append(f'classroom_hub_push_{name}{{destination="{_label(d.name)}"}} {float(value):.3f}')
    store = report.store
    lines += [
        "# HELP classroom_hub_store_used_bytes What the telemetry store uses on disk.",
        "# TYPE classroom_hub_store_used_bytes gauge",
        f"classroom_hub_store_used_bytes {store['used_bytes']}",
        "# HELP classroom_hub_store_budget_bytes The store's disk budget.",
        "# TYPE classroom_hub_store_budget_bytes gauge",
        f"classroom_hub_store_budget_bytes {store['budget_bytes']}",
        "# HELP classroom_hub_store_budget_alarm 0 ok, 1 above the alarm threshold, 2 over the budget.",
        "# TYPE classroom_hub_store_budget_alarm gauge",
        f"classroom_hub_store_budget_alarm {('ok', 'warning', 'over').index(store['alarm'])}",
    ]
    return "\n".join(lines) + "\n"
