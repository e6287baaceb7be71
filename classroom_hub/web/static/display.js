// The 86" display: the current step full-screen, the join code and QR code, live results,
// who has joined. Read-only: it sends nothing but acknowledgements. It shows the class code
// only once paired with the hub (a code from the technician console, or /display?pair=CODE):
// until then, and after a technician revokes it, it explains how to pair it.
"use strict";

let socket = null;
let shownStep = null;
let shownCode = undefined;
let results = null;
let names = [];

async function loadQr(code) {
  // The QR code carries the hub's address (and the lesson's code): tablets scan it to join.
  const res = await fetch(`/api/lesson/qr.svg?c=${encodeURIComponent(code || "")}`);
  if (!res.ok) return;
  const url = res.headers.get("X-Join-Url") || `${location.origin}/join`;
  const src = URL.createObjectURL(await res.blob());
  for (const id of ["qr-small", "qr-big"]) $(id).src = src;
  $("join-url").textContent = url.replace(/\?.*$/, "");
}

function render() {
  const st = socket.state;
  $("pair-screen").hidden = true;
  const running = Boolean(st.step) && !st.ended;
  $("waiting").hidden = running;
  $("stage").hidden = !running;
  $("join-box").hidden = !running;
  $("waiting-title").textContent = I18N.t(st.ended ? "display.ended" : "display.waiting");
  const code = running ? st.code : null;
  if (code !== shownCode) { shownCode = code; loadQr(code); }
  $("big-code").textContent = code || "";
  $("code").textContent = code || "";
  $("lesson-title").textContent = st.lesson ? st.lesson.title : I18N.t("display.title");
  $("class-title").textContent = st.class ? st.class.title : "";
  renderRoll(st);
  renderTools(st);
  if (!running) { shownStep = null; $("step-no").textContent = ""; return; }
  const step = st.step;
  $("step-no").textContent = I18N.t("display.step_of", { n: step.index + 1, total: st.lesson.steps.length });
  if (shownStep !== step.id) {
    shownStep = step.id;
    Lesson.renderStep($("step"), step);
  }
  renderResults(st);
}

function renderResults(st) {
  const step = st.step;
  const isQuestion = step && (step.kind === "quiz" || step.kind === "poll");
  $("question").hidden = !isQuestion;
  if (!isQuestion) return;
  const mine = results && results.step === step.id ? results : null;
  // Until the teacher reveals the answer the display shows how many answered, not what.
  const hidden = Boolean(mine && mine.hidden);
  $("results-hidden").hidden = !hidden || (st.question && st.question.state === "ready");
  Lesson.chart($("chart"), hidden ? null : mine);
  const q = st.question;
  let line = "";
  if (mine) line = I18N.t("display.answered", { n: mine.answered, of: mine.of });
  if (q && q.state === "ready") line = I18N.t("display.get_ready");
  $("answered").textContent = line;
  const reveal = st.reveal && st.reveal.step === step.id ? st.reveal : null;
  $("explanation").textContent = reveal && reveal.explanation ? reveal.explanation : "";
}

// The teacher's tools on the big screen: the student picked, the groups (lessons/tools.py).
function renderTools(st) {
  const running = Boolean(st.step) && !st.ended;
  const picked = running && st.picked ? st.picked.student : null;
  $("picked").hidden = !picked;
  $("picked-name").textContent = picked ? picked.name : "";
  const groups = running ? st.groups : null;
  $("groups").hidden = !groups;
  $("group-cards").replaceChildren(...(groups ? Lesson.groupCards(groups, null) : []));
}

function renderRoll(st) {
  const online = names.filter(n => n.online);
  $("joined").textContent = st.step && !st.ended ? I18N.t("display.joined", { n: online.length }) : "";
  // Names fill the screen while the class arrives (first step); later only the count shows.
  const lobby = Boolean(st.step) && !st.ended && st.step.index === 0 && !st.groups;
  $("roll").hidden = !lobby;
  if (lobby) $("names").replaceChildren(...online.map(n => el("span", { class: "roll-name", text: n.name })));
}

// --- pairing ------------------------------------------------------------------------------

// What this screen is to the hub: {display} when paired, {teacher} for a signed-in teacher,
// null when not paired; throws when the hub cannot be reached.
async function whoAmI() {
  try { return await api("/api/display", { login: false }); } catch (err) { if (err.status === 401) return null; throw err; }
}

async function pairWith(code) {
  $("pair-error").textContent = "";
  try { await api("/api/display/pair", { body: { code }, login: false }); } catch (err) {
    const why = !err.code ? "network" : err.code === "invalid" ? "bad_code" : err.code;
    $("pair-error").textContent = I18N.t("display.pair.error." + why);
    return false;
  }
  return true;
}

function showPairing() {
  if (socket) socket.stop();
  socket = null;
  shownCode = undefined;
  for (const id of ["waiting", "stage", "roll", "join-box", "timer", "groups"]) $(id).hidden = true;
  for (const id of ["step-no", "joined", "code", "big-code", "join-url"]) $(id).textContent = "";
  for (const id of ["qr-small", "qr-big"]) $(id).src = "data:,";
  $("link").dataset.state = "offline";
  $("conn").hidden = true;  // not a lost link: this screen is not paired
  $("pair-screen").hidden = false;
  $("pair-code").focus();
}

// Offline: the hub is away, or this display was revoked; ask before trying again.
async function checkPairing() {
  try { if (await whoAmI() === null) showPairing(); } catch (e) { /* the hub is away: the socket retries */ }
}

function startLesson() {
  socket = new Lesson.Socket("display", {
    state: () => render(),
    message: msg => {
      if (msg.t === "results") { results = msg.results; if (socket.state.step) renderResults(socket.state); }
      else if (msg.t === "class") { names = msg.students; renderRoll(socket.state); }
      else if (msg.t === "bye" && msg.reason === "unpaired") showPairing();
    },
    status: s => { $("link").dataset.state = s; $("conn").hidden = s === "online"; if (s === "offline") checkPairing(); },
  });
  render();
  socket.open();
}

async function start() {
  let me;
  try { me = await whoAmI(); } catch (e) { setTimeout(start, 3000); return; }
  if (me) startLesson(); else showPairing();
}

(async () => {
  await I18N.load();
  document.title = I18N.t("display.title");
  $("pair-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    if (await pairWith($("pair-code").value.trim())) { $("pair-code").value = ""; start(); }
  });
  // A pairing link (/display?pair=CODE) pairs this screen once; the code leaves the address bar.
  const code = new URLSearchParams(location.search).get("pair");
  if (code) {
    history.replaceState(null, "", "/display");
    try { if (await whoAmI() === null) await pairWith(code); } catch (e) { /* shown by start() */ }
  }
  setInterval(() => { if (socket) Lesson.showTimer($("timer"), socket.state, socket.hubNow()); }, 250);
  start();
})();
