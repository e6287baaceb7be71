// The teacher's console: pick a class and a lesson, launch, lead the steps, lock the
// tablets, run questions, watch every student, end with a summary.
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
let headsets = null;       // the last "headsets" message: the room's headsets on a vr_scene step

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
  const [classes, list] = await Promise.all([api("/api/classes"), api("/api/lessons")]);
  $("class-select").replaceChildren(...classes.map(c =>
    el("option", { value: c.id, text: `${c.title} (${t("teacher.n_students", { n: c.students })})` })));
  lessons = list;
  $("lesson-select").replaceChildren(...lessons.map(l =>
    el("option", { value: l.id, text: `${l.title} - ${t("teacher.grade", { n: l.grade })}` })));
  describeLesson();
}

function describeLesson() {
  const chosen = lessons.find(l => l.id === $("lesson-select").value);
  $("lesson-info").textContent = chosen ? t("teacher.lesson_info", { steps: chosen.step_count, version: chosen.version }) : "";
}

// --- during the lesson ----------------------------------------------------------------------

async function ensureManifest(hash) {
  if (manifestHash === hash) return;
  manifestHash = hash;
  manifest = await api(`/api/lessons/${hash}`).then(body => body.manifest, () => null);
  render();
}

function render() {
  const st = socket.state;
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
  $("lock").textContent = st.locked ? t("teacher.unlock") : t("teacher.lock");
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
  const online = students.filter(s => s.state === "online").length;
  $("joined-count").textContent = t("teacher.joined", { n: online, total: students.length });
  const grid = $("student-grid");
  grid.replaceChildren(...students.map(s => {
    const where = s.state !== "online" ? t("teacher.state." + s.state)
      : s.behind ? t("teacher.behind") : s.at_step == null ? "" : t("teacher.at_step", { n: s.at_step + 1 });
    const link = s.state === "online" && s.rtt_ms != null ? `${Math.round(Math.max(s.rtt_ms, s.pending_ms))} ms` : "";
    return el("div", { class: `student st-${s.state} q-${s.quality}` + (s.hand ? " hand" : ""), "data-student": s.id },
      el("span", { class: "dot", title: t("teacher.quality." + s.quality) }),
      el("span", { class: "name", text: s.name }),
      el("span", { class: "where", text: where }),
      s.answered ? el("span", { class: "badge ok", title: t("teacher.has_answered"), text: "✓" }) : null,
      s.hand ? el("button", { type: "button", class: "badge hand", title: t("teacher.lower"), onclick: () => send("lower", { student: s.id }), text: "✋" }) : null,
      el("span", { class: "link", text: link }),
      s.state === "online" ? el("button", { type: "button", class: "resync", title: t("teacher.resync"), "aria-label": t("teacher.resync"), onclick: () => send("resync", { student: s.id }), text: "⟳" }) : null);
  }));
}

// "38/40 đã mở cảnh, 2 mất kết nối: H07, H22": the fleet's group command, in the page's language.
function headsetsLine(h) {
  if (h.state === "sending") return t(`teacher.headsets.sending.${h.command}`, { n: h.total });
  const parts = [];
  for (const outcome of ["offline", "no_reply", "failed", "unknown_device"]) {
    const ids = h.results.filter(r => r.outcome === outcome).map(r => r.device_id);
    if (ids.length) parts.push(`${ids.length} ${t("teacher.headsets.outcome." + outcome)}: ${ids.join(", ")}`);
  }
  return `${h.counts.ok}/${h.total} ${t("teacher.headsets.done." + h.command)}` + (parts.length ? `, ${parts.join("; ")}` : "");
}

function renderHeadsets() {
  const st = socket.state;
  const h = headsets && headsets.command === "launch_scene" && st.step && headsets.step === st.step.id ? headsets : null;
  $("headsets").hidden = !h;
  if (!h) return;
  $("headsets-summary").textContent = headsetsLine(h);
  $("headsets-summary").dataset.state = h.state;
  $("headsets-problems").replaceChildren(...(h.results || []).filter(r => r.outcome === "failed" || r.outcome === "no_reply")
    .map(r => el("li", { text: `${r.device_id}: ${r.error || t("teacher.headsets.outcome." + r.outcome)}` })));
}

// --- after the lesson -----------------------------------------------------------------------

function showSummary() {
  showingSummary = true;
  view("summary");
  const s = summary;
  $("sum-lesson").textContent = `${s.lesson.title} · ${s.class.title}`;
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
  $("launch").addEventListener("click", () => {
    showingSummary = false;
    send("launch", { lesson: $("lesson-select").value, class: $("class-select").value });
  });
  $("prev").addEventListener("click", () => send("prev"));
  $("next").addEventListener("click", () => send("next"));
  $("lock").addEventListener("click", () => send("lock", { on: !socket.state.locked }));
  $("lower-all").addEventListener("click", () => send("lower"));
  $("end").addEventListener("click", () => { if (confirm(t("teacher.end_confirm"))) send("end"); });
  $("q-start").addEventListener("click", () => send("question", { action: "start" }));
  $("q-close").addEventListener("click", () => send("question", { action: "close" }));
  $("q-reveal").addEventListener("click", () => send("question", { action: "reveal" }));
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
      else if (msg.t === "results") { results = msg.results; if (!$("running").hidden) renderResults(); }
      else if (msg.t === "summary") { summary = msg.summary; showSummary(); }
      else if (msg.t === "headsets") {
        if (msg.command === "launch_scene") { headsets = msg; if (!$("running").hidden) renderHeadsets(); }
        else if (msg.state === "done") toast(headsetsLine(msg));
      }
      else if (msg.t === "error") toast(t("teacher.error." + msg.code) + (msg.code === "invalid" ? ` (${msg.message})` : ""));
    },
    status: s => { $("link").dataset.state = s; },
  });
  view("setup");
  await loadChoices();
  socket.open();
})();
