"use strict";
// The lab lead's page: kits with live sensors and outputs, alarms, calibration, limits and rules,
// robots (program, run, stop, console) and the EMERGENCY STOP. Live over /ws/lab; the
// experiments card is lab_runs.js. Everything is rendered from LAB.state.
const LAB = {
  state: { kits: [], alarms: [], robots: [], runs: [], sensors: {} },
  history: {},   // kit id -> sensor -> [[ts, value]] of the last 10 minutes, for the mini charts
  charts: {},    // kit id -> LabChart
  consoleRobot: null,
  onMessage: [], // lab_runs.js listens here
  onSnapshot: [],
  onReady: [],   // run once the strings are loaded
};

function time(ts) { return ts ? new Date(ts * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB") : "–"; }
function fmt(value, key) {
  if (value == null) return "–";
  const p = (LAB.state.sensors[key] || {}).precision;
  return p == null ? String(Math.round(value * 100) / 100) : Number(value).toFixed(p);
}
function sensorName(key) { return I18N.t("lab.sensor." + key); }

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("shown"), 4000);
}

async function act(call, done) {
  try { const out = await call(); if (done) toast(done); return out; } catch (err) { toast(err.message); return null; }
}

// --- live -----------------------------------------------------------------------------------

function connect() {
  live("/ws/lab", {
    onMessage: receive,
    onOpen: () => { $("live").textContent = I18N.t("lab.live"); },
    onClose: () => { $("live").textContent = I18N.t("lab.reconnecting"); },
  });
}

function upsert(list, item) {
  const i = list.findIndex(x => x.id === item.id);
  if (i >= 0) list[i] = item; else list.push(item);
}

function receive(m) {
  const s = LAB.state;
  if (m.type === "snapshot") {
    Object.assign(s, m);
    s.kits.forEach(remember);
    LAB.onSnapshot.forEach(f => f());
    renderAll();
  } else if (m.type === "kit") {
    upsert(s.kits, m.kit); remember(m.kit); renderKits();
  } else if (m.type === "alarm") {
    s.alarms = s.alarms.filter(a => a.id !== m.alarm.id);
    if (m.alarm.active) s.alarms.push(m.alarm);
    renderAlarms(); renderKits();
  } else if (m.type === "robot") {
    upsert(s.robots, m.robot); renderRobots();
  } else if (m.type === "console") {
    const robot = s.robots.find(r => r.id === m.robot_id);
    if (robot) { robot.console.push(m.detail); robot.console = robot.console.slice(-100); }
    renderConsole();
  } else if (m.type === "mission") {
    const robot = s.robots.find(r => r.id === m.robot_id);
    if (robot) robot.mission = m.detail.ended_at ? null : m.detail;
    renderRobots();
    if (m.detail.ended_at) toast(I18N.t(m.detail.success ? "lab.mission.success" : "lab.mission.failed", { robot: m.robot_id }));
  }
  LAB.onMessage.forEach(f => f(m));
}

function remember(kit) {
  const h = LAB.history[kit.id] = LAB.history[kit.id] || {};
  for (const [key, r] of Object.entries(kit.readings)) {
    const series = h[key] = h[key] || [];
    if (!series.length || series[series.length - 1][0] < r.ts) series.push([r.ts, r.value]);
    while (series.length && series[0][0] < r.ts - 600) series.shift();
  }
}

let queued = false;
function renderAll() { renderAlarms(); renderKits(); renderRobots(); renderConsole(); fillKitSelects(); }
function later(fn) {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => { queued = false; fn(); });
}

// --- alarms ---------------------------------------------------------------------------------

// The words are the technician page's too (alarm_text.js): one alarm service lists them both.
function alarmText(a) { return a.sensor ? AlarmText.kind(a) : `${AlarmText.kind(a)} — ${a.detail}`; }

function renderAlarms() {
  const body = document.querySelector("#alarms tbody");
  body.replaceChildren();
  const alarms = LAB.state.alarms;
  $("alarm-count").textContent = alarms.length || "";
  $("alarms-none").hidden = alarms.length > 0;
  for (const a of alarms) {
    const tr = el("tr", null, a.acknowledged_at ? "acknowledged" : "");
    tr.append(el("td", a.device_id), el("td", AlarmText.severity(a), "sev-" + a.severity),
              el("td", alarmText(a)), el("td", a.value == null ? "–" : fmt(a.value, a.sensor)), el("td", time(a.raised_at)));
    const ack = el("td");
    if (a.acknowledged_at) ack.textContent = `${a.acknowledged_by} · ${time(a.acknowledged_at)}`;
    else {
      const b = el("button", I18N.t("lab.acknowledge"), "ack");
      b.onclick = () => act(() => api(`/api/lab/alarms/${a.id}/acknowledge`, { method: "POST" }));
      ack.append(b);
    }
    tr.append(ack);
    body.append(tr);
  }
}

// --- kits -----------------------------------------------------------------------------------

function renderKits() { later(drawKits); }
function drawKits() {
  const box = $("kits");
  for (const kit of LAB.state.kits) {
    let card = document.getElementById("kit-" + kit.id);
    if (!card) {
      card = el("section", null, "card kit-card");
      card.id = "kit-" + kit.id;
      card.innerHTML = `<div class="kit-head"><h2></h2><span class="state"></span><span class="muted fw"></span></div>
        <div class="tiles"></div><div class="outputs"></div>
        <div class="controls"><label><span>${I18N.t("lab.sensor")}</span><select class="mini-sensor"></select></label></div>
        <canvas class="chart-canvas mini-chart"></canvas>`;
      box.append(card);
      const select = card.querySelector(".mini-sensor");
      for (const key of kit.sensors) select.append(new Option(sensorName(key), key));
      select.onchange = () => drawKits();
      LAB.charts[kit.id] = new LabChart(card.querySelector("canvas"), { xLabel: I18N.t("lab.minutes_ago"), empty: () => I18N.t("lab.no_data") });
    }
    card.querySelector("h2").textContent = `${kit.name || kit.id} (${kit.id})`;
    const state = card.querySelector(".state");
    state.textContent = I18N.t("state." + kit.state);
    state.className = "state state-" + kit.state;
    card.querySelector(".fw").textContent = kit.firmware ? `${I18N.t("lab.firmware")} ${kit.firmware}` : "";
    const tiles = card.querySelector(".tiles");
    tiles.replaceChildren();
    for (const key of kit.sensors) {
      const r = kit.readings[key];
      const alarm = LAB.state.alarms.filter(a => a.device_id === kit.id && a.sensor === key)
        .sort((a, b) => (b.severity === "alarm") - (a.severity === "alarm"))[0];
      const tile = el("div", null, "tile" + (alarm ? " " + alarm.severity : ""));
      tile.dataset.sensor = key;
      const value = el("div", r ? fmt(r.value, key) : "–", "value");
      value.append(el("span", r ? r.unit : "", "unit"));
      tile.append(el("div", sensorName(key), "name"), value);
      if (r && r.flag) tile.append(el("div", I18N.t("lab.flag." + r.flag), "flag"));
      tiles.append(tile);
    }
    const outputs = card.querySelector(".outputs");
    outputs.replaceChildren();
    if (kit.output_device) {
      for (const out of ["pump", "aerator", "lights"]) {
        const on = kit.outputs[out] === true;
        const b = el("button", `${I18N.t("lab.output." + out)}: ${I18N.t(on ? "lab.on" : "lab.off")}`, on ? "on" : "");
        b.dataset.output = out;
        b.onclick = () => act(() => api(`/api/lab/kits/${kit.id}/outputs`, { method: "POST", body: { output: out, on: !on } }));
        outputs.append(b);
      }
      const feed = el("button", `${I18N.t("lab.feed")} (${kit.fed_today}/${kit.rules.feeds_per_day})`);
      feed.onclick = () => act(() => api(`/api/lab/kits/${kit.id}/feed`, { method: "POST", body: { portions: 1 } }), I18N.t("lab.fed"));
      outputs.append(feed);
    } else {
      outputs.append(el("span", I18N.t("lab.no_outputs"), "muted"));
    }
    if (kit.safety.pump_interlock) outputs.append(el("span", I18N.t("lab.safety.pump_interlock"), "pill warn"));
    if (kit.safety.aerator_forced) outputs.append(el("span", I18N.t("lab.safety.aerator_forced"), "pill warn"));
    const key = card.querySelector(".mini-sensor").value;
    const series = ((LAB.history[kit.id] || {})[key] || []);
    const now = Date.now() / 1000;
    LAB.charts[kit.id].set({ series: [{ label: sensorName(key), points: series.map(([ts, v]) => [+((ts - now) / 60).toFixed(2), v]) }],
                             unit: (LAB.state.sensors[key] || {}).unit || "" });
  }
}

function fillKitSelects() {
  for (const select of document.querySelectorAll(".kit-select")) {
    const value = select.value;
    select.replaceChildren(...LAB.state.kits.map(k => new Option(k.name ? `${k.name} (${k.id})` : k.id, k.id)));
    if (value) select.value = value;
  }
  const robots = $("program-robot");
  const chosen = robots.value;
  robots.replaceChildren(...LAB.state.robots.map(r => new Option(r.id, r.id)));
  if (chosen) robots.value = chosen;
  renderCalibrationFields(); renderLimits(); loadCalibrations();
}

// --- calibration ----------------------------------------------------------------------------

const CAL_FIELDS = {
  ph_2pt: ["raw1", "ref1", "raw2", "ref2"], ph_3pt: ["raw1", "ref1", "raw2", "ref2", "raw3", "ref3"],
  ec_1pt: ["raw", "reference"], do_1pt: ["raw", "temperature_c", "pressure_kpa"],
  do_2pt: ["raw", "raw_zero", "temperature_c", "pressure_kpa"],
};
const CAL_DEFAULTS = { ref1: 4.0, ref2: 7.0, ref3: 10.0, reference: 1.413, pressure_kpa: 101.325, temperature_c: 25 };

function renderCalibrationFields() {
  const method = $("cal-method").value;
  const box = $("cal-fields");
  box.replaceChildren();
  const kit = LAB.state.kits.find(k => k.id === $("cal-kit").value);
  const sensor = method.split("_")[0];
  for (const name of CAL_FIELDS[method]) {
    const label = el("label");
    label.append(el("span", I18N.t("lab.cal." + name.replace(/[0-9]$/, "")) + (/[0-9]$/.test(name) ? " " + name.slice(-1) : "")));
    const input = el("input");
    input.type = "number"; input.step = "any"; input.name = name; input.required = true;
    if (CAL_DEFAULTS[name] != null) input.value = CAL_DEFAULTS[name];
    label.append(input);
    if (name.startsWith("raw") && kit) {
      const use = el("button", I18N.t("lab.cal.use_now"));
      use.type = "button";
      use.onclick = () => { const r = kit.readings[sensor]; if (r) input.value = r.raw; };
      label.append(use);
    }
    box.append(label);
  }
}

function calibrationBody() {
  const method = $("cal-method").value;
  const v = name => Number($("cal-fields").querySelector(`[name=${name}]`).value);
  const data = { note: $("cal-note").value };
  if (method.startsWith("ph")) {
    const n = method === "ph_2pt" ? 2 : 3;
    data.points = [...Array(n).keys()].map(i => ({ raw: v("raw" + (i + 1)), reference: v("ref" + (i + 1)) }));
  } else if (method === "ec_1pt") { data.raw = v("raw"); data.reference = v("reference"); }
  else {
    data.raw = v("raw"); data.temperature_c = v("temperature_c"); data.pressure_kpa = v("pressure_kpa");
    if (method === "do_2pt") data.raw_zero = v("raw_zero");
  }
  return { sensor: method.split("_")[0], method, data };
}

async function loadCalibrations() {
  const body = document.querySelector("#calibrations tbody");
  const rows = [];
  for (const kit of LAB.state.kits) {
    const out = await act(() => api(`/api/lab/kits/${kit.id}/calibrations`));
    for (const c of (out ? out.calibrations : [])) rows.push(c);
  }
  body.replaceChildren(...rows.map(c => {
    const tr = el("tr");
    const quality = c.quality.slope_pct ? `${c.quality.slope_pct.join(" / ")} %` : c.quality.factor ? `× ${c.quality.factor}`
      : c.quality.saturation_mg_l ? `${c.quality.saturation_mg_l} mg/L` : "";
    tr.append(el("td", c.kit_id), el("td", sensorName(c.sensor)), el("td", I18N.t("lab.method." + c.method)),
              el("td", time(c.performed_at)), el("td", c.performed_by),
              el("td", time(c.due_at), c.due_at < Date.now() / 1000 ? "low" : ""), el("td", quality));
    return tr;
  }));
}

// --- limits and rules -----------------------------------------------------------------------

const LIMIT_FIELDS = ["warn_low", "warn_high", "alarm_low", "alarm_high", "change", "change_window_h", "hysteresis", "delay_s"];
const RULE_FIELDS = ["low_level_pct", "level_ok_pct", "do_low_mg_l", "do_ok_mg_l", "lights_schedule", "lights_on", "lights_off",
                     "feeds_per_day", "command_timeout_s"];

function renderLimits() {
  const kit = LAB.state.kits.find(k => k.id === $("limits-kit").value);
  const body = document.querySelector("#limits tbody");
  body.replaceChildren();
  if (!kit) return;
  for (const key of kit.sensors.filter(k => k !== "tds")) {
    const limit = kit.limits[key] || {};
    const tr = el("tr");
    tr.dataset.sensor = key;
    tr.append(el("td", sensorName(key)));
    for (const f of LIMIT_FIELDS) {
      const input = el("input");
      input.type = "number"; input.step = "any"; input.name = f; input.style.width = "5.5rem";
      const v = f === "change_window_h" ? (limit.change_window_s == null ? 12 : limit.change_window_s / 3600) : limit[f];
      input.value = v == null ? "" : v;
      const td = el("td"); td.append(input); tr.append(td);
    }
    body.append(tr);
  }
  const rules = $("rules");
  rules.replaceChildren();
  for (const f of RULE_FIELDS) {
    const label = el("label");
    label.append(el("span", I18N.t("lab.rule." + f)));
    const input = el("input");
    input.name = f;
    if (f === "lights_schedule") { input.type = "checkbox"; input.checked = kit.rules[f]; }
    else if (f.startsWith("lights_")) { input.value = kit.rules[f]; input.pattern = "[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?"; }
    else { input.type = "number"; input.step = "any"; input.value = kit.rules[f]; }
    label.append(input);
    rules.append(label);
  }
}

async function saveLimits() {
  const kitId = $("limits-kit").value;
  const limits = {};
  for (const tr of document.querySelectorAll("#limits tbody tr")) {
    const item = {};
    for (const input of tr.querySelectorAll("input")) {
      if (input.value === "") continue;
      if (input.name === "change_window_h") item.change_window_s = Number(input.value) * 3600;
      else item[input.name] = Number(input.value);
    }
    if (Object.keys(item).some(k => ["warn_low", "warn_high", "alarm_low", "alarm_high", "change"].includes(k))) limits[tr.dataset.sensor] = item;
  }
  const rules = {};
  for (const input of $("rules").querySelectorAll("input")) {
    rules[input.name] = input.type === "checkbox" ? input.checked : input.type === "number" ? Number(input.value) : input.value;
  }
  await act(() => api(`/api/lab/kits/${kitId}/settings`, { method: "PUT", body: { limits, rules } }), I18N.t("lab.saved"));
}

// --- robots ---------------------------------------------------------------------------------

function renderRobots() { later(drawRobots); }
// The colour a robot's sensor sees, as the firmware names it ("green"), in the reader's words.
function colourName(colour) {
  if (!colour) return "–";
  return I18N.strings["lab.colour." + colour] ? I18N.t("lab.colour." + colour) : colour;
}
function drawRobots() {
  const body = document.querySelector("#robots tbody");
  body.replaceChildren();
  for (const r of LAB.state.robots) {
    const v = r.values || {};
    const tr = el("tr");
    tr.dataset.robot = r.id;
    tr.append(el("td", r.name ? `${r.id} · ${r.name}` : r.id), el("td", I18N.t("state." + r.state), "state-" + r.state),
              el("td", r.battery == null ? "–" : `${Math.round(r.battery)} %`, r.battery != null && r.battery < 20 ? "low" : ""),
              el("td", r.firmware || "–"), el("td", v.motor_l == null ? "–" : `${v.motor_l} / ${v.motor_r}`),
              el("td", v.distance == null ? "–" : `${v.distance.toFixed(1)} cm`), el("td", colourName((r.text || {}).colour)),
              el("td", v.estop ? I18N.t("lab.estop.latched") : "–", v.estop ? "low" : ""),
              el("td", r.mission ? `${r.mission.name}` : "–"));
    const buttons = el("td");
    for (const [label, path] of [["lab.robot.stop", "stop"], ["lab.robot.reset", "reset"]]) {
      const b = el("button", I18N.t(label));
      b.onclick = () => act(() => api(`/api/lab/robots/${r.id}/${path}`, { method: "POST" }));
      buttons.append(b);
    }
    const show = el("button", I18N.t("lab.console"));
    show.onclick = () => { LAB.consoleRobot = r.id; renderConsole(); };
    buttons.append(show);
    tr.append(buttons);
    body.append(tr);
  }
}

function renderConsole() {
  const robot = LAB.state.robots.find(r => r.id === LAB.consoleRobot) || LAB.state.robots[0];
  $("console").textContent = robot ? robot.console.map(([ts, line]) => `${new Date(ts * 1000).toLocaleTimeString()} ${robot.id}: ${line}`).join("\n") : "";
  $("console").scrollTop = $("console").scrollHeight;
}

async function estop() {
  const button = $("estop");
  button.disabled = true;
  const out = await act(() => api("/api/lab/estop", { method: "POST" }));
  button.disabled = false;
  if (!out) return;
  const box = $("estop-result");
  box.hidden = false;
  box.className = "card estop-result" + (out.all_stopped ? " ok" : "");
  box.textContent = I18N.t(out.all_stopped ? "lab.estop.all_stopped" : "lab.estop.not_all", { n: out.results.length }) + " " +
    out.results.filter(r => !r.ok).map(r => `${r.robot_id}: ${r.detail}`).join("; ");
}

document.addEventListener("DOMContentLoaded", async () => {
  await I18N.load();
  LAB.onReady.forEach(f => f());
  $("estop").onclick = estop;
  $("cal-method").onchange = renderCalibrationFields;
  $("cal-kit").onchange = renderCalibrationFields;
  $("limits-kit").onchange = renderLimits;
  $("limits-save").onclick = saveLimits;
  $("cal-form").onsubmit = async e => {
    e.preventDefault();
    if (await act(() => api(`/api/lab/kits/${$("cal-kit").value}/calibrations`, { method: "POST", body: calibrationBody() }),
                  I18N.t("lab.calibrated"))) loadCalibrations();
  };
  $("program-form").onsubmit = e => {
    e.preventDefault();
    act(() => api(`/api/lab/robots/${$("program-robot").value}/program`, { method: "POST",
      body: { slot: Number($("program-slot").value), program: $("program-text").value } }), I18N.t("lab.program.uploaded"));
  };
  $("program-run").onclick = () => act(() => api(`/api/lab/robots/${$("program-robot").value}/run`, { method: "POST",
    body: { slot: Number($("program-slot").value), name: $("program-name").value } }));
  connect();
});
