// The student's tablet: join with the class code, pick your name, follow the lesson,
// answer, raise your hand. Everything needed to carry on after a Wi-Fi drop or a reload
// (seat token, last revision and state, answers not yet confirmed) is kept in localStorage.
"use strict";

const saved = {
  get(k) { try { return JSON.parse(localStorage.getItem("lesson." + k)); } catch (e) { return null; } },
  set(k, v) { localStorage.setItem("lesson." + k, JSON.stringify(v)); },
  del(k) { localStorage.removeItem("lesson." + k); },
};

if (!saved.get("client")) saved.set("client", Lesson.randomId());
const clientId = saved.get("client");
let seat = saved.get("seat");             // {token, run, code, student: {id, name}}
let pending = saved.get("pending") || {};  // step id -> the answer message not yet confirmed
let me = { hand: false, answers: {}, score: 0, max: 0 };
let socket = null;
let shownStep = null;
let selection = [];
const openedAt = {};  // step id -> when this tablet saw the question open (for the time taken)

function show(name) {
  for (const s of ["code", "name", "lesson", "replaced", "ended"]) $(s + "-screen").hidden = s !== name;
  $("bar").hidden = name !== "lesson";
  if (name !== "lesson") $("lock").hidden = true;
}

function t(key, vars) { return I18N.t(key, vars); }

function flash(text) {
  const box = $("flash");
  box.textContent = text;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { box.textContent = ""; }, 4000);
}

// --- joining ------------------------------------------------------------------------------

async function lookup(code) {
  $("code-error").textContent = "";
  let info;
  try { info = await api(`/api/lesson/join?code=${encodeURIComponent(code)}`, { login: false }); } catch (err) {
    $("code-error").textContent = t(err.code ? "join.error." + err.code : "join.error.network");
    return;
  }
  showNames(code, info);
}

function showNames(code, info) {
  show("name");
  $("class-title").textContent = info.class.title;
  $("lesson-title").textContent = info.lesson.title;
  $("name-error").textContent = "";
  $("pin-form").hidden = true;
  const box = $("names");
  box.replaceChildren(...info.students.map(s => el("button", {
    type: "button", class: "name" + (s.online ? " taken" : ""), "data-student": s.id,
    onclick: () => choose(code, s, null),
  }, s.name, s.online ? el("small", { text: t("join.in_class") }) : null)));
}

async function choose(code, student, pin) {
  if (student.pin && pin === null) {
    const form = $("pin-form");
    form.hidden = false;
    $("pin-label").textContent = t("join.pin_for", { name: student.name });
    $("pin").value = "";
    $("pin").focus();
    form.onsubmit = ev => { ev.preventDefault(); choose(code, student, $("pin").value); };
    return;
  }
  $("name-error").textContent = "";
  let body;
  try { body = await api("/api/lesson/join", { body: { code, student: student.id, client: clientId, pin }, login: false }); } catch (err) {
    if (!err.code) throw err;
    $("name-error").textContent = t("join.error." + err.code);
    return;
  }
  if (!seat || seat.run !== body.run) { saved.del("sync"); pending = {}; saved.set("pending", pending); }
  seat = { token: body.token, run: body.run, code, student: body.student };
  saved.set("seat", seat);
  connect();
}

function leaveSeat() {
  if (socket) socket.stop();
  socket = null;
  seat = null;
  pending = {};
  shownStep = null;
  for (const k of ["seat", "sync", "pending"]) saved.del(k);
  $("who").textContent = "";
  show("code");
}

// --- the lesson ---------------------------------------------------------------------------

function connect() {
  show("lesson");
  $("who").textContent = seat.student.name;
  socket = new Lesson.Socket("student", {
    hello: s => ({ t: "hello", token: seat.token, run: s.run, rev: s.run ? s.rev : null }),
    state: onState,
    message: onMessage,
    status: s => { $("link").dataset.state = s; $("conn").hidden = s === "online"; if (s !== "online") JoinTools.offline(); },
  });
  JoinTools.attach(socket);
  const sync = saved.get("sync");
  if (sync && sync.run === seat.run) socket.restore(sync);
  render();  // what we knew before the reload, at once, even before the hub answers
  socket.open();
}

function onState(keys, msg) {
  if (msg.t === "welcome") {
    if (msg.me) me = msg.me;
    JoinTools.welcome();
    for (const answer of Object.values(pending)) socket.send(answer);  // same ids: counted once
  }
  saved.set("sync", { run: socket.run, rev: socket.rev, state: socket.state });
  render();
}

function onMessage(msg) {
  if (msg.t === "me") { me = msg.me; render(); }
  else if (msg.t === "answered") { delete pending[msg.step]; saved.set("pending", pending); render(); }
  else if (msg.t === "bye") {
    if (msg.reason === "replaced") { socket.stop(); show("replaced"); }
    else if (msg.reason === "relaunched") leaveSeat();
  } else if (msg.t === "error") {
    if (msg.code === "bad_token") { leaveSeat(); $("code-error").textContent = t("join.error.bad_token"); }
    else if (msg.ref === "answer") {
      const step = socket.state.step;
      if (step) { delete pending[step.id]; saved.set("pending", pending); }
      flash(t("join.error." + msg.code));
      render();
    } else flash(t("join.error." + msg.code));
  }
}

function render() {
  const st = socket ? socket.state : {};
  if (!st.step) return;
  $("title").textContent = st.lesson ? st.lesson.title : t("join.title");
  JoinTools.render(st, seat.student.id);
  if (st.ended) { showEnded(st); return; }
  const step = st.step;
  const total = st.lesson ? st.lesson.steps.length : 0;
  $("step-no").textContent = t("join.step_of", { n: step.index + 1, total });
  $("step-title").textContent = step.title || "";
  if (shownStep !== step.id) {
    shownStep = step.id;
    selection = [];
    Lesson.renderStep($("step"), step);
  }
  renderQuestion(st);
  renderReveal(st);
  $("lock").hidden = !st.locked;
  const hand = $("hand");
  hand.replaceChildren(icon("hand"), " ", me.hand ? t("join.lower_hand") : t("join.raise_hand"));
  hand.setAttribute("aria-pressed", me.hand ? "true" : "false");
  hand.classList.toggle("up", me.hand);
  $("score").textContent = me.max ? t("join.score", { score: me.score, max: me.max }) : "";
}

function chosenText(step, value) {
  if (typeof value === "string") return value;
  return value.map(id => (step.choices.find(c => c.id === id) || { text: id }).text).join(", ");
}

function renderQuestion(st) {
  const box = $("question");
  box.replaceChildren();
  const step = st.step, q = st.question;
  if (!q || q.step !== step.id) return;
  const mine = me.answers[step.id] || (pending[step.id] && { value: pending[step.id].choice || pending[step.id].text, sending: true });
  const revealed = st.reveal && st.reveal.step === step.id;
  if (mine) {
    box.append(el("p", { class: "answered" + (mine.correct === true ? " right" : mine.correct === false ? " wrong" : "") },
      mine.sending ? t("join.sending") : t("join.your_answer"), " ", el("strong", { text: chosenText(step, mine.value) }),
      mine.correct === true ? el("span", { class: "mark" }, " ", icon("check"), " " + t("join.right", { points: mine.points })) : null,
      mine.correct === false ? el("span", { class: "mark" }, " ", icon("cross"), " " + t("join.wrong")) : null));
  }
  if (revealed && step.choices) {
    const right = new Set(st.reveal.correct || []);
    box.append(el("div", { class: "choices" }, step.choices.map(c => el("div", {
      class: "choice" + (right.has(c.id) ? " right" : "") + (mine && Array.isArray(mine.value) && mine.value.includes(c.id) ? " chosen" : ""),
    }, c.text))));
    return;
  }
  if (mine) return;
  if (q.state === "ready") { box.append(el("p", { class: "waiting", text: t("join.wait_start") })); return; }
  if (q.state === "closed") { box.append(el("p", { class: "waiting", text: t("join.closed") })); return; }
  if (!openedAt[step.id]) openedAt[step.id] = Date.now();
  if (q.deadline) box.append(el("p", { class: "countdown", id: "countdown" }));
  if (step.kind === "quiz" && step.type === "short_answer") {
    const input = el("input", { id: "answer-text", class: "answer-text", maxlength: 500, autocomplete: "off", "aria-label": t("join.type_answer") });
    box.append(el("form", { class: "code-form", onsubmit: ev => { ev.preventDefault(); if (input.value.trim()) submit(step, { text: input.value.trim() }); } },
      input, el("button", { class: "primary", type: "submit", text: t("join.send") })));
    return;
  }
  const multiple = step.type === "multiple_choice" || step.allow_multiple;
  box.append(el("p", { class: "muted", text: multiple ? t("join.choose_many") : t("join.choose_one") }));
  box.append(el("div", { class: "choices" }, step.choices.map(c => el("button", {
    type: "button", class: "choice" + (selection.includes(c.id) ? " chosen" : ""), "data-choice": c.id,
    onclick: () => {
      if (!multiple) { submit(step, { choice: [c.id] }); return; }
      selection = selection.includes(c.id) ? selection.filter(x => x !== c.id) : [...selection, c.id];
      renderQuestion(socket.state);
    },
  }, c.text))));
  if (multiple) {
    box.append(el("button", { class: "primary", type: "button", disabled: selection.length === 0,
      onclick: () => submit(step, { choice: step.choices.map(c => c.id).filter(id => selection.includes(id)) }), text: t("join.send") }));
  }
}

function submit(step, value) {
  const answer = { t: "answer", id: Lesson.randomId(), step: step.id, ...value,
                   elapsed_ms: Math.max(0, Date.now() - (openedAt[step.id] || Date.now())) };
  pending[step.id] = answer;
  saved.set("pending", pending);
  socket.send(answer);  // if the Wi-Fi is down it goes with the next hello
  render();
}

function renderReveal(st) {
  const box = $("reveal");
  box.replaceChildren();
  const reveal = st.reveal;
  if (!reveal || reveal.step !== st.step.id) return;
  if (reveal.accepted && reveal.accepted.length) box.append(el("p", {}, t("join.accepted"), " ", el("strong", { text: reveal.accepted[0] })));
  if (reveal.numeric) box.append(el("p", {}, t("join.accepted"), " ", el("strong", { text: `${reveal.numeric.value} ${reveal.numeric.units[0] || ""}` })));
  if (reveal.explanation) box.append(el("p", { class: "explanation", text: reveal.explanation }));
}

function showEnded(st) {
  show("ended");
  $("final-score").textContent = t("join.score", { score: me.score, max: me.max });
  const steps = st.lesson ? st.lesson.steps : [];
  let n = 0;
  $("my-results").replaceChildren(...steps.filter(s => s.kind === "quiz").map(s => {
    n += 1;
    const mine = me.answers[s.id];
    const mark = !mine ? [t("join.not_answered")]
      : mine.correct ? [icon("check"), " " + t("join.right", { points: mine.points })] : [icon("cross"), " " + t("join.wrong")];
    return el("li", { class: mine && mine.correct ? "right" : "wrong" }, `${s.title || t("join.question_n", { n })}: `, mark);
  }));
}

function tick() {
  if (socket) JoinTools.tick(socket.state);
  const box = $("countdown");
  const q = socket && socket.state.question;
  if (!box || !q || !q.deadline) return;
  const left = Math.max(0, Math.round((q.deadline * 1000 - socket.hubNow()) / 1000));
  box.textContent = t("join.seconds_left", { n: left });
}

(async () => {
  await I18N.load();
  document.title = I18N.t("join.title");
  $("code-form").addEventListener("submit", ev => { ev.preventDefault(); lookup($("code").value.trim()); });
  $("back").addEventListener("click", () => show("code"));
  $("hand").addEventListener("click", () => socket && socket.send({ t: "hand", up: !me.hand }));
  $("take-back").addEventListener("click", () => connect());
  $("done").addEventListener("click", () => leaveSeat());
  $("sent-close").addEventListener("click", () => JoinTools.close());
  setInterval(tick, 500);
  const code = new URLSearchParams(location.search).get("code");
  if (seat && seat.token && (!code || code === seat.code)) { connect(); return; }
  show("code");
  if (code) { $("code").value = code; lookup(code); }
})();
