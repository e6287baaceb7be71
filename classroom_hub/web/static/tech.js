"use strict";
// The technician's view of every device: a snapshot then live changes over a WebSocket.
const devices = new Map();

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "–" : text;
  if (cls) td.className = cls;
  return td;
}

function render() {
  const kind = document.getElementById("filter-kind").value;
  const state = document.getElementById("filter-state").value;
  const body = document.querySelector("#devices tbody");
  body.replaceChildren();
  const counts = {};
  for (const d of [...devices.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }))) {
    counts[d.kind] = counts[d.kind] || { online: 0, offline: 0, unknown: 0 };
    counts[d.kind][d.state]++;
    if ((kind && d.kind !== kind) || (state && d.state !== state)) continue;
    const tr = document.createElement("tr");
    tr.dataset.device = d.id;
    tr.append(
      cell(d.id), cell(I18N.t("kind." + d.kind)), cell(d.name),
      cell(I18N.t("state." + d.state), "state-" + d.state),
      cell(d.battery == null ? null : Math.round(d.battery) + " %", d.battery != null && d.battery < 20 ? "low" : ""),
      cell(I18N.ago(d.last_seen)), cell(d.firmware), cell(d.last_error),
    );
    body.appendChild(tr);
  }
  const summary = document.getElementById("summary");
  summary.replaceChildren();
  for (const [k, c] of Object.entries(counts)) {
    const span = document.createElement("span");
    span.className = "pill";
    span.textContent = `${I18N.t("kind." + k)}: ${c.online}/${c.online + c.offline + c.unknown} ${I18N.t("state.online")}`;
    summary.appendChild(span);
  }
  const sel = document.getElementById("filter-kind");
  if (sel.options.length === 1) {
    for (const k of Object.keys(counts)) sel.add(new Option(I18N.t("kind." + k), k));
  }
}

async function loadSide() {
  const res = await fetch("/api/devices");
  if (res.status === 401) { location.href = "/login?next=/tech"; return; }
  const body = await res.json();
  document.getElementById("unknown").textContent = body.unknown.map(u => `${u.device_id} (${u.messages})`).join(", ") || "–";
  const rej = await (await fetch("/api/rejections")).json();
  const box = document.getElementById("rejections");
  box.replaceChildren();
  for (const r of rej.recent.slice(0, 20)) {
    const p = document.createElement("div");
    p.textContent = `${new Date(r.ts * 1000).toLocaleTimeString()} ${r.reason} ${r.source}: ${r.detail}`;
    box.appendChild(p);
  }
}

function connect() {
  const live = document.getElementById("live");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/devices`);
  ws.onopen = () => { live.textContent = I18N.t("tech.live"); };
  ws.onmessage = ev => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "snapshot") { devices.clear(); msg.devices.forEach(d => devices.set(d.id, d)); }
    else if (msg.type === "device") devices.set(msg.device.id, msg.device);
    render();
  };
  ws.onclose = () => { live.textContent = I18N.t("tech.reconnecting"); setTimeout(connect, 2000); };
}

(async () => {
  await I18N.load();
  document.getElementById("filter-kind").addEventListener("change", render);
  document.getElementById("filter-state").addEventListener("change", render);
  connect();
  loadSide();
  setInterval(() => { render(); loadSide(); }, 10000);  // "x s ago" ages; side panels are small
})();
