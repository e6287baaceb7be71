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
    lines += _pulls(report)
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


def _pulls(report: PushReport) -> list[str]:
    """The roster pull and the materials sync: when each last succeeded, how often each failed."""
    lines = []
    for part, figures, last in (("roster", report.roster, "last_pull"), ("materials", report.materials, "last_sync")):
        if figures is None:
            continue
        name = "roster_pull" if part == "roster" else "materials_sync"
        lines += [f"# HELP classroom_hub_{name}_failures_total Failed tries since the start.",
                  f"# TYPE classroom_hub_{name}_failures_total counter",
                  f"classroom_hub_{name}_failures_total {figures['failures']}"]  # fmt: skip
        if figures[last] is not None:
            lines += [f"# HELP classroom_hub_{name}_last_success_timestamp_seconds When it last succeeded.",
                      f"# TYPE classroom_hub_{name}_last_success_timestamp_seconds gauge",
                      f"classroom_hub_{name}_last_success_timestamp_seconds {float(figures[last]):.3f}"]  # fmt: skip
    return lines
