// What every page of the hub shares, loaded first by each of them: the page's strings (I18N),
// the DOM helpers ($, el), api() for the hub's JSON APIs and live() for its WebSockets.
// A classic script of plain globals (no build step, no modules: the pages' own scripts and the
// tests read their globals), nothing newer than ES2019 (the Chromium of cheap Android tablets),
// nothing inline or through eval (the hub's Content-Security-Policy).
"use strict";

// --- strings ------------------------------------------------------------------------------

// One catalog per language (/i18n/vi.json, /i18n/en.json); Vietnamese unless the user chose English.
const I18N = {
  lang: localStorage.getItem("lang") || "vi",
  strings: {},
  loading: null,
  // Every page starts with `await I18N.load()`: the catalog is fetched once (a second call, from
  // a card that adds itself to the page, waits for the same one), then every [data-i18n] is filled.
  load() {
    if (!this.loading) {
      this.loading = fetch(`/i18n/${this.lang}.json`).then(res => res.json()).then(strings => {
        this.strings = strings;
        document.documentElement.lang = this.lang;
        this.apply(document);
      });
      this.loading.catch(() => { this.loading = null; });  // the next call tries again
    }
    return this.loading;
  },
  t(key, vars) {
    let s = this.strings[key];
    if (s === undefined) { console.warn("missing string", key); s = key; }
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  },
  apply(root) {
    root.querySelectorAll("[data-i18n]").forEach(node => { node.textContent = this.t(node.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(node => { node.placeholder = this.t(node.dataset.i18nPlaceholder); });
  },
  toggle() {
    localStorage.setItem("lang", this.lang === "vi" ? "en" : "vi");
    location.reload();
  },
  ago(ts) {
    if (!ts) return this.t("time.never");
    const s = Math.max(0, Math.round(Date.now() / 1000 - ts));
    if (s < 60) return this.t("time.seconds_ago", { n: s });
    if (s < 3600) return this.t("time.minutes_ago", { n: Math.round(s / 60) });
    return this.t("time.hours_ago", { n: Math.round(s / 3600) });
  },
};
document.addEventListener("DOMContentLoaded", () => {
  const sw = document.getElementById("lang-switch");
  if (sw) sw.addEventListener("click", () => I18N.toggle());
});

// --- the page -----------------------------------------------------------------------------

const $ = id => document.getElementById(id);

// --- icons --------------------------------------------------------------------------------

// The pages' icons, drawn here as inline SVG (24 x 24, stroked in the text's colour; "rec" is
// filled): never emoji, which a tablet or display without an emoji font shows as empty boxes.
// icon("eye") is an <svg class="icon icon-eye" aria-hidden="true">; in a page's HTML,
// <span data-icon="eye"></span> gets one when the page loads. The words beside it say what it means.
const ICONS = {
  eye: "M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z M9 12a3 3 0 1 0 6 0a3 3 0 1 0-6 0",
  unlock: "M5 11h14v10H5z M8 11V7a4 4 0 0 1 7.7-1.5 M12 15v2",
  hand: "M8 13V5.5a1.5 1.5 0 0 1 3 0V11 M11 10.5V4a1.5 1.5 0 0 1 3 0v7 M14 10.5V5.5a1.5 1.5 0 0 1 3 0V12 " +
        "M17 11.5V9a1.5 1.5 0 0 1 3 0v5a7 7 0 0 1-7 7h-1.2a6 6 0 0 1-4.9-2.6L4 14.3a1.5 1.5 0 0 1 2.4-1.8L8 14.5",
  headset: "M2 8h20v8h-6.5l-2-2.5h-3l-2 2.5H2z M6 11.5h3 M15 11.5h3",
  flask: "M9 3h6 M10 3v6.5L4.8 18.3A2 2 0 0 0 6.5 21h11a2 2 0 0 0 1.7-2.7L14 9.5V3 M7.5 15h9",
  check: "M4.5 12.5l5 5L19.5 7",
  cross: "M6 6l12 12 M18 6L6 18",
  bolt: "M13 2L4.5 13.5H11L10 22l8.5-11.5H12z",
  rec: "M6 12a6 6 0 1 0 12 0a6 6 0 1 0-12 0",
};
function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-icon]").forEach(node => node.replaceChildren(icon(node.dataset.icon)));
});

// An element, in one of two forms:
//   el("button", {class: "primary", text: "Gửi", type: "button", onclick: send, disabled: false}, ...children)
//     attributes that are null, undefined or false are left out, true is an empty attribute;
//     "text" is the text content, "on<event>" a listener; children are nodes or strings
//     (arrays flattened, null left out). No attributes: {}.
//   el("td", text, className): a leaf (a cell, a pill); a null text or class is left out.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs === null || typeof attrs !== "object") {
    if (attrs != null) node.textContent = attrs;
    if (children[0]) node.className = children[0];
    return node;
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// --- the hub's JSON APIs ------------------------------------------------------------------

// An answer of the hub that is not 2xx. status: the HTTP status; code: the body's "error" (null
// when the body is not the hub's JSON); detail: the hub's explanation (its "detail"; "message"
// from routes that still answer that way; the text of a plain-text answer), or null.
// message, what a page shows: the catalogue's words for the code ("error.no_reply"), in the
// reader's language, then for a refused value the hub's detail, which names the field; the
// hub's detail as it is only for a code the catalogue has no words for yet.
// A network failure is not an ApiError: it is fetch's TypeError, with no status.
const DETAIL_NAMES_WHERE = new Set(["invalid", "invalid_command", "invalid_lesson", "invalid_scene", "malformed_request"]);
function errorWords(code, detail) {
  const text = code ? I18N.strings["error." + code] : undefined;
  if (!text) return null;
  return detail && DETAIL_NAMES_WHERE.has(code) ? `${text} (${detail})` : text;
}
class ApiError extends Error {
  constructor(status, code, detail) {
    super(errorWords(code, detail) || detail || code || String(status));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

// The login page, coming back here afterwards.
function toLogin() {
  location.href = `/login?next=${encodeURIComponent(location.pathname).replace(/%2F/g, "/")}`;
}

// Calls a JSON API of the hub and returns its answer (a 2xx that is not JSON: {}).
// options: method (GET, or POST when there is a body), body (any value: sent as JSON),
// login (false: a 401 is thrown like any error; otherwise it sends the user to the login page,
// then throws). Throws ApiError for any answer that is not 2xx.
async function api(path, options = {}) {
  const init = { method: options.method || (options.body === undefined ? "GET" : "POST"), credentials: "same-origin", headers: {} };
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";  // the hub refuses other types on its JSON APIs (415)
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, init);
  const type = (res.headers.get("Content-Type") || "").split(";")[0].trim();
  let answer = null;
  if (type === "application/json") answer = await res.json().catch(() => null);
  else if (!res.ok && type === "text/plain") answer = { detail: (await res.text().catch(() => "")).trim() || null };
  if (res.ok) return answer === null ? {} : answer;
  const problem = answer !== null && typeof answer === "object" ? answer : {};
  const err = new ApiError(res.status, problem.error || null, problem.detail || problem.message || null);
  if (res.status === 401 && options.login !== false) toLogin();
  throw err;
}

// --- live feeds ---------------------------------------------------------------------------

// A WebSocket to the hub (path: "/ws/..."), kept open: after any drop it opens again, first
// after about half a second, then twice as long each time up to maxDelay (10 s), each wait a
// random half to whole of that, so that 40 tablets do not all come back in the same instant
// after the hub restarts; a connection that opens starts the waits over.
// handlers: onMessage(message, conn) for each message (text parsed as JSON, binary as its Blob),
// onOpen(conn) and onClose(conn) each time the connection comes and goes (not after close()),
// minDelay, maxDelay, openTimeout in ms (10 s: an attempt that has not opened by then, its
// packets lost on a Wi-Fi that is gone, is given up and the next one starts afresh). While the page sits in the browser's back-forward cache the socket
// is closed (an open one would keep the page out of it, or hold a connection for nobody), and
// opened again when the page comes back.
// Returns conn: conn.state ("connecting", "open", "closed" until the next try, "hidden",
// "stopped"), conn.send(message) -> false when not open, conn.reconnect() drops the connection
// now, without waiting for a silent link to finish closing (the next one follows as after any
// drop), conn.close() for good.
function live(path, handlers = {}) {
  const minDelay = handlers.minDelay || 500;
  const maxDelay = handlers.maxDelay || 10000;
  let ws = null;
  let timer = null;
  let delay = minDelay;
  const conn = { state: "connecting" };
  let silentMs = 0;
  let watchdog = null;

  // Nothing heard for `ms` on this socket: give it up now (the same as after any drop).
  function watch(socket, ms) {
    silentMs = ms;
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (ws === socket) { lost(socket); try { socket.close(); } catch (e) { /* already closing */ } }
    }, ms);
  }

  function open() {
    timer = null;
    conn.state = "connecting";
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`);
    ws = socket;
    const opening = setTimeout(() => {
      if (ws === socket && socket.readyState === WebSocket.CONNECTING) { lost(socket); socket.close(); }
    }, handlers.openTimeout || 10000);
    socket.onopen = () => {
      clearTimeout(opening);
      if (ws !== socket) return;
      delay = minDelay;
      conn.state = "open";
      if (silentMs) watch(socket, silentMs);
      if (handlers.onOpen) handlers.onOpen(conn);
    };
    socket.onmessage = ev => {
      if (ws !== socket) return;
      const msg = typeof ev.data === "string" ? JSON.parse(ev.data) : ev.data;
      // A feed that beats (the hub's live feeds): three beats of silence mean a dead link.
      if (msg && msg.type === "beat" && typeof msg.every_s === "number") {
        watch(socket, msg.every_s * 3000 + 1000);
        return;
      }
      if (silentMs) watch(socket, silentMs);
      if (handlers.onMessage) handlers.onMessage(msg, conn);
    };
    socket.onclose = () => { clearTimeout(opening); clearTimeout(watchdog); lost(socket); };
  }

  // The connection is gone: tell, and try again after the wait.
  function lost(socket) {
    if (ws !== socket) return;  // closed by close(), while hidden, or given up already: no retry
    ws = null;
    conn.state = "closed";
    const wait = delay / 2 + Math.random() * delay / 2;
    delay = Math.min(delay * 2, maxDelay);
    timer = setTimeout(open, wait);
    if (handlers.onClose) handlers.onClose(conn);
  }

  function drop(state) {
    clearTimeout(timer);
    clearTimeout(watchdog);
    timer = null;
    const socket = ws;
    ws = null;
    conn.state = state;
    if (socket) socket.close();
  }

  conn.send = message => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  };
  // Given up at once, not after the closing handshake: over a link that went silent the browser
  // waits up to a minute for the hub's answer to its close, and the page would say nothing.
  conn.reconnect = () => {
    const socket = ws;
    if (!socket) return;
    lost(socket);
    socket.close();
  };
  conn.close = () => {
    drop("stopped");
    removeEventListener("pagehide", hide);
    removeEventListener("pageshow", show);
  };
  function hide(ev) { if (ev.persisted && conn.state !== "stopped") drop("hidden"); }
  function show(ev) { if (ev.persisted && conn.state === "hidden") { delay = minDelay; open(); } }
  addEventListener("pagehide", hide);
  addEventListener("pageshow", show);
  open();
  return conn;
}
