"use strict";
// The technician's console: every device live (WebSocket /ws/devices), every alarm of the room
// live, devices' and labs' in one list (/ws/fleet; their words in alarm_text.js),
// commands to one device or a group with a result per device, and each device's last 24 h.
const devices = new Map();
const alarms = new Map();
let selected = null;

// Each device kind's commands and their example arguments come from the kind's own catalogue
// (device_drivers/<kind>/, served at /api/device-kinds); their labels are fleet.cmd.<name>.
let KINDS = {};
const catalogue = kind => (KINDS[kind] || { commands: [] }).commands;
const commandsOf = kind => catalogue(kind).map(c => c.name);
const exampleOf = (kind, name) => (catalogue(kind).find(c => c.name === name) || { example: {} }).example;

function cell(text, cls) { return el("td", text == null || text === "" ? "–" : text, cls); }

function time(ts) { return ts ? new Date(ts * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB") : "–"; }

function byId(a, b) { return a.localeCompare(b, undefined, { numeric: true }); }

function post(path, body) { return api(path, { method: "POST", body }); }

// --- devices ------------------------------------------------------------------------------

function battery(d) {
  if (d.battery == null) return null;
  return `${Math.round(d.battery)} %` + (d.charging ? ` (${I18N.t("tech.charging")})` : "");
}

function app(d) {
  const x = d.extra || {};
  if (d.kind === "display") {
    return x.power == null ? null : `${I18N.t(x.power ? "tech.value.on" : "tech.value.off")} · ${x.input || "–"} · ${x.volume ?? "–"}`;
  }
  return [fieldValue("app", x.app), x.scene].filter(Boolean).join(" · ") || null;
}

// 40 headsets report every 10 s: draw at most once a frame, however many updates arrive.
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function render() {
  const kind = $("filter-kind").value;
  const state = $("filter-state").value;
  const body = document.querySelector("#devices tbody");
  body.replaceChildren();
  const counts = {};
  let shown = 0;
  for (const d of [...devices.values()].sort((a, b) => byId(a.id, b.id))) {
    counts[d.kind] = counts[d.kind] || { online: 0, offline: 0, unknown: 0 };
    counts[d.kind][d.state]++;
    if ((kind && d.kind !== kind) || (state && d.state !== state)) continue;
    shown++;
    const x = d.extra || {};
    const tr = el("tr");
    tr.dataset.device = d.id;
    tr.dataset.state = d.state;
    if (d.id === selected) tr.classList.add("selected");
    tr.append(
      cell(d.id), cell(I18N.t("kind." + d.kind)), cell(d.name),
      cell(I18N.t("state." + d.state), "state-" + d.state),
      cell(battery(d), d.battery != null && d.battery < 20 && !d.charging ? "low" : ""),
      cell(d.rssi == null ? null : `${d.rssi} dBm`, d.rssi != null && d.rssi < -75 ? "low" : ""),
      cell(d.temperature == null ? null : `${d.temperature.toFixed(1)} °C`, d.temperature >= 45 ? "low" : ""),
      cell(app(d)), cell(x.app_version), cell(I18N.ago(d.last_seen)), cell(d.firmware), cell(reasonText(d.last_error)),
    );
    tr.addEventListener("click", () => select(d.id));
    body.appendChild(tr);
  }
  $("shown").textContent = I18N.t("tech.shown", { n: shown, total: devices.size });
  const summary = $("summary");
  summary.replaceChildren();
  for (const [k, c] of Object.entries(counts)) {
    summary.appendChild(el("span", `${I18N.t("kind." + k)}: ${c.online}/${c.online + c.offline + c.unknown} ${I18N.t("state.online")}`, "pill"));
  }
  fillKinds(Object.keys(counts));
  fillTargets();
  if (selected) renderFields();
}

function fillKinds(kinds) {
  const sel = $("filter-kind");
  const have = new Set([...sel.options].map(o => o.value));
  for (const k of kinds.sort()) if (!have.has(k)) sel.add(new Option(I18N.t("kind." + k), k));
}

function fillTargets() {
  const sel = $("group-target");
  const wanted = [];
  const kinds = new Set([...devices.values()].map(d => d.kind));
  for (const k of ["headset", "ar_device", "tablet", ...[...kinds].sort()]) {
    if (kinds.has(k) && !wanted.some(w => w.value === `kind:${k}`)) wanted.push({ value: `kind:${k}`, label: I18N.t("fleet.target.kind", { kind: I18N.t("kind." + k) }) });
  }
  for (const g of [...new Set([...devices.values()].map(d => d.group).filter(Boolean))].sort()) {
    wanted.push({ value: `group:${g}`, label: I18N.t("fleet.target.group", { group: g }) });
  }
  if (sel.options.length === wanted.length) return;
  const current = sel.value;
  sel.replaceChildren(...wanted.map(w => new Option(w.label, w.value)));
  if (wanted.some(w => w.value === current)) sel.value = current;
  fillGroupCommands();
}

// --- one device ---------------------------------------------------------------------------

function select(id) {
  selected = id;
  const d = devices.get(id);
  $("device-title").textContent = I18N.t("tech.device.title", { id });
  $("device-detail").hidden = false;
  const cmd = $("device-command");
  cmd.replaceChildren(...commandsOf(d.kind).map(c => new Option(I18N.t("fleet.cmd." + c), c)));
  cmd.dispatchEvent(new Event("change"));
  $("device-result").replaceChildren();
  showKitStats(d);
  render();
  loadChart(id);
}

// A USB kit answers `stats` with its counters and the hub's end of the line: shown side by side.
function showKitStats(d) {
  $("kit-stats-box").hidden = !((d.extra || {}).commands || []).includes("stats");
  $("kit-stats-table").tBodies[0].replaceChildren();
}

async function readKitStats(event) {
  const button = event.currentTarget, body = $("kit-stats-table").tBodies[0];
  button.disabled = true;
  try {
    const r = await post(`/api/devices/${encodeURIComponent(selected)}/command`, { name: "stats", args: {} });
    if (r.outcome !== "ok") throw new Error(r.error || I18N.t("fleet.outcome." + r.outcome));
    const board = r.result.board || {}, hub = r.result.host || {};
    body.replaceChildren(...[...new Set([...Object.keys(board), ...Object.keys(hub)])].map(key => {
      const tr = el("tr");
      tr.dataset.counter = key;
      tr.append(el("td", key), cell(board[key]), cell(hub[key]));
      return tr;
    }));
  } catch (err) {
    const tr = el("tr");
    tr.append(el("td", I18N.t("fleet.error", { error: err.message })));
    body.replaceChildren(tr);
  } finally { button.disabled = false; }
}

function renderFields() {
  const d = devices.get(selected);
  if (!d) return;
  const rows = [
    ["tech.col.kind", I18N.t("kind." + d.kind)], ["tech.col.state", I18N.t("state." + d.state)],
    ["tech.col.battery", battery(d)], ["tech.col.last_seen", I18N.ago(d.last_seen)],
    ["tech.col.firmware", d.firmware], ["tech.col.error", reasonText(d.last_error)],
  ];
  for (const [k, v] of Object.entries(d.extra || {})) rows.push([null, fieldValue(k, v), fieldName(k)]);
  $("device-fields").replaceChildren(...rows.flatMap(([key, value, raw]) => [el("dt", raw || I18N.t(key)), el("dd", value ?? "–")]));
}

// A device's own fields (its status's extra keys): named and valued from the catalogue where it
// knows them ("tech.field.storage_free_mb", "tech.value.app.home", a command's name); a field
// the catalogue does not know yet is shown as the device sent it.
function fieldName(key) {
  return I18N.strings["tech.field." + key] ? I18N.t("tech.field." + key) : key;
}
function fieldValue(key, value) {
  if (value == null) return null;
  if (typeof value === "boolean") return I18N.t(value ? "tech.value.yes" : "tech.value.no");
  if (Array.isArray(value)) return value.map(v => fieldValue(key, v)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  for (const k of [`tech.value.${key}.${text}`, "fleet.cmd." + text]) if (I18N.strings[k]) return I18N.t(k);
  return text;
}

// Why a device is offline or an alarm was raised: the hub's reasons it has words for ("last will"),
// otherwise the device's or the hub's own text, which names what failed.
function reasonText(text) {
  if (!text) return text;
  const key = "tech.reason." + text.replace(/ /g, "_");
  return I18N.strings[key] ? I18N.t(key) : text;
}

async function loadChart(id) {
  const box = $("device-chart");
  try {
    const h = await api(`/api/devices/${encodeURIComponent(id)}/history?hours=24`);
    if (selected === id) box.replaceChildren(chart(h));
  } catch (err) {
    box.textContent = I18N.t("fleet.error", { error: err.message });
  }
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

// Online state as a coloured band, battery as a line: 24 hours, newest on the right.
function chart(h) {
  const W = 720, H = 170, L = 40, R = 10, BAND = 18, TOP = 34, BOTTOM = 150;
  const x = ts => L + (W - L - R) * (ts - h.since) / (h.until - h.since);
  const y = pct => BOTTOM - (BOTTOM - TOP) * pct / 100;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": I18N.t("tech.device.chart") });
  const colours = { online: "#137333", offline: "#b3261e", unknown: "#c4c7cc" };
  let state = h.state_before || "unknown", from = h.since;
  const bands = svg("g", { class: "states" });
  for (const [ts, next] of [...h.states, [h.until, null]]) {
    if (ts > from) bands.appendChild(svg("rect", { x: x(from), y: 8, width: Math.max(1, x(ts) - x(from)), height: BAND, fill: colours[state] || colours.unknown, "data-state": state }, null));
    if (next) { state = next; from = ts; }
  }
  root.appendChild(bands);
  for (const pct of [0, 50, 100]) {
    root.appendChild(svg("line", { x1: L, x2: W - R, y1: y(pct), y2: y(pct), stroke: "#d9dde3" }));
    root.appendChild(svg("text", { x: L - 6, y: y(pct) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6470" }, `${pct}%`));
  }
  for (const hoursAgo of [24, 18, 12, 6, 0]) {
    const ts = h.until - hoursAgo * 3600;
    root.appendChild(svg("text", { x: x(ts), y: H - 4, "text-anchor": "middle", "font-size": 11, fill: "#5b6470" }, hoursAgo ? `-${hoursAgo} h` : I18N.t("tech.chart.now")));
  }
  if (h.battery.length) {
    const points = h.battery.map(([ts, pct]) => `${x(ts).toFixed(1)},${y(pct).toFixed(1)}`);
    if (h.battery.length === 1) points.push(`${x(h.until).toFixed(1)},${y(h.battery[0][1]).toFixed(1)}`);
    root.appendChild(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#0b57d0", "stroke-width": 2, class: "battery" }));
  } else {
    root.appendChild(svg("text", { x: W / 2, y: (TOP + BOTTOM) / 2, "text-anchor": "middle", fill: "#5b6470" }, I18N.t("tech.chart.no_battery")));
  }
  return root;
}

async function sendOne(event) {
  event.preventDefault();
  const button = event.submitter || $("device-form").querySelector("button");
  const out = $("device-result");
  let args;
  try { args = JSON.parse($("device-args").value || "{}"); } catch { out.textContent = I18N.t("tech.args.invalid"); return; }
  button.disabled = true;
  out.textContent = I18N.t("fleet.sending");
  try {
    const r = await post(`/api/devices/${encodeURIComponent(selected)}/command`, { name: $("device-command").value, args });
    out.replaceChildren(el("div", `${I18N.t("fleet.outcome." + r.outcome)}${r.latency_ms != null ? ` (${r.latency_ms} ms)` : ""}`, `summary outcome-${r.outcome}`),
      el("pre", r.error || JSON.stringify(r.result, null, 1)));
  } catch (err) {
    out.textContent = I18N.t("fleet.error", { error: err.message });
  } finally { button.disabled = false; }
}

// --- group commands -----------------------------------------------------------------------

function fillGroupCommands() {
  const [by, value] = $("group-target").value.split(/:(.*)/s);
  // A group of devices: the commands of the kinds in it.
  const kinds = by === "kind" ? [value] : [...new Set([...devices.values()].filter(d => d.group === value).map(d => d.kind))];
  const commands = [...new Set(kinds.flatMap(commandsOf))];
  const sel = $("group-command");
  const current = sel.value;
  sel.replaceChildren(...commands.map(c => new Option(I18N.t("fleet.cmd." + c), c)));
  if (commands.includes(current)) sel.value = current;
  showArgs();
}

function showArgs() {
  const cmd = $("group-command").value;
  document.querySelectorAll("#group-form .arg").forEach(a => a.classList.toggle("shown", a.classList.contains("arg-" + cmd)));
  guardScene();
}

// "Mở cảnh" names a scene of the hub's library, or it is not sent (the hub refuses it too):
// without one every headset would refuse it, each with an alarm.
function guardScene() {
  const scene = $("group-scene").value.trim();
  const missing = ["launch_scene", "fetch_scene"].includes($("group-command").value) && ![...$("scene-list").options].some(o => o.value === scene);
  $("group-form").querySelector("button").disabled = missing;
  $("group-scene-hint").textContent = missing ? I18N.t(scene ? "fleet.scene.unknown" : "fleet.scene.required") : "";
}

function groupArgs(cmd) {
  if (cmd === "launch_scene" || cmd === "fetch_scene") {
    const scene = $("group-scene").value.trim();
    return { content_id: scene };  // the library's scene carries its hash; each headset gets its own address
  }
  if (cmd === "eyes_on_me") return { on: true, message: $("group-message").value };
  if (cmd === "volume") return { level: Number($("group-level").value) };
  return {};
}

function detail(r) {
  if (r.outcome === "offline") return `${I18N.t("tech.col.last_seen")}: ${I18N.ago((devices.get(r.device_id) || {}).last_seen)}`;
  if (r.outcome === "unknown_device") return null;
  return r.error || (r.result && r.result.fetched ? I18N.t("fleet.fetched") : null);
}

function summaryText(g) {
  const done = I18N.strings["fleet.done." + g.command] ? I18N.t("fleet.done." + g.command) : I18N.t("fleet.done.other");
  const parts = [];
  for (const outcome of ["fetching", "offline", "no_reply", "failed", "unknown_device"]) {
    const ids = g.results.filter(r => r.outcome === outcome).map(r => r.device_id);
    if (ids.length) parts.push(`${ids.length} ${I18N.t("fleet.outcome." + outcome)}: ${ids.join(", ")}`);
  }
  return `${g.counts.ok}/${g.total} ${done}` + (parts.length ? `, ${parts.join("; ")}` : "");
}

async function sendGroup(event) {
  event.preventDefault();
  const button = $("group-form").querySelector("button");
  const out = $("group-result");
  const [by, value] = $("group-target").value.split(/:(.*)/s);
  const cmd = $("group-command").value;
  button.disabled = true;
  out.textContent = I18N.t("fleet.sending");
  try {
    const g = await post("/api/fleet/command", { target: { [by]: value }, name: cmd, args: groupArgs(cmd) });
    const table = el("table", null, "results");
    table.appendChild(el("thead")).appendChild(el("tr")).append(
      el("th", I18N.t("fleet.col.device")), el("th", I18N.t("fleet.col.outcome")), el("th", I18N.t("fleet.col.latency")), el("th", I18N.t("fleet.col.detail")));
    const body = table.appendChild(el("tbody"));
    const order = { failed: 0, no_reply: 1, offline: 2, unknown_device: 3, fetching: 4, ok: 5 };
    for (const r of [...g.results].sort((a, b) => order[a.outcome] - order[b.outcome] || byId(a.device_id, b.device_id))) {
      const tr = body.appendChild(el("tr"));
      tr.dataset.device = r.device_id;
      tr.append(cell(r.device_id), cell(I18N.t("fleet.outcome." + r.outcome), "outcome-" + r.outcome),
        cell(r.latency_ms == null ? null : `${r.latency_ms} ms`), cell(detail(r)));
    }
    const details = el("details");
    details.append(el("summary", I18N.t("fleet.per_device")), table);
    out.replaceChildren(el("div", summaryText(g), "summary"), details);
  } catch (err) {
    out.textContent = I18N.t("fleet.error", { error: err.message });
  } finally { button.disabled = false; }
}

async function loadScenes() {
  try {
    const body = await api("/api/scenes");
    $("scene-list").replaceChildren(...body.scenes.map(s => new Option((s.titles && s.titles[I18N.lang]) || s.title, s.content_id)));
    guardScene();
  } catch { /* the list is a convenience: a scene id can still be typed */ }
}

// --- alarms -------------------------------------------------------------------------------

// A lab's alarm says how severe it is ("Chú ý: pH dưới 6"); a device's is always an alarm.
function alarmKind(a) { return a.source === "lab" ? `${AlarmText.severity(a)}: ${AlarmText.kind(a)}` : AlarmText.kind(a); }

function renderAlarms() {
  const body = document.querySelector("#alarms tbody");
  body.replaceChildren();
  const active = [...alarms.values()].sort((a, b) => b.raised_at - a.raised_at);
  for (const a of active) {
    const tr = el("tr", null, (a.acknowledged_at ? "acknowledged " : "") + "sev-" + a.severity);
    tr.dataset.alarm = a.id;
    tr.dataset.kind = a.kind;
    tr.dataset.device = a.device_id;
    tr.dataset.source = a.source;
    const ack = el("td");
    if (a.acknowledged_at) ack.textContent = I18N.t("alarm.acknowledged_by", { user: a.acknowledged_by });
    else {
      const b = el("button", I18N.t("alarm.acknowledge"), "ack");
      b.addEventListener("click", () => acknowledge(a.id, b));
      ack.appendChild(b);
    }
    tr.append(cell(AlarmText.where(a)), cell(alarmKind(a)), cell(reasonText(a.detail)), cell(I18N.ago(a.raised_at)), ack);
    body.appendChild(tr);
  }
  const open = active.filter(a => !a.acknowledged_at).length;
  $("alarm-count").textContent = open ? String(open) : "";
  $("alarms-none").hidden = active.length > 0;
}

async function acknowledge(id, button) {
  button.disabled = true;
  try { alarms.set(id, await post(`/api/alarms/${encodeURIComponent(id)}/acknowledge`, {})); renderAlarms(); loadAlarmHistory(); }
  catch (err) { button.disabled = false; button.title = err.message; }
}

async function loadAlarmHistory() {
  if (!$("alarm-history-box").open) return;
  const body = await api("/api/alarms?limit=100");
  const tbody = document.querySelector("#alarm-history tbody");
  tbody.replaceChildren(...body.history.map(a => {
    const tr = el("tr");
    tr.dataset.alarm = a.id;
    tr.append(cell(AlarmText.where(a)), cell(alarmKind(a)), cell(reasonText(a.detail)), cell(time(a.raised_at)),
      cell(a.cleared_at ? time(a.cleared_at) : I18N.t("alarm.active")), cell(a.acknowledged_by));
    return tr;
  }));
}

// --- side panels --------------------------------------------------------------------------

async function loadSide() {
  const body = await api("/api/devices");
  $("unknown").textContent = body.unknown.map(u => `${u.device_id} (${u.messages})`).join(", ") || "–";
  const rej = await api("/api/rejections");
  $("rejection-counts").replaceChildren(...Object.entries(rej.by_reason).map(([reason, n]) => el("span", `${reason}: ${n}`, "pill")));
  document.querySelector("#rejections tbody").replaceChildren(...rej.recent.slice(0, 30).map(r => {
    const tr = el("tr");
    tr.append(cell(new Date(r.ts * 1000).toLocaleTimeString()), cell(r.reason), cell(r.source), cell(r.detail));
    return tr;
  }));
}

(async () => {
  await I18N.load();
  KINDS = (await api("/api/device-kinds")).kinds;
  $("filter-kind").addEventListener("change", render);
  $("filter-state").addEventListener("change", render);
  $("group-target").addEventListener("change", fillGroupCommands);
  $("group-command").addEventListener("change", showArgs);
  $("group-scene").addEventListener("input", guardScene);
  $("group-form").addEventListener("submit", sendGroup);
  $("device-form").addEventListener("submit", sendOne);
  $("kit-stats").addEventListener("click", readKitStats);
  $("device-command").addEventListener("change", () => {
    $("device-args").value = JSON.stringify(exampleOf((devices.get(selected) || {}).kind, $("device-command").value));
  });
  $("alarm-history-box").addEventListener("toggle", loadAlarmHistory);
  $("group-message").value = I18N.t("fleet.message.default");
  fillGroupCommands();
  live("/ws/devices", {
    onMessage: msg => {
      if (msg.type === "snapshot") { devices.clear(); msg.devices.forEach(d => devices.set(d.id, d)); }
      else if (msg.type === "device") devices.set(msg.device.id, msg.device);
      scheduleRender();
    },
    onOpen: () => { $("live").textContent = I18N.t("tech.live"); },
    onClose: () => { $("live").textContent = I18N.t("tech.reconnecting"); },
  });
  live("/ws/fleet", { onMessage: msg => {
    if (msg.type === "alarms") { alarms.clear(); msg.active.forEach(a => alarms.set(a.id, a)); }
    else if (msg.type === "alarm") { if (msg.alarm.active) alarms.set(msg.alarm.id, msg.alarm); else alarms.delete(msg.alarm.id); }
    renderAlarms();
    loadAlarmHistory();
  } });
  loadSide();
  loadScenes();
  PushPanel.start();  // tech_push.js
  DisplaysPanel.start();  // tech_displays.js
  setInterval(() => { render(); renderAlarms(); loadSide(); if (selected) loadChart(selected); }, 10000);  // "x s ago" ages
})();
