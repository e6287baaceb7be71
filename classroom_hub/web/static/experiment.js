"use strict";
// Experiments inside the lesson pages, self-contained (included by one line in teacher.html and
// join.html; it adds its own section, its style sheet and the chart script):
// - teacher page: start a run on a kit (or robot), watch it live, share it with the tablets,
//   download CSV, and the EMERGENCY STOP of every robot;
// - tablet (/join): the run the teacher shares, live and read-only ("data share"), no account.
(() => {
  const t = (key, vars) => I18N.t(key, vars);

  async function ready() {
    document.head.append(el("link", { rel: "stylesheet", href: "/static/experiment.css" }));
    if (!window.LabChart) {
      await new Promise((resolve, reject) => {
        document.head.append(Object.assign(document.createElement("script"), { src: "/static/labchart.js", onload: resolve, onerror: reject }));
      });
    }
    await I18N.load();
  }

  function series(run, key) {
    const i = run.sensors.indexOf(key) + 1;
    return [{ label: t("lab.sensor." + key), points: (run.samples || []).map(s => [s[0], s[i]]) }];
  }

  // --- the tablet: data share ----------------------------------------------------------------

  async function tablet(main) {
    const sensor = el("select");
    const canvas = el("canvas");
    const values = el("div", { class: "xp-values" });
    const title = el("h2");
    const card = el("section", { class: "card xp", id: "data-share", hidden: "" },
      el("div", { class: "muted", "data-i18n": "lab.share.title" }), title, values,
      el("div", { class: "xp-row" }, el("label", {}, el("span", { "data-i18n": "lab.sensor" }), sensor)), canvas);
    main.append(card);
    I18N.apply(card);
    const chart = new LabChart(canvas, { empty: () => t("lab.no_data") });
    let run = null;
    const draw = () => {
      if (!run) return;
      const key = sensor.value || run.sensors[0];
      chart.set({ series: series(run, key), unit: run.units[run.sensors.indexOf(key)] || "",
                  notes: run.annotations || [] });
      const last = run.samples[run.samples.length - 1];
      values.replaceChildren(...run.sensors.map((k, i) => el("span", { "data-sensor": k,
        text: `${t("lab.sensor." + k)}: ${last && last[i + 1] != null ? (+last[i + 1]).toFixed(2) : "–"} ${run.units[i]}` })));
    };
    sensor.onchange = draw;
    live("/ws/lab/share", { onMessage: m => {
      if (m.type === "share") {
        run = m.run;
        card.hidden = !run;
        if (run) {
          title.textContent = run.name;
          sensor.replaceChildren(...run.sensors.map(k => new Option(t("lab.sensor." + k), k)));
        }
        draw();
      } else if (m.type === "sample" && run && m.run_id === run.id) {
        run.samples.push([m.t, ...m.values]);
        draw();
      } else if (m.type === "annotation" && run && m.run_id === run.id) {
        run.annotations = (run.annotations || []).concat([m.annotation]);
        draw();
      }
    } });
  }

  // --- the teacher ---------------------------------------------------------------------------

  async function teacher(main) {
    const kit = el("select"), boxes = el("div", { class: "xp-boxes" }), rate = el("input", { type: "number", value: "1", min: "0.1", max: "50", step: "0.1" });
    const name = el("input", { maxlength: "80" }), start = el("input", { maxlength: "60", "data-i18n-placeholder": "lab.run.start_placeholder" });
    const pre = el("input", { type: "number", value: "0", min: "0", max: "600" }), duration = el("input", { type: "number", min: "0" });
    const go = el("button", { class: "xp-go", type: "button", "data-i18n": "lab.run.begin" });
    const stop = el("button", { type: "button", "data-i18n": "lab.run.end" }), share = el("button", { type: "button" });
    const csv = el("a", { text: "CSV" }), status = el("div", { class: "xp-note", id: "xp-status" });
    const sensor = el("select"), canvas = el("canvas");
    const estop = el("button", { class: "xp-estop", type: "button", "data-i18n": "lab.estop" }), estopNote = el("span", { class: "xp-note", id: "xp-estop-note" });
    const label = (key, input) => el("label", {}, el("span", { "data-i18n": key }), input);
    // Open by itself for a lab lesson or in a room with robots (teacher.js says which: body's
    // data-lab); otherwise folded at the bottom of the page, the emergency stop one click away.
    const card = el("details", { class: "card xp", id: "experiment", open: document.body.dataset.lab === "open" },
      el("summary", { "data-i18n": "lab.teacher.title" }),
      el("div", { class: "xp-row" }, estop, estopNote),
      el("div", { class: "xp-row" }, label("lab.run.name", name), label("lab.kit", kit), label("lab.run.rate", rate),
        label("lab.run.start", start), label("lab.run.pretrigger", pre), label("lab.run.duration", duration), go),
      boxes, status, el("div", { class: "xp-row" }, label("lab.sensor", sensor), stop, share, csv), canvas);
    main.append(card);
    I18N.apply(card);
    document.addEventListener("labchange", () => { card.open = document.body.dataset.lab === "open"; });
    const chart = new LabChart(canvas, { empty: () => t("lab.no_data") });
    const sources = new Map();
    let run = null;

    const fillBoxes = () => {
      const keys = sources.get(kit.value) || [];
      boxes.replaceChildren(...keys.map(k => el("label", {}, Object.assign(el("input", { type: "checkbox", value: k }),
        { checked: k === "ph" || k === "distance" }), el("span", { text: t("lab.sensor." + k) }))));
    };
    const draw = () => {
      stop.hidden = !run || run.state === "stopped";
      share.hidden = csv.hidden = !run;
      if (!run) { status.textContent = ""; return; }
      share.textContent = t(run.shared ? "lab.run.unshare" : "lab.run.share");
      csv.href = `/api/lab/runs/${run.id}/csv`;
      status.textContent = `${run.name}: ${t("lab.run.state." + run.state)} · ${run.samples.length} ${t("lab.run.samples")}`;
      const key = sensor.value || run.sensors[0];
      chart.set({ series: series(run, key), unit: run.units[run.sensors.indexOf(key)] || "", notes: run.annotations || [] });
    };
    const choose = r => {
      run = r;
      sensor.replaceChildren(...run.sensors.map(k => new Option(t("lab.sensor." + k), k)));
      draw();
    };
    kit.onchange = fillBoxes;
    sensor.onchange = draw;
    go.onclick = async () => {
      try {
        const made = await api("/api/lab/runs", { body: {
          name: name.value || t("lab.run.default_name"), kit_id: kit.value, sample_rate_hz: Number(rate.value),
          sensors: [...boxes.querySelectorAll("input:checked")].map(i => i.value), start_condition: start.value.trim() || null,
          pretrigger_s: Number(pre.value) || 0, duration_s: Number(duration.value) || null,
        } });
        choose(await api(`/api/lab/runs/${made.id}`));
      } catch (err) { status.textContent = err.message; }
    };
    stop.onclick = () => run && api(`/api/lab/runs/${run.id}/stop`, { body: {} }).catch(err => { status.textContent = err.message; });
    share.onclick = () => run && api(`/api/lab/runs/${run.id}/share`, { body: { shared: !run.shared } }).catch(err => { status.textContent = err.message; });
    estop.onclick = async () => {
      estop.disabled = true;
      try {
        const out = await api("/api/lab/estop", { body: {} });
        estopNote.textContent = t(out.all_stopped ? "lab.estop.all_stopped" : "lab.estop.not_all", { n: out.results.length });
      } catch (err) { estopNote.textContent = err.message; }
      estop.disabled = false;
    };
    live("/ws/lab", { onMessage: async m => {
      if (m.type === "snapshot") {
        sources.clear();
        for (const k of m.kits) sources.set(k.id, k.sensors);
        for (const r of m.robots) sources.set(r.id, ["distance", "line", "motor_l", "motor_r", "battery"]);
        card.hidden = sources.size === 0;  // a classroom without kits or robots: nothing to show
        const chosen = kit.value;
        kit.replaceChildren(...[...sources.keys()].map(id => new Option(id, id)));
        if (chosen) kit.value = chosen;
        fillBoxes();
        const latest = m.runs.filter(r => r.state !== "stopped").pop();
        if (latest && (!run || run.id !== latest.id)) choose(await api(`/api/lab/runs/${latest.id}`));
      } else if (m.type === "run" && run && m.run.id === run.id) {
        Object.assign(run, { ...m.run, samples: run.samples, annotations: run.annotations });
        draw();
      } else if (m.type === "sample" && run && m.run_id === run.id) {
        run.samples.push([m.t, ...m.values]);
        draw();
      }
    } });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const main = document.querySelector("main");
    if (!main) return;
    await ready();
    if (document.body.classList.contains("teacher")) await teacher(main);
    else await tablet(main);
  });
})();
