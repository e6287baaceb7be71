"use strict";
// The technician console's pusher panel: per destination the queue, the oldest record still
// waiting, the last success and error, the quarantine with its reasons, and "push now".
// Reads GET /api/push and /api/push/quarantine; "push now" is POST /api/push/now.
// tech.js calls PushPanel.start() once the language catalog is loaded.
const PushPanel = (() => {
  const STREAMS = ["statements", "readings", "device_events"];
  let timers = [];

  function td(text, cls) { return el("td", text == null || text === "" ? "–" : text, cls); }

  function clock(ts) { return new Date(ts * 1000).toLocaleTimeString(I18N.lang === "vi" ? "vi-VN" : "en-GB"); }

  function state(d) {
    const saved = d.state.startsWith("saved");
    let text = I18N.t("tech.push.state." + (saved ? "saved" : d.state));
    if (d.state === "waiting" && d.next_attempt_at) text += " · " + I18N.t("tech.push.retry_at", { time: clock(d.next_attempt_at) });
    return text;
  }

  function queue(d) {
    const parts = STREAMS.filter(s => s in d.queue && d.queue[s] > 0)
      .map(s => `${I18N.t("tech.push.stream." + s)} ${d.queue[s]}`);
    return parts.length ? `${d.depth} (${parts.join(" · ")})` : String(d.depth);
  }

  function renderDestinations(report) {
    const body = document.querySelector("#push-destinations tbody");
    body.replaceChildren(...report.destinations.map(d => {
      const tr = el("tr");
      tr.dataset.destination = d.name;
      tr.dataset.state = d.state;
      const oldest = d.oldest_undelivered_s == null ? I18N.t("tech.push.nothing_waiting")
        : I18N.ago(report.generated_at - d.oldest_undelivered_s);
      const error = d.last_error ? `${d.last_error}${d.last_error_at ? ` (${I18N.ago(d.last_error_at)})` : ""}` : null;
      tr.append(
        td(`${d.name} · ${d.where}`), td(state(d), d.state === "pushing" || d.state === "idle" ? "state-up" : d.state === "waiting" ? "state-down" : ""),
        td(queue(d), "queue"), td(oldest, "oldest"),
        td(d.last_success ? I18N.ago(d.last_success) : I18N.t("tech.push.never"), "last-success"),
        td(error, error ? "last-error low" : "last-error"), td(String(d.quarantined), d.quarantined ? "quarantined low" : "quarantined"),
      );
      return tr;
    }));
    $("push-none").hidden = report.destinations.length > 0;
    $("push-now").disabled = !report.running || !report.destinations.length;
    const quarantined = report.destinations.reduce((n, d) => n + d.quarantined, 0);
    $("push-quarantined-badge").textContent = quarantined ? String(quarantined) : "";
    const store = report.store;
    $("push-store").textContent = I18N.t("tech.push.store", {
      used: (store.used_bytes / 1048576).toFixed(1), budget: (store.budget_bytes / 1048576).toFixed(0), percent: store.percent,
    }) + (store.alarm_message ? ` · ${store.alarm_message}` : "");
    $("push-store").className = store.alarm === "ok" ? "muted" : "low";
  }

  function renderQuarantine(items) {
    document.querySelector("#push-quarantine tbody").replaceChildren(...items.map(q => {
      const tr = el("tr");
      tr.dataset.destination = q.destination;
      tr.dataset.seq = q.seq;
      tr.append(td(q.destination), td(I18N.t("tech.push.stream." + q.stream)), td(String(q.seq)), td(q.record_id),
        td(q.reason, "reason"), td(new Date(q.quarantined_at * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB")));
      return tr;
    }));
    $("push-quarantine-none").hidden = items.length > 0;
  }

  async function refresh() {
    try {
      const [report, quarantine] = await Promise.all([api("/api/push"), api("/api/push/quarantine?limit=100")]);
      renderDestinations(report);
      renderQuarantine(quarantine.quarantined);
      $("push-error").textContent = "";
    } catch (err) {
      $("push-error").textContent = I18N.t("tech.push.unavailable", { error: err.message });
      $("push-now").disabled = false;
    }
  }

  async function pushNow() {
    const button = $("push-now");
    button.disabled = true;
    try {
      const body = await api("/api/push/now", { method: "POST" });
      $("push-now-result").textContent = I18N.t("tech.push.now_done", { names: body.woken.join(", ") || "–" });
    } catch (err) {
      $("push-now-result").textContent = I18N.t("tech.push.unavailable", { error: err.message });
    }
    // The couriers work in the background: look again while they do.
    timers.forEach(clearTimeout);
    timers = [300, 1000, 2500, 5000].map(ms => setTimeout(refresh, ms));
    await refresh();
  }

  return {
    start() {
      $("push-now").addEventListener("click", pushNow);
      refresh();
      setInterval(refresh, 10000);
    },
  };
})();
