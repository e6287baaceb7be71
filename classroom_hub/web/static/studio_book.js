"use strict";
// The teachers' studio booking page: free and taken slots of the coming two weeks, booking one
// (title, subject, grade, camera presets), cancelling one's own, and one's recordings in review.
// Reads GET /api/studio/slots and /api/studio/recordings; books with POST /api/studio/bookings.
const $ = id => document.getElementById(id);
const t = (key, vars) => I18N.t(key, vars);
let chosen = null;
let cameras = [];

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function showMessage(text, ok) {
  $("message").textContent = text || "";
  $("message").style.color = ok ? "var(--ok)" : "";
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) { location.href = "/login?next=/studio/book"; throw new Error("login"); }
  const data = res.headers.get("Content-Type")?.includes("json") ? await res.json() : {};
  if (!res.ok) throw new Error(data.detail || data.error || res.statusText);
  return data;
}

const locale = () => (I18N.lang === "vi" ? "vi-VN" : "en-GB");
const hhmm = iso => iso.slice(11, 16);  // the studio's own clock, whatever the browser's zone
const localStart = iso => iso.slice(0, 16);
function dayName(isoDate) {
  return new Date(isoDate + "T12:00:00Z").toLocaleDateString(locale(), { timeZone: "UTC", weekday: "long", day: "2-digit", month: "2-digit" });
}
function span(slot) { return `${hhmm(slot.starts_at)}–${hhmm(slot.ends_at)}`; }
function hms(seconds) {
  const s = Math.floor(seconds || 0);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map(n => String(n).padStart(2, "0")).join(":");
}

// --- slots ----------------------------------------------------------------------------------

function slotNode(slot) {
  const b = slot.booking;
  if (slot.state === "free") {
    const button = el("button", span(slot), "slot free");
    button.type = "button";
    button.dataset.start = localStart(slot.starts_at);
    button.title = t("studio.book.state.free");
    button.addEventListener("click", () => choose(slot, button));
    return button;
  }
  const mine = b && b.mine;
  const node = el("div", span(slot), `slot ${mine ? "mine" : slot.state}`);
  node.dataset.start = localStart(slot.starts_at);
  node.dataset.state = mine ? "mine" : slot.state;
  const note = slot.state === "taken" ? (mine ? `${t("studio.book.state.mine")}: ${b.title}` : `${b.title} · ${b.teacher_name}`)
    : t("studio.book.state." + slot.state);
  node.appendChild(el("small", note));
  node.title = note;
  return node;
}

async function loadSlots() {
  const data = await api("GET", "/api/studio/slots?days=14");
  cameras = data.cameras;
  $("slots-help").textContent = t("studio.book.help", { minutes: data.slot_minutes, buffer: data.buffer_minutes });
  $("days").replaceChildren(...data.days.map(day => {
    const row = el("div", null, "day");
    row.dataset.date = day.date;
    const slots = el("div", null, "day-slots");
    if (day.slots.length) slots.append(...day.slots.map(slotNode));
    else slots.appendChild(el("span", t("studio.book.closed"), "muted"));
    row.append(el("div", dayName(day.date), "day-name"), slots);
    return row;
  }));
  renderMine(data.mine);
  if (chosen) {
    const again = document.querySelector(`#days button.slot.free[data-start="${localStart(chosen.starts_at)}"]`);
    if (again) again.classList.add("chosen"); else closeForm();
  }
}

function choose(slot, button) {
  chosen = slot;
  document.querySelectorAll("#days .chosen").forEach(n => n.classList.remove("chosen"));
  button.classList.add("chosen");
  $("chosen").textContent = t("studio.book.chosen", { day: dayName(slot.starts_at.slice(0, 10)), time: span(slot) });
  $("presets").replaceChildren(...cameras.map(c => {
    const label = el("label", t("studio.book.preset_of", { camera: c.name }));
    const select = el("select");
    select.dataset.camera = c.id;
    select.add(new Option(t("studio.book.preset_none"), ""));
    for (let n = 1; n <= 6; n++) select.add(new Option(String(n), String(n)));
    label.appendChild(select);
    return label;
  }));
  $("book-form").hidden = false;
  $("book-form").scrollIntoView({ block: "nearest" });
  $("book-title").focus();
}

function closeForm() {
  chosen = null;
  $("book-form").hidden = true;
  document.querySelectorAll("#days .chosen").forEach(n => n.classList.remove("chosen"));
}

async function book(ev) {
  ev.preventDefault();
  if (!chosen) return;
  const presets = {};
  document.querySelectorAll("#presets select").forEach(s => { if (s.value) presets[s.dataset.camera] = Number(s.value); });
  try {
    await api("POST", "/api/studio/bookings", {
      title: $("book-title").value.trim(), subject: $("book-subject").value.trim() || null,
      grade: $("book-grade").value.trim() || null, starts_at: chosen.starts_at, ends_at: chosen.ends_at, presets,
    });
    $("book-form").reset();
    closeForm();
    showMessage(t("studio.book.done"), true);
  } catch (err) { showMessage(`${t("studio.error.book")}: ${err.message}`); }
  await loadSlots();
}

// --- my bookings ----------------------------------------------------------------------------

function renderMine(mine) {
  const names = new Map(cameras.map(c => [c.id, c.name]));
  $("mine").tBodies[0].replaceChildren(...mine.map(b => {
    const tr = el("tr");
    tr.dataset.booking = b.id;
    const cancel = el("button", t("studio.book.cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", async () => {
      if (!confirm(t("studio.book.cancel_confirm", { title: b.title }))) return;
      try { await api("DELETE", `/api/studio/bookings/${encodeURIComponent(b.id)}`); showMessage(t("studio.book.cancelled"), true); }
      catch (err) { showMessage(err.message); }
      await loadSlots();
    });
    const presets = Object.entries(b.presets).map(([camera, n]) => `${names.get(camera) || camera}: ${n}`).join(", ");
    const actions = el("td");
    actions.appendChild(cancel);
    tr.append(el("td", `${dayName(b.starts_at.slice(0, 10))} ${hhmm(b.starts_at)}–${hhmm(b.ends_at)}`), el("td", b.title),
      el("td", [b.subject, b.grade && t("studio.book.grade_n", { n: b.grade })].filter(Boolean).join(" · ") || "–"),
      el("td", presets || "–"), actions);
    return tr;
  }));
  $("mine-none").hidden = mine.length > 0;
}

// --- my recordings --------------------------------------------------------------------------

function upload(u) {
  if (!u) return "";
  if (u.delivered_at) return t("studio.upload.delivered");
  const percent = u.size_bytes ? Math.floor(u.sent_bytes * 100 / u.size_bytes) : 0;
  return t(u.last_error ? "studio.upload.retrying" : "studio.upload.sending", { percent });
}

async function loadRecordings() {
  const data = await api("GET", "/api/studio/recordings");
  $("recordings").tBodies[0].replaceChildren(...data.recordings.map(r => {
    const tr = el("tr");
    tr.dataset.recording = r.id;
    tr.dataset.state = r.state;
    let state = t("studio.state." + r.state);
    if (r.state === "published" && r.upload) state += ` · ${upload(r.upload)}`;
    const stateCell = el("td", state, "state");
    if (r.upload && r.upload.last_error) stateCell.title = r.upload.last_error;
    tr.append(el("td", new Date(r.started_at * 1000).toLocaleString(locale())), el("td", r.title || "–"),
      el("td", r.duration_s == null ? "–" : hms(r.duration_s)), stateCell, el("td", r.reviewer || "–"),
      el("td", r.review_comment || "–", "comment"));
    return tr;
  }));
  $("recordings-none").hidden = data.recordings.length > 0;
}

(async () => {
  await I18N.load();
  document.title = t("studio.book.heading");
  $("book-form").addEventListener("submit", book);
  $("book-close").addEventListener("click", closeForm);
  try { await Promise.all([loadSlots(), loadRecordings()]); }
  catch (err) { showMessage(`${t("studio.book.unavailable")}: ${err.message}`); }
  setInterval(() => { loadSlots().catch(() => {}); loadRecordings().catch(() => {}); }, 60000);  // others book too
})();
