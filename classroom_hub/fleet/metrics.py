"""The fleet's figures for ``/metrics`` (named in the fleet's declaration): command latency and
outcomes, alarms, and the store's depth per stream and destination as the logbook reads it."""

from __future__ import annotations

from classroom_hub.errors import StoreError
from classroom_hub.fleet.keys import FLEET
from classroom_hub.metrics import Config, Exposition


async def collect(app: Config, out: Exposition) -> None:
    if FLEET in app:
        fleet = app[FLEET]
        out.histogram("command_latency_seconds", "Command to reply, by route (mqtt or direct).",
                      fleet.commands.latency, "route")
        out.add("command_results_total", "counter", "Commands by outcome.",
                [({"outcome": o}, n) for o, n in sorted(fleet.commands.results.items())])
        active: dict[str, int] = dict.fromkeys(fleet.alarms.raised, 0)
        for alarm in fleet.alarms.active():
            active[alarm.kind] = active.get(alarm.kind, 0) + 1
        out.add("alarms_active", "gauge", "Active alarms by kind.", [({"kind": k}, n) for k, n in active.items()])
        out.add("alarms_raised_total", "counter", "Alarms raised since start, by kind.",
                [({"kind": k}, n) for k, n in fleet.alarms.raised.items()])
        rows = fleet.launcher.rows()
        states: dict[str, int] = {}
        for row in rows:
            states[row["state"]] = states.get(row["state"], 0) + 1
        out.add("scene_launch_headsets", "gauge", "Headsets of the current scene launch, by state.",
                [({"state": k}, n) for k, n in sorted(states.items())])
        try:
            depth = await fleet.logbook.store_depth()
        except StoreError:
            depth = None
        if depth is not None:
            out.add("store_rows", "gauge", "Highest sequence number stored, per stream.",
                    [({"stream": s}, n) for s, n in depth.last_seq.items()])
            out.add("outbox_depth", "gauge", "Rows a destination has not confirmed yet.",
                    [({"destination": d, "stream": s}, n) for (d, s), n in sorted(depth.outbox.items())])

