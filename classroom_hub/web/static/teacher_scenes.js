// The teacher's scene picker: the hub's VR/AR scenes (GET /api/scenes), launched on the room's
// headsets (POST /api/scenes/launch). Headsets holding the scene play it at once; the others
// fetch it from the hub and play it when their copy is ready; each headset's row says where it
// is, in the page's language (classroom_hub/fleet/scenes/launcher.py). While a launch is under
// way the rows are read again every 2 s. TeacherScenes.rows() also draws the rows of a lesson's
// VR step (teacher.js).
"use strict";

const TeacherScenes = (() => {
  const t = (key, vars) => I18N.t(key, vars);
  const REFRESH_MS = 2000;
  let scenes = [];
  let timer = null;

  function title(scene) { return (scene.titles && scene.titles[I18N.lang]) || scene.title; }

  function stateText(row) {
    if (row.state === "downloading") {
      return row.percent == null ? t("teacher.scenes.state.downloading_started") : t("teacher.scenes.state.downloading", { percent: row.percent });
    }
    const text = t("teacher.scenes.state." + row.state);
    if (row.state === "model_failed") return `${text}: ${t("teacher.ar.reason." + row.reason)}`;
    if (row.state === "fetch_failed" || row.state === "launch_failed") {
      return row.reason ? `${text}: ${t("teacher.scenes.reason." + row.reason)}` : text;
    }
    return text;
  }

  // One line for the class ("12/40 đang chiếu · 28 đang tải · 1 lỗi"), then a row per headset.
  function rows(list, table, line) {
    const count = state => list.filter(r => r.state === state).length;
    const failed = count("fetch_failed") + count("launch_failed");
    const parts = [t("teacher.scenes.count.playing", { n: count("playing"), total: list.length })];
    const fetching = count("downloading") + count("waiting") + count("launching");
    if (fetching) parts.push(t("teacher.scenes.count.fetching", { n: fetching }));
    if (failed) parts.push(t("teacher.scenes.count.failed", { n: failed }));
    if (count("offline")) parts.push(t("teacher.scenes.count.offline", { n: count("offline") }));
    if (line) line.textContent = list.length ? parts.join(" · ") : "";
    const order = { fetch_failed: 0, launch_failed: 1, model_failed: 1, offline: 2, waiting: 3, downloading: 4, launching: 5, playing: 6, showing: 6 };
    const sorted = [...list].sort((a, b) => order[a.state] - order[b.state] || a.device_id.localeCompare(b.device_id, undefined, { numeric: true }));
    table.tBodies[0].replaceChildren(...sorted.map(r => {
      const tr = el("tr", { class: "scene-" + r.state, "data-device": r.device_id, "data-state": r.state },
        el("td", { text: r.device_id }), el("td", { text: stateText(r), title: r.detail || "" }));
      return tr;
    }));
    table.hidden = list.length === 0;
  }

  function render(launch) {
    const wanted = launch && launch.scene;
    $("scene-now").textContent = wanted ? t("teacher.scenes.now", { title: title(launch.scene) }) : "";
    $("scene-stop").disabled = !wanted;
    rows(launch ? launch.headsets : [], $("scene-rows"), $("scene-summary"));
    clearTimeout(timer);
    const settling = launch && launch.headsets.some(r => ["waiting", "downloading", "launching"].includes(r.state));
    if (settling) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function refresh() {
    try {
      const body = await api("/api/scenes");
      scenes = body.scenes;
      const pick = $("scene-pick");
      const chosen = pick.value;
      pick.replaceChildren(...scenes.map(s => el("option", { value: s.sha256, text: `${title(s)} (${t("teacher.scenes.platform." + s.platform)})` })));
      if (chosen) pick.value = chosen;
      showHeld();
      $("scene-none").hidden = scenes.length > 0;
      $("scene-launch").disabled = scenes.length === 0;
      render(body.launch);
    } catch (err) {
      $("scene-error").textContent = t("teacher.scenes.error", { error: err.message });
    }
  }

  // Before a launch: how many headsets already hold the picked scene.
  function showHeld() {
    const scene = scenes.find(s => s.sha256 === $("scene-pick").value);
    $("scene-held").textContent = scene && scene.held.total ? t("teacher.scenes.held", { n: scene.held.ready, total: scene.held.total }) : "";
  }

  async function launch() {
    const sha256 = $("scene-pick").value;
    if (!sha256) return;
    $("scene-launch").disabled = true;
    $("scene-error").textContent = "";
    try {
      render(await api("/api/scenes/launch", { body: { sha256 } }));
    } catch (err) {
      $("scene-error").textContent = err.code === "no_headsets" ? t("teacher.scenes.no_headsets") : t("teacher.scenes.error", { error: err.message });
    } finally { $("scene-launch").disabled = scenes.length === 0; }
  }

  async function stop() {
    $("scene-stop").disabled = true;
    try { render(await api("/api/scenes/stop", { body: {} })); }
    catch (err) { $("scene-error").textContent = t("teacher.scenes.error", { error: err.message }); }
  }

  async function init() {
    await I18N.load();
    $("scene-launch").addEventListener("click", launch);
    $("scene-stop").addEventListener("click", stop);
    $("scene-pick").addEventListener("change", showHeld);
    await refresh();
  }

  if (document.getElementById("scene-card")) init();
  return { rows, stateText };
})();
