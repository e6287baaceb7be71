// The admin page (admin.html), for the school's administrator: accounts (add, reset a password,
// disable), the roster (its classes; a OneRoster .zip uploaded with every refused row shown),
// device names and groups (an overlay on the room file) and backups. The API is /api/admin/...
// (classroom_hub/admin/, docs/admin.md).
"use strict";

// An API error as the admin reads it: the hub's code when the catalogue has it, its detail otherwise.
function say(err) {
  const key = `admin.error.${err.code}`;
  if (err.code && I18N.strings[key] !== undefined) return I18N.t(key, { detail: err.detail || "" });
  return I18N.t("admin.error.other", { detail: err.detail || err.message });
}

function when(ts) {
  return ts ? new Date(ts * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB") : I18N.t("admin.users.never");
}

// --- accounts ------------------------------------------------------------------------------

function showOneTime(username, password) {
  $("one-time-title").textContent = I18N.t("admin.users.one_time", { user: username });
  $("one-time-password").textContent = password;
  $("one-time").hidden = false;
  $("one-time").scrollIntoView({ block: "nearest" });
}

async function loadUsers() {
  const { users, roles } = await api("/api/admin/users");
  const select = $("new-role");
  if (!select.options.length) select.replaceChildren(...roles.filter(r => r !== "student").map(r => new Option(I18N.t(`role.${r}`), r)));
  $("user-table").tBodies[0].replaceChildren(...users.map(u => {
    const state = u.disabled ? "disabled" : u.must_change ? "must_change" : "active";
    const tr = el("tr", { "data-user": u.username, class: u.disabled ? "disabled" : null },
      el("td", u.username), el("td", u.display_name), el("td", I18N.t(`role.${u.role}`)),
      el("td", when(u.last_login)), el("td", I18N.t(`admin.users.state.${state}`), "state"));
    const reset = el("button", { type: "button", class: "reset", text: I18N.t("admin.users.reset"), onclick: () => resetPassword(u.username) });
    const toggle = el("button", { type: "button", class: "toggle", text: I18N.t(u.disabled ? "admin.users.enable" : "admin.users.disable"),
      onclick: () => setDisabled(u.username, !u.disabled) });
    tr.append(el("td", { class: "actions" }, reset, toggle));
    return tr;
  }));
}

async function userAction(action) {
  $("users-error").textContent = "";
  try {
    await action();
  } catch (err) {
    $("users-error").textContent = say(err);
  }
  await loadUsers();
}

function resetPassword(username) {
  if (!confirm(I18N.t("admin.users.confirm_reset", { user: username }))) return;
  return userAction(async () => {
    const r = await api(`/api/admin/users/${encodeURIComponent(username)}/reset`, { body: {} });
    showOneTime(r.username, r.password);
  });
}

function setDisabled(username, disabled) {
  if (disabled && !confirm(I18N.t("admin.users.confirm_disable", { user: username }))) return;
  return userAction(() => api(`/api/admin/users/${encodeURIComponent(username)}/disabled`, { body: { disabled } }));
}

$("add-user").addEventListener("submit", event => {
  event.preventDefault();
  userAction(async () => {
    const body = { username: $("new-username").value.trim().toLowerCase(), display_name: $("new-name").value.trim(), role: $("new-role").value };
    const r = await api("/api/admin/users", { body });
    showOneTime(r.username, r.password);
    $("add-user").reset();
  });
});
$("one-time-done").addEventListener("click", () => {
  $("one-time").hidden = true;
  $("one-time-password").textContent = "";
});

// --- classes and rosters -------------------------------------------------------------------

async function loadClasses() {
  const { classes, counts } = await api("/api/admin/classes");
  $("roster-counts").textContent = I18N.t("admin.roster.counts", counts);
  $("classes-none").hidden = classes.length > 0;
  $("class-table").tBodies[0].replaceChildren(...classes.map(c => el("tr", { "data-class": c.id },
    el("td", c.title), el("td", c.grade), el("td", c.subject), el("td", String(c.students), "num"))));
}

function written(counts) {
  return Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${n} ${I18N.t(`admin.roster.kind.${k}`)}`).join(", ") || "0";
}

$("roster-file").addEventListener("change", () => {
  const file = $("roster-file").files[0];
  $("roster-file-name").textContent = file ? file.name : I18N.t("admin.roster.no_file");
});

$("roster-form").addEventListener("submit", async event => {
  event.preventDefault();
  const file = $("roster-file").files[0];
  $("roster-error").textContent = file ? "" : I18N.t("admin.error.unsupported_media_type");
  if (!file) return;
  $("roster-result").textContent = I18N.t("admin.roster.uploading");
  $("roster-problems-box").hidden = true;
  $("roster-submit").disabled = true;
  try {
    // A multipart form with the file, which the hub streams to its disk as it arrives.
    const form = new FormData();
    form.append("bundle", file);
    const res = await fetch("/api/admin/roster", { method: "POST", credentials: "same-origin", body: form });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok && answer.error === "bad_bundle") {  // the whole file is refused: say why in words
      throw new ApiError(res.status, "bad_bundle", I18N.t(`admin.roster.bundle.${answer.reason}`, answer.values));
    }
    if (!res.ok) throw new ApiError(res.status, answer.error || null, answer.detail || null);
    $("roster-result").textContent = I18N.t(answer.replaced ? "admin.roster.done_replaced" : "admin.roster.done_updated", { written: written(answer.written) });
    showProblems(answer.problems);
    await loadClasses();
  } catch (err) {
    $("roster-result").textContent = "";
    $("roster-error").textContent = say(err);
  } finally {
    $("roster-submit").disabled = false;
  }
});

function showProblems(problems) {
  $("roster-problems-box").hidden = false;
  $("roster-problems-title").textContent = problems.length ? I18N.t("admin.roster.problems", { n: problems.length }) : I18N.t("admin.roster.no_problems");
  $("roster-problems").hidden = !problems.length;
  $("roster-problems").tBodies[0].replaceChildren(...problems.map(p => el("tr", {},
    el("td", p.file), el("td", p.row ? String(p.row) : I18N.t("admin.roster.whole_file"), "num"), el("td", p.column),
    el("td", { title: p.reason }, I18N.t(`admin.roster.reason.${p.code}`, p.values)))));
}

// --- devices -------------------------------------------------------------------------------

async function loadDevices() {
  const { devices, problem } = await api("/api/admin/devices");
  $("devices-problem").textContent = problem ? I18N.t("admin.devices.problem", { detail: problem }) : "";
  $("device-table").tBodies[0].replaceChildren(...devices.map(d => {
    const name = el("input", { class: "name", value: (d.label && d.label.name) || "", placeholder: d.room_file.name || d.id, maxlength: 64 });
    const group = el("input", { class: "group", value: (d.label && d.label.group) || "", placeholder: d.room_file.group || "", maxlength: 64 });
    const status = el("span", "", "saved");
    const save = el("button", { type: "button", class: "save", text: I18N.t("admin.devices.save"), onclick: async () => {
      status.textContent = "";
      try {
        await api(`/api/admin/devices/${encodeURIComponent(d.id)}`, { body: { name: name.value, group: group.value } });
        status.textContent = I18N.t("admin.devices.saved");
      } catch (err) {
        $("devices-problem").textContent = say(err);
      }
    } });
    const original = [d.room_file.name, d.room_file.group].filter(Boolean).join(" · ");
    return el("tr", { "data-device": d.id }, el("td", d.id), el("td", I18N.t(`kind.${d.kind}`)), el("td", {}, name),
      el("td", {}, group), el("td", original, "muted"), el("td", {}, save, status));
  }));
}

(async () => {
  await I18N.load();
  document.title = I18N.t("admin.title");
  await Promise.all([loadUsers(), loadClasses(), loadDevices()]);
})();
