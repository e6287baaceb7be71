"use strict";
// The experiments card of the lab page: start a run (by hand or on a condition, with a pre-trigger
// buffer), watch it live, overlay runs, pick a range for statistics and a linear fit, annotate,
// share with the tablets, download CSV. Uses common.js ($, el, api) and lab.js (LAB, act, ...).
const RUNS = {
  loaded: new Map(),   // run id -> run with samples [[t, v1, v2...]]
  overlay: new Set(),  // run ids drawn together
  current: null,       // the run the controls act on
  chart: null,
  stats: null,
};

function runSources() {
  const kits = LAB.state.kits.map(k => ({ id: k.id, label: k.name ? `${k.name} (${k.id})` : k.id, sensors: k.sensors }));
  const robots = LAB.state.robots.map(r => ({ id: r.id, label: r.id, sensors: ["distance", "line", "motor_l", "motor_r", "battery"] }));
  return kits.concat(robots);
}

function fillRunForm() {
  const select = $("run-kit");
  const chosen = select.value;
  select.replaceChildren(...runSources().map(s => new Option(s.label, s.id)));
  if (chosen) select.value = chosen;
  fillSensorBoxes();
}

function fillSensorBoxes() {
  const source = runSources().find(s => s.id === $("run-kit").value);
  const box = $("run-sensors");
  box.querySelectorAll("label").forEach(l => l.remove());
  for (const key of (source ? source.sensors : [])) {
    const label = el("label");
    const input = el("input");
    input.type = "checkbox"; input.value = key; input.checked = key === "ph" || key === "distance";
    label.append(input, el("span", sensorName(key)));
    box.append(label);
  }
}

async function startRun(e) {
  e.preventDefault();
  const number = id => ($(id).value === "" ? null : Number($(id).value));
  const body = {
    name: $("run-name").value, kit_id: $("run-kit").value, sample_rate_hz: Number($("run-rate").value),
    sensors: [...$("run-sensors").querySelectorAll("input:checked")].map(i => i.value),
    start_condition: $("run-start").value.trim() || null, pretrigger_s: number("run-pretrigger") || 0,
    duration_s: number("run-duration") || null, stop_condition: $("run-stop").value.trim() || null,
  };
  const run = await act(() => api("/api/lab/runs", { method: "POST", body }));
  if (run) choose(run.id, true);  // loads it with whatever samples it has already (a pre-trigger start)
}

function renderRuns() {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren();
  const runs = [...LAB.state.runs].sort((a, b) => b.created_at - a.created_at);
  for (const run of runs) {
    const tr = el("tr", null, run.id === RUNS.current ? "selected" : "");
    tr.dataset.run = run.id;
    const overlay = el("input");
    overlay.type = "checkbox"; overlay.checked = RUNS.overlay.has(run.id);
    overlay.onchange = async () => {
      if (overlay.checked) { RUNS.overlay.add(run.id); await load(run.id); } else RUNS.overlay.delete(run.id);
      drawRun();
    };
    const pick = el("td"); pick.append(overlay);
    const name = el("td", run.name);
    name.style.cursor = "pointer";
    name.onclick = () => choose(run.id, true);
    tr.append(pick, name, el("td", run.kit_id), el("td", I18N.t("lab.run.state." + run.state) + (run.shared ? " · " + I18N.t("lab.run.shared") : "")),
              el("td", String(run.sample_count)), el("td", run.created_by));
    const buttons = el("td");
    const button = (label, fn) => { const b = el("button", I18N.t(label)); b.type = "button"; b.onclick = fn; buttons.append(b); };
    if (run.state === "armed") button("lab.run.trigger", () => act(() => api(`/api/lab/runs/${run.id}/trigger`, { method: "POST" })));
    if (run.state !== "stopped") button("lab.run.end", () => act(() => api(`/api/lab/runs/${run.id}/stop`, { method: "POST" })));
    button(run.shared ? "lab.run.unshare" : "lab.run.share",
           () => act(() => api(`/api/lab/runs/${run.id}/share`, { method: "POST", body: { shared: !run.shared } })));
    const csv = el("a", "CSV");
    csv.href = `/api/lab/runs/${run.id}/csv`;
    buttons.append(csv);
    tr.append(buttons);
    body.append(tr);
  }
}

async function load(runId) {
  if (!RUNS.loaded.has(runId)) {
    const run = await act(() => api(`/api/lab/runs/${runId}`));
    if (run) RUNS.loaded.set(runId, run);
  }
  return RUNS.loaded.get(runId);
}

async function choose(runId, overlayToo) {
  RUNS.current = runId;
  if (overlayToo) RUNS.overlay.add(runId);
  const run = await load(runId);
  if (!run) return;
  const select = $("chart-sensor");
  const chosen = select.value;
  select.replaceChildren(...run.sensors.map(k => new Option(sensorName(k), k)));
  if (run.sensors.includes(chosen)) select.value = chosen;
  RUNS.stats = null;
  renderRuns(); drawRun();
}

function drawRun() {
  const key = $("chart-sensor").value;
  const series = [];
  for (const id of RUNS.overlay) {
    const run = RUNS.loaded.get(id);
    if (!run || !run.sensors.includes(key)) continue;
    const i = run.sensors.indexOf(key) + 1;
    series.push({ label: run.name, points: (run.samples || []).map(s => [s[0], s[i]]) });
  }
  const current = RUNS.loaded.get(RUNS.current);
  const from = $("range-from").value === "" ? null : Number($("range-from").value);
  const to = $("range-to").value === "" ? null : Number($("range-to").value);
  const fitStats = RUNS.stats && RUNS.stats.stats[key];
  RUNS.chart.set({
    series, unit: (LAB.state.sensors[key] || {}).unit || "",
    notes: current ? (current.annotations || []) : [],
    range: from != null && to != null ? [from, to] : null,
    fit: fitStats && fitStats.slope != null ? { slope: fitStats.slope, intercept: fitStats.intercept,
                                                from: RUNS.stats.from ?? 0, to: RUNS.stats.to ?? lastT(current) } : null,
  });
}

function lastT(run) { return run && run.samples && run.samples.length ? run.samples[run.samples.length - 1][0] : 1; }

async function showStats() {
  if (!RUNS.current) return;
  const query = new URLSearchParams();
  if ($("range-from").value !== "") query.set("from", $("range-from").value);
  if ($("range-to").value !== "") query.set("to", $("range-to").value);
  const out = await act(() => api(`/api/lab/runs/${RUNS.current}/stats?${query}`));
  if (!out) return;
  RUNS.stats = out;
  const table = el("table");
  const head = el("tr");
  for (const h of ["lab.sensor", "lab.stats.n", "lab.stats.min", "lab.stats.max", "lab.stats.mean", "lab.stats.slope", "lab.stats.r2"]) {
    head.append(el("th", I18N.t(h)));
  }
  table.append(head);
  for (const [key, s] of Object.entries(out.stats)) {
    const tr = el("tr");
    tr.dataset.sensor = key;
    const n = v => (v == null ? "–" : Number(v).toPrecision(4));
    tr.append(el("td", sensorName(key)), el("td", String(s.n)), el("td", n(s.min)), el("td", n(s.max)), el("td", n(s.mean)),
              el("td", s.slope == null ? "–" : `${n(s.slope)} /s`), el("td", n(s.r2)));
    table.append(tr);
  }
  $("stats").replaceChildren(table);
  drawRun();
}

LAB.onSnapshot.push(() => {
  fillRunForm();
  for (const run of LAB.state.runs) {
    const known = RUNS.loaded.get(run.id);
    if (known) Object.assign(known, run);
  }
  renderRuns();
});

LAB.onMessage.push(m => {
  if (m.type === "run") {
    upsert(LAB.state.runs, m.run);
    const known = RUNS.loaded.get(m.run.id);
    if (known) Object.assign(known, { ...m.run, samples: known.samples, annotations: known.annotations });
    renderRuns(); drawRun();
  } else if (m.type === "sample") {
    const run = RUNS.loaded.get(m.run_id);
    if (run) { run.samples.push([m.t, ...m.values]); if (RUNS.overlay.has(m.run_id)) drawRun(); }
    const listed = LAB.state.runs.find(r => r.id === m.run_id);
    if (listed) { listed.sample_count += 1; later(renderRuns); }
  } else if (m.type === "annotation") {
    const run = RUNS.loaded.get(m.run_id);
    if (run) { run.annotations = (run.annotations || []).concat([m.annotation]); drawRun(); }
  }
});

LAB.onReady.push(() => {
  RUNS.chart = new LabChart($("run-chart"), { empty: () => I18N.t("lab.no_data") });
  $("run-form").onsubmit = startRun;
  $("run-kit").onchange = fillSensorBoxes;
  $("chart-sensor").onchange = drawRun;
  $("stats-button").onclick = showStats;
  $("range-from").oninput = drawRun;
  $("range-to").oninput = drawRun;
  $("note-form").onsubmit = e => {
    e.preventDefault();
    if (!RUNS.current) return;
    act(() => api(`/api/lab/runs/${RUNS.current}/annotations`, { method: "POST",
      body: { t: Number($("note-t").value), text: $("note-text").value } }));
  };
});
