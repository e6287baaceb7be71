// The teacher's console: pick a class and a lesson, launch, lead the steps, lock the
// tablets, run questions, watch every tablet (teacher_tablets.js), use the classroom tools
// (teacher_tools.js), end with a summary.
"use strict";

const t = (key, vars) => I18N.t(key, vars);
let socket = null;
let manifest = null;       // the whole lesson (with answers and notes) from /api/lessons/<hash>
let manifestHash = null;
let students = [];
let results = null;
let summary = null;
let lessons = [];
let showingSummary = false;
let headsets = null;       // the last "headsets" message: the room's headsets on a vr_scene step, or its AR devices on a model step
let files = [];            // the running lesson's files (one can be sent to the tablets)
let classes = [];
let room = null;           // the "room" message: its kind, robots, the links a teacher may send
let launching = null;      // the last launch asked for (sent again once a grade mismatch is confirmed)

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("shown"), 5000);
}

function send(t_, fields) { if (!socket.send({ t: t_, ...(fields || {}) })) toast(I18N.t("teacher.offline")); }

function view(name) {
  $("setup").hidden = name !== "setup";
  $("running").hidden = name !== "running";
  $("summary").hidden = name !== "summary";
}

// --- before the lesson ----------------------------------------------------------------------

async function loadChoices() {
  const [found, list] = await Promise.all([api("/api/classes"), api("/api/lessons")]);
  classes = found;
  $("class-select").replaceChildren(...classes.map(c =>
    el("option", { value: c.id, text: `${c.title} (${t("teacher.n_students", { n: c.students })})` })));
  lessons = list;
  $("lesson-select").replaceChildren(...lessons.map(l =>
    el("option", { value: l.id, text: `${l.title} - ${t("teacher.grade", { n: l.grade })}` })));
  describeLesson();
}

// The grade of the class's roster ("07"), when it is a number.
function classGrade(chosen) {
  return chosen && /^[0-9]+$/.test(chosen.grade || "") ? Number(chosen.grade) : null;
}

function describeLesson() {
  const chosen = lessons.find(l => l.id === $("lesson-select").value);
  $("lesson-info").textContent = chosen ? t("teacher.lesson_info", { steps: chosen.step_count, version: chosen.version }) : "";
  // Said before the click, not only in the question after it: a grade-10 lesson for grade 7.
  const klass = classes.find(c => c.id === $("class-select").value);
  const grade = classGrade(klass);
  const off = Boolean(chosen && klass && grade !== null && grade !== chosen.grade);
  $("grade-warning").hidden = !off;
  $("grade-warning").textContent = off ? t("teacher.grade_warning", { lesson: chosen.grade, grade, title: klass.title }) : "";
}

// --- during the lesson ----------------------------------------------------------------------

async function ensureManifest(hash) {
  if (manifestHash === hash) return;
  manifestHash = hash;
  const body = await api(`/api/lessons/${hash}`).catch(() => null);
  manifest = body ? body.manifest : null;
  files = body ? body.files || [] : [];
  render();
}

// The lab card (experiment.js, with the robots' emergency stop) opens by itself for a lab lesson
// or in a room with robots; otherwise it stays folded at the bottom, one click away.
function updateLab() {
  const st = socket.state;
  const lab = Boolean(room && (room.kind === "stem_lab" || room.robots > 0))
    || Boolean(st.lesson && !st.ended && st.lesson.steps.some(s => s.kind === "experiment"));
  const value = lab ? "open" : "folded";
  if (document.body.dataset.lab === value) return;
  document.body.dataset.lab = value;
  document.dispatchEvent(new Event("labchange"));
}

function render() {
  const st = socket.state;
  updateLab();
  if (!st.step) { if (!showingSummary) view("setup"); return; }
  if (st.ended) { if (summary) showSummary(); return; }
  view("running");
  ensureManifest(st.lesson.hash);
  $("run-lesson").textContent = st.lesson.title;
  $("run-class").textContent = st.class.title;
  if ($("code").textContent !== st.code) {
    $("code").textContent = st.code;
    $("qr").src = `/api/lesson/qr.svg?c=${st.code}`;
  }
  const step = st.step;
  $("step-no").textContent = t("teacher.step_of", { n: step.index + 1, total: st.lesson.steps.length });
  $("prev").disabled = step.index === 0;
  $("next").disabled = step.index === st.lesson.steps.length - 1;
  $("lock").replaceChildren(icon(st.locked ? "unlock" : "eye"), " ", st.locked ? t("teacher.unlock") : t("teacher.lock"));
  $("lock").classList.toggle("on", st.locked);
  $("steps").replaceChildren(...st.lesson.steps.map((s, i) => el("li", {
    class: (i === step.index ? "current " : "") + "kind-" + s.kind, "data-index": i,
  }, el("button", { type: "button", onclick: () => send("goto", { step: i }) },
    el("span", { class: "kind", text: t("lesson.kind." + s.kind) }), " ", s.title || (manifest && manifest.steps[i].prompt) || s.id))));
  if ($("preview").dataset.step !== step.id) {
    $("preview").dataset.step = step.id;
    Lesson.renderStep($("preview"), step);
  }
  const full = manifest ? manifest.steps[step.index] : null;
  $("notes").textContent = full && full.notes ? full.notes : "";
  $("notes").hidden = !(full && full.notes);
  renderAnswerKey(step, full);
  renderHeadsets();
  const q = st.question && st.question.step === step.id ? st.question : null;
  $("question-controls").hidden = !q;
  if (q) {
    $("question-state").textContent = t("teacher.q_state." + (q.revealed ? "revealed" : q.state));
    $("q-start").disabled = q.state === "open" || q.revealed;
    $("q-close").disabled = q.state !== "open";
    $("q-reveal").disabled = q.revealed;
    $("q-live").checked = Boolean(st.live_results);
  }
  renderResults();
  renderStudents();
}

function renderAnswerKey(step, full) {
  const box = $("answer-key");
  box.replaceChildren();
  if (!full || full.kind !== "quiz") return;
  let key;
  if (full.type === "short_answer") key = [...(full.accepted || []), full.numeric ? `${full.numeric.value} ${(full.numeric.units || [])[0] || ""}` : null].filter(Boolean).join(" | ");
  else key = full.choices.filter(c => full.correct.includes(c.id)).map(c => c.text).join(", ");
  box.append(el("p", {}, t("teacher.answer_key"), " ", el("strong", { text: key }), ` (${t("teacher.points", { n: full.points })})`));
}

function renderResults() {
  const st = socket.state;
  const mine = results && st.step && results.step === st.step.id ? results : null;
  $("results").hidden = !mine;
  if (!mine) return;
  Lesson.chart($("chart"), { ...mine, revealed: mine.revealed || mine.type !== "poll", right_choices: correctChoices(st.step) });
  let line = t("teacher.answered", { n: mine.answered, of: mine.of });
  if (mine.correct != null) line += " · " + t("teacher.right_wrong", { right: mine.correct, wrong: mine.wrong });
  $("answered-line").textContent = line;
  $("texts").replaceChildren(...(mine.texts || []).map(([text, n]) => el("li", { text: `${text} (${n})` })));
}

function correctChoices(step) {
  const full = manifest && step ? manifest.steps[step.index] : null;
  return full && full.kind === "quiz" && full.correct ? full.correct : [];
}

function renderStudents() {
  const st = socket.state;
  const online = students.filter(s => s.state === "online").length;
  $("joined-count").textContent = t("teacher.joined", { n: online, total: students.length });
  const hands = students.filter(s => s.hand);
  $("hands").hidden = hands.length === 0;
  $("hand-names").replaceChildren(...hands.map(s => el("button", { type: "button", class: "hand-name", title: t("teacher.lower"),
    onclick: () => send("lower", { student: s.id }), text: s.name })));
  TeacherTablets.render(students, st, manifest, send);
  TeacherTools.render(st, students, files, room);
}

// "38/40 đã mở cảnh, 2 mất kết nối: H07, H22": the fleet's group command, in the page's language.
function headsetsLine(h) {
  if (h.state === "sending") return t(`teacher.headsets.sending.${h.command}`, { n: h.total });
  const parts = [];
  for (const outcome of ["fetching", "offline", "no_reply", "failed", "unknown_device"]) {
    const ids = h.results.filter(r => r.outcome === outcome).map(r => r.device_id);
    if (ids.length) parts.push(`${ids.length} ${t("teacher.headsets.outcome." + outcome)}: ${ids.join(", ")}`);
  }
  return `${h.counts.ok}/${h.total} ${t("teacher.headsets.done." + h.command)}` + (parts.length ? `, ${parts.join("; ")}` : "");
}

function renderHeadsets() {
  const st = socket.state;
  const h = headsets && OPENING.includes(headsets.command) && st.step && headsets.step === st.step.id ? headsets : null;
  $("headsets").hidden = !h;
  if (!h) return;
  $("headsets-title").textContent = t(h.command === "open_model" ? "teacher.ar.title" : "teacher.headsets.title");
  if (h.state === "not_on_hub") {  // one line, not a refusal from every headset
    $("headsets-summary").textContent = t("teacher.headsets.not_on_hub", { content: h.content_id });
    $("headsets-summary").dataset.state = h.state;
    $("headsets-problems").replaceChildren();
    $("headsets-rows").hidden = true;
    return;
  }
  if (typeof TeacherScenes !== "undefined") TeacherScenes.rows(h.rows || [], $("headsets-rows"), null);
  $("headsets-summary").textContent = headsetsLine(h);
  $("headsets-summary").dataset.state = h.state;
  const problems = h.command === "open_model"  // the reason in the page's language, the device's own words after it
    ? (h.rows || []).filter(r => r.state === "model_failed")
      .map(r => `${r.device_id}: ${t("teacher.ar.reason." + r.reason)}` + (r.detail && r.reason === "refused" ? ` (${r.detail})` : ""))
    : (h.results || []).filter(r => r.outcome === "failed" || r.outcome === "no_reply")
      .map(r => `${r.device_id}: ${r.error || t("teacher.headsets.outcome." + r.outcome)}`);
  $("headsets-problems").replaceChildren(...problems.map(text => el("li", { text })));
}

const OPENING = ["launch_scene", "open_model"];  // the commands whose rows the teacher follows on the step

// --- after the lesson -----------------------------------------------------------------------

function showSummary() {
  showingSummary = true;
  view("summary");
  const s = summary;
  $("sum-lesson").textContent = `${s.lesson.title} · ${s.class.title}`;
  $("sum-results").href = `/gradebook?run=${encodeURIComponent(s.run)}`;  // CSV, printing, the class's gradebook
  $("sum-attendance").textContent = t("teacher.present", { n: s.attendance.present, total: s.attendance.total });
  $("sum-absent").textContent = s.attendance.absent.length ? t("teacher.absent", { names: s.attendance.absent.map(a => a.name).join(", ") }) : "";
  $("sum-questions").tBodies[0].replaceChildren(...s.questions.map(q => el("tr", {},
    el("td", { text: q.prompt }), el("td", { text: String(q.answered) }),
    el("td", { text: q.type === "poll" ? t("teacher.poll") : q.percent == null ? "–" : `${q.correct} (${q.percent} %)` }))));
  $("sum-help").replaceChildren(...(s.needs_help.length ? s.needs_help.map(h => el("li", {},
    el("strong", { text: h.name }), " – ", h.reasons.map(r => t("teacher.reason." + r)).join(", "))) : [el("li", { class: "muted", text: t("teacher.nobody") })]));
  $("sum-students").tBodies[0].replaceChildren(...s.students.map(p => el("tr", { class: p.present ? "" : "muted" },
    el("td", { text: p.name }), el("td", { text: p.present ? t("teacher.minutes", { n: p.minutes }) : t("teacher.state.absent") }),
    el("td", { text: `${p.points} / ${p.max}` }), el("td", { text: `${p.correct} / ${p.answered}` }))));
}

(async () => {
  await I18N.load();
  document.title = I18N.t("teacher.title");
  $("lesson-select").addEventListener("change", describeLesson);
  $("class-select").addEventListener("change", describeLesson);
  $("launch").addEventListener("click", () => {
    const lesson = lessons.find(l => l.id === $("lesson-select").value);
    const chosen = classes.find(c => c.id === $("class-select").value);
    if (!lesson || !chosen) return;
    launching = { lesson: lesson.id, class: chosen.id };
    // A grade-10 lesson for a grade-7 class is most likely the wrong pick: say so first.
    const grade = classGrade(chosen);
    if (grade !== null && grade !== lesson.grade) {
      if (!confirm(t("teacher.grade_mismatch", { lesson: lesson.grade, grade, title: chosen.title }))) return;
      launching.confirm = true;
    }
    showingSummary = false;
    send("launch", launching);
  });
  $("prev").addEventListener("click", () => send("prev"));
  $("next").addEventListener("click", () => send("next"));
  $("lock").addEventListener("click", () => send("lock", { on: !socket.state.locked }));
  $("lower-all").addEventListener("click", () => send("lower"));
  $("end").addEventListener("click", () => { if (confirm(t("teacher.end_confirm"))) send("end"); });
  $("q-start").addEventListener("click", () => send("question", { action: "start" }));
  $("q-close").addEventListener("click", () => send("question", { action: "close" }));
  $("q-reveal").addEventListener("click", () => send("question", { action: "reveal" }));
  $("q-live").addEventListener("change", () => send("live_results", { on: $("q-live").checked }));
  $("choose-none").addEventListener("click", () => TeacherTablets.clear());
  TeacherTools.init(send);
  setInterval(() => { if (socket && socket.state.step) Lesson.showTimer($("timer-left"), socket.state, socket.hubNow()); }, 250);
  $("new-lesson").addEventListener("click", () => { showingSummary = false; summary = null; view("setup"); });
  document.addEventListener("keydown", ev => {  // a presenter's clicker sends arrow / page keys
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT" || $("running").hidden) return;
    if (ev.key === "ArrowRight" || ev.key === "PageDown") send("next");
    if (ev.key === "ArrowLeft" || ev.key === "PageUp") send("prev");
  });
  socket = new Lesson.Socket("teacher", {
    state: () => render(),
    message: msg => {
      if (msg.t === "class") {
        if (msg.partial) {  // only the rows that changed
          const changed = new Map(msg.students.map(s => [s.id, s]));
          students = students.map(s => changed.get(s.id) || s);
        } else students = msg.students;
        if (!$("running").hidden) renderStudents();
      }
      else if (msg.t === "room") { room = msg; updateLab(); if (!$("running").hidden) renderStudents(); }
      else if (msg.t === "results") { results = msg.results; if (!$("running").hidden) renderResults(); }
      else if (msg.t === "summary") { summary = msg.summary; showSummary(); }
      else if (msg.t === "headsets") {
        if (OPENING.includes(msg.command)) { headsets = msg; if (!$("running").hidden) renderHeadsets(); }
        else if (msg.state === "done") toast(headsetsLine(msg));
      }
      else if (msg.t === "error" && msg.code === "grade_mismatch" && launching) {
        // The hub knows a grade this page did not: ask, as before launching.
        if (confirm(t("teacher.grade_mismatch_hub"))) send("launch", { ...launching, confirm: true });
      }
      else if (msg.t === "error" && msg.code === "link_not_allowed") {
        toast(t("teacher.error.link_not_allowed", { links: room && room.links.length ? room.links.join(", ") : t("teacher.send.no_links") }));
      }
      else if (msg.t === "error") toast(t("teacher.error." + msg.code) + (msg.code === "invalid" ? ` (${msg.message})` : ""));
    },
    status: s => { $("link").dataset.state = s; $("conn").hidden = s === "online"; },
  });
  view("setup");
  await loadChoices();
  socket.open();
})();
