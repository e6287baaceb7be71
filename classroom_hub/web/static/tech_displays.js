"use strict";
// The technician console's classroom displays: make a pairing code (shown once) for a display
// page, see the paired displays, revoke one. GET /api/displays, POST /api/displays/pairing,
// POST /api/displays/<id>/revoke. tech.js calls DisplaysPanel.start() once the catalog is loaded.
const DisplaysPanel = (() => {
  const $ = id => document.getElementById(id);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB") : "–"; }

  async function call(path, body) {
    const options = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(path, options);
    if (res.status === 401) { location.href = "/login?next=/tech"; throw new Error("login"); }
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.detail || answer.error || String(res.status));
    return answer;
  }

  function failed(err) { $("displays-error").textContent = I18N.t("tech.displays.error", { error: err.message }); }

  async function load() {
    let answer;
    try { answer = await call("/api/displays"); } catch (err) { failed(err); return; }
    $("displays-error").textContent = "";
    $("displays-none").hidden = answer.displays.length > 0;
    document.querySelector("#displays tbody").replaceChildren(...answer.displays.map(d => {
      const tr = el("tr");
      tr.dataset.display = d.id;
      const revoke = el("button", I18N.t("tech.displays.revoke"), "ack revoke");
      revoke.type = "button";
      revoke.addEventListener("click", () => revokeOne(d));
      const action = el("td");
      action.append(revoke);
      tr.append(el("td", d.name, "name"), el("td", when(d.paired_at)), el("td", d.paired_by), el("td", d.peer),
        el("td", d.last_seen ? I18N.ago(d.last_seen) : "–"), action);
      return tr;
    }));
  }

  async function makeCode(ev) {
    ev.preventDefault();
    let answer;
    try { answer = await call("/api/displays/pairing", { name: $("pairing-name").value.trim() }); } catch (err) { failed(err); return; }
    $("displays-error").textContent = "";
    $("pairing-code").textContent = I18N.t("tech.displays.code", { code: answer.code });
    $("pairing-note").textContent = I18N.t("tech.displays.code_note", { time: new Date(answer.expires_at * 1000).toLocaleTimeString(I18N.lang === "vi" ? "vi-VN" : "en-GB") });
    $("pairing-link").textContent = answer.link;
    $("pairing-result").hidden = false;
  }

  async function revokeOne(display) {
    if (!confirm(I18N.t("tech.displays.revoke.confirm", { name: display.name }))) return;
    try { await call(`/api/displays/${encodeURIComponent(display.id)}/revoke`, {}); } catch (err) { failed(err); return; }
    load();
  }

  function start() {
    $("pairing-form").addEventListener("submit", makeCode);
    load();
    setInterval(load, 10000);  // a display pairs from its own screen: show it here soon after
  }

  return { start };
})();
