"use strict";
// The studio desk: live program preview, layouts, PTZ joystick, recording, bookings and review.
// Live state comes over /ws/studio (status JSON + preview JPEGs); actions are REST calls,
// except PTZ and layout which go over the socket (press-and-hold must be immediate).
let conn = null;
let lastStatus = null;
let previewUrl = null;
const held = new Set();

function showMessage(text, ok) {
  const box = $("message");
  box.textContent = text || "";
  box.style.color = ok ? "var(--ok)" : "";
}

function send(msg) {
  if (conn) conn.send(msg);
}

function hms(seconds) {
  const s = Math.floor(seconds || 0);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map(n => String(n).padStart(2, "0")).join(":");
}

function renderStatus(st) {
  lastStatus = st;
  document.querySelectorAll("#layouts button").forEach(b => b.classList.toggle("active", b.dataset.layout === st.layout));
  document.querySelector('[data-layout="display_camera"]').disabled = !st.has_display_capture;
  const rec = st.recording;
  $("record").disabled = !!rec;
  $("stop").disabled = !rec;
  $("chapter-add").disabled = !rec;
  $("rec-badge").hidden = !rec;
  $("elapsed").textContent = hms(rec ? rec.elapsed_s : 0);
  $("dropped").textContent = rec ? rec.dropped_frames : 0;
  $("disk").textContent = (st.disk_free_mb / 1024).toFixed(1) + " GB";
  const db = st.audio_db;
  $("audio-db").textContent = db <= -89 ? "–∞ dB" : db.toFixed(1) + " dB";
  $("audio-bar").style.width = Math.max(0, Math.min(100, (db + 60) / 60 * 100)) + "%";
  const select = $("ptz-camera");
  const ptzCameras = st.cameras.filter(c => c.ptz);
  if (select.options.length !== ptzCameras.length) {
    select.replaceChildren(...ptzCameras.map(c => new Option(c.name, c.id)));
  }
}

function connect() {
  conn = live("/ws/studio", {
    onMessage: msg => {
      if (msg instanceof Blob) {  // a preview frame (JPEG)
        const url = URL.createObjectURL(msg);
        $("preview").src = url;
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = url;
      } else if (msg.type === "status") renderStatus(msg);
      else if (msg.type === "event") onEvent(msg.event);
      else if (msg.type === "ptz_result" && !msg.ok) showMessage(I18N.t("studio.error.ptz") + ": " + msg.error);
    },
    onOpen: () => { $("live").textContent = I18N.t("studio.live"); },
    onClose: () => { $("live").textContent = I18N.t("studio.reconnecting"); },
  });
}

function onEvent(ev) {
  if (ev.type === "bookings") loadBookings();
  if (ev.type === "recording" && ev.state === "stopped") {
    loadRecordings();
    if (ev.partial) showMessage(I18N.t("studio.partial"));
  }
  if (ev.type === "preroll") showMessage(I18N.t("studio.preroll_done"), true);
}

// --- PTZ: press and hold drives, release stops -------------------------------------------

function ptz(action, extra) {
  const camera = $("ptz-camera").value;
  if (!camera) return;
  send({ type: "ptz", ptz: { camera, action, ...extra } });
}

function holdable(button, start, stop) {
  const release = () => { if (held.delete(button)) { button.classList.remove("held"); stop(); } };
  button.addEventListener("pointerdown", ev => {
    ev.preventDefault();
    button.setPointerCapture(ev.pointerId);
    held.add(button); button.classList.add("held"); start();
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) button.addEventListener(type, release);
}

function setupPtz() {
  const speed = () => Number($("ptz-speed").value);
  document.querySelectorAll("#joystick [data-dir]").forEach(b =>
    holdable(b, () => ptz("drive", { direction: b.dataset.dir, speed: speed() }), () => ptz("stop")));
  document.querySelectorAll("[data-zoom]").forEach(b =>
    holdable(b, () => ptz("zoom", { zoom: b.dataset.zoom }), () => ptz("zoom", { zoom: "stop" })));
  $("ptz-home").addEventListener("click", () => ptz("home"));
  const presets = $("presets");
  for (let n = 1; n <= 6; n++) {
    presets.appendChild(el("button", { text: n, "data-preset": n, onclick: () => {
      const store = $("preset-store").checked;
      ptz(store ? "preset_set" : "preset_recall", { number: n });
      if (store) { $("preset-store").checked = false; showMessage(I18N.t("studio.ptz.stored", { n }), true); }
    } }));
  }
}

// --- recording ----------------------------------------------------------------------------

async function record() {
  showMessage("");
  try { await api("/api/studio/record", { method: "POST", body: {} }); }
  catch (err) { showMessage(I18N.t("studio.error.record") + ": " + err.message); }
}

async function stop() {
  $("stop").disabled = true;
  try { await api("/api/studio/stop", { method: "POST" }); showMessage(I18N.t("studio.saved"), true); }
  catch (err) { showMessage(err.message); }
  loadRecordings();
}

async function addChapter() {
  const title = $("chapter-title").value.trim();
  if (!title) return;
  try { const c = await api("/api/studio/chapter", { method: "POST", body: { title } }); $("chapter-title").value = "";
        showMessage(I18N.t("studio.chapter.added", { t: hms(c.at_s) }), true); }
  catch (err) { showMessage(err.message); }
}

// --- bookings -----------------------------------------------------------------------------

function cell(text, cls) { return el("td", text == null ? "–" : text, cls); }

function timeOf(iso) { return iso.slice(11, 16); }

async function loadBookings() {
  const data = await api("/api/studio/bookings?cancelled=1");
  $("calendar-link").href = data.calendar;
  const body = document.querySelector("#bookings tbody");
  body.replaceChildren();
  for (const b of data.bookings) {
    const tr = el("tr", { "data-booking": b.id, class: b.id === data.current ? "current" : null });
    const actions = el("td");
    if (b.state === "booked") {
      actions.appendChild(el("button", { text: I18N.t("studio.book.cancel"), onclick: async () => {
        try { await api(`/api/studio/bookings/${b.id}`, { method: "DELETE" }); } catch (err) { showMessage(err.message); }
        loadBookings();
      } }));
    }
    tr.append(cell(`${timeOf(b.starts_at)}–${timeOf(b.ends_at)}`), cell(b.title), cell(b.teacher_name),
              cell(I18N.t("studio.booking." + b.state)), actions);
    body.appendChild(tr);
  }
  if (!data.bookings.length) {
    body.appendChild(el("tr", {}, el("td", { class: "muted", colspan: 5, text: I18N.t("studio.no_bookings") })));
  }
}

async function book(ev) {
  ev.preventDefault();
  try {
    const booking = {
      title: $("book-title").value, teacher: $("book-teacher").value.trim(),
      starts_at: $("book-start").value, ends_at: $("book-end").value,
    };
    await api("/api/studio/bookings", { method: "POST", body: booking });
    $("book-form").reset();
    showMessage(I18N.t("studio.book.done"), true);
  } catch (err) { showMessage(I18N.t("studio.error.book") + ": " + err.message); }
  loadBookings();
}

// --- review -------------------------------------------------------------------------------

function actionButton(label, fn) {
  return el("button", { text: I18N.t(label), onclick: async () => {
    try { await fn(); } catch (err) { showMessage(err.message); }
    loadRecordings();
  } });
}

let editing = null;

function openEditor(r) {
  editing = r.id;
  $("edit-form").hidden = false;
  $("edit-title").value = r.title || "";
  $("edit-subject").value = r.subject || "";
  $("edit-grade").value = r.grade || "";
  $("edit-language").value = r.language || "vi";
  $("edit-in").value = r.trim_in_s ?? "";
  $("edit-out").value = r.trim_out_s ?? (r.duration_s ? r.duration_s.toFixed(1) : "");
  const player = $("player"); player.hidden = false; player.src = `/api/studio/recordings/${r.id}/media?v=final`;
}

function edits() {
  const number = id => $(id).value === "" ? null : Number($(id).value);
  return { title: $("edit-title").value, subject: $("edit-subject").value, grade: $("edit-grade").value,
           language: $("edit-language").value, trim_in_s: number("edit-in"), trim_out_s: number("edit-out") };
}

async function saveEdits(ev) {
  if (ev) ev.preventDefault();
  try { await api(`/api/studio/recordings/${editing}`, { method: "PATCH", body: edits() }); showMessage(I18N.t("studio.edit.saved"), true); }
  catch (err) { showMessage(err.message); throw err; }
  loadRecordings();
}

async function submitEdits() {
  await saveEdits();
  try { await api(`/api/studio/recordings/${editing}/submit`, { method: "POST" }); $("edit-form").hidden = true;
        showMessage(I18N.t("studio.edit.submitted"), true); }
  catch (err) { showMessage(err.message); }
  loadRecordings();
}

function uploadText(u) {
  if (u.delivered_at) return I18N.t("studio.upload.delivered");
  const percent = u.size_bytes ? Math.floor(u.sent_bytes * 100 / u.size_bytes) : 0;
  return I18N.t(u.last_error ? "studio.upload.retrying" : "studio.upload.sending", { percent })
    + (u.last_error ? ` (${u.last_error})` : "");
}

async function loadRecordings() {
  const data = await api("/api/studio/recordings");
  const body = document.querySelector("#recordings tbody");
  body.replaceChildren();
  for (const r of data.recordings) {
    const tr = el("tr", { "data-recording": r.id });
    const actions = el("td");
    if (r.has_file) actions.appendChild(actionButton("studio.play", async () => {
      const player = $("player"); player.hidden = false;
      player.src = `/api/studio/recordings/${r.id}/media?v=${r.has_edit ? "edit" : "final"}`;
    }));
    if ((r.state === "draft" || r.state === "rejected") && r.has_file) {
      actions.appendChild(actionButton("studio.edit", async () => openEditor(r)));
    }
    if (r.state === "rejected" && r.review_comment) tr.title = r.review_comment;
    if (r.state === "submitted") {
      actions.appendChild(actionButton("studio.approve", () =>
        api(`/api/studio/recordings/${r.id}/review`, { method: "POST", body: { decision: "approve" } })));
      actions.appendChild(actionButton("studio.reject", async () => {
        const comment = prompt(I18N.t("studio.reject_why"));
        if (comment) await api(`/api/studio/recordings/${r.id}/review`, { method: "POST", body: { decision: "reject", comment } });
      }));
    }
    if (r.state === "approved") actions.appendChild(actionButton("studio.publish", () =>
      api(`/api/studio/recordings/${r.id}/publish`, { method: "POST" })));
    let state = I18N.t("studio.state." + r.state) + (r.partial ? " · " + I18N.t("studio.partial_short") : "");
    if (r.state === "published" && r.upload) state += " · " + uploadText(r.upload);  // on its way to the materials bank
    tr.append(cell(new Date(r.started_at * 1000).toLocaleString()), cell(r.title), cell(r.teacher_name),
              cell(r.duration_s == null ? null : hms(r.duration_s)), cell(state, r.partial ? "partial" : ""), actions);
    body.appendChild(tr);
  }
}

(async () => {
  await I18N.load();
  // A room that is not a studio answers every studio call 503 "no_studio": say so once, in
  // words, instead of a black preview that reconnects for ever.
  const status = await api("/api/studio/status").catch(err => err);
  if (status instanceof ApiError && status.code === "no_studio") {
    document.querySelector("main").replaceChildren(el("section", { class: "card", id: "no-studio" }, el("p", status.message)));
    return;
  }
  document.querySelectorAll("#layouts button").forEach(b =>
    b.addEventListener("click", () => send({ type: "layout", layout: b.dataset.layout })));
  $("record").addEventListener("click", record);
  $("stop").addEventListener("click", stop);
  $("chapter-add").addEventListener("click", addChapter);
  $("book-form").addEventListener("submit", book);
  $("edit-form").addEventListener("submit", ev => saveEdits(ev).catch(() => {}));
  $("edit-submit").addEventListener("click", () => submitEdits().catch(() => {}));
  setupPtz();
  connect();
  loadBookings();
  loadRecordings();
  setInterval(loadBookings, 60000);  // "now" moves: the current booking changes
})();
