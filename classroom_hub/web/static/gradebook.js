// The gradebook (gradebook.html): a class's marks across lessons, out of 10, with averages;
// with ?run=<id>, one lesson's results as a page to print on A4 (gradebook.css).
// Everything comes from /api/results/... (classroom_hub/lessons/web_results.py), made from what
// the hub has stored: the same after a restart.
"use strict";

const query = new URLSearchParams(location.search);

function mark(value) {
  return value == null ? "" : value.toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 1 });
}

function when(ts) {
  return new Date(ts * 1000).toLocaleString(I18N.lang === "vi" ? "vi-VN" : "en-GB",
    { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

function day(ts) {
  return new Date(ts * 1000).toLocaleDateString(I18N.lang === "vi" ? "vi-VN" : "en-GB", { day: "2-digit", month: "2-digit" });
}

function csvLinks(base, plain, semicolon) {
  $(plain).href = `${base}?lang=${I18N.lang}`;
  $(semicolon).href = `${base}?lang=${I18N.lang}&sep=semicolon`;
}

function showProblem(err) {
  $("problem").textContent = err.status === 404 ? I18N.t("results.not_found") : I18N.t("results.failed", { detail: err.message });
}

// --- a class's gradebook -------------------------------------------------------------------

async function showBook() {
  $("book").hidden = false;
  document.title = I18N.t("gradebook.title");
  const { classes } = await api("/api/results/classes");
  const pick = $("class-pick");
  pick.replaceChildren(...classes.map(c => new Option(`${c.title} (${I18N.t("gradebook.lessons", { n: c.runs })})`, c.id)));
  if (!classes.length) {
    $("book-empty").hidden = false;
    return;
  }
  const wanted = query.get("class");
  pick.value = classes.some(c => c.id === wanted) ? wanted : classes[0].id;
  pick.addEventListener("change", () => {
    history.replaceState(null, "", `?class=${encodeURIComponent(pick.value)}`);
    loadBook(pick.value);
  });
  $("book-print").addEventListener("click", () => window.print());
  await loadBook(pick.value);
}

async function loadBook(classId) {
  const book = await api(`/api/results/classes/${encodeURIComponent(classId)}`);
  $("book-title").textContent = book.class.title;
  csvLinks(`/api/results/classes/${encodeURIComponent(classId)}/gradebook.csv`, "book-csv", "book-csv-semicolon");
  const table = $("book-table");
  const head = el("tr", {}, el("th", I18N.t("results.col.student")),
    book.runs.map(r => el("th", { class: "num run", title: `${r.lesson.title} — ${when(r.started_at)}` },
      el("a", { href: `/gradebook?run=${encodeURIComponent(r.run)}` }, r.lesson.title), el("br"), el("span", day(r.started_at), "muted"))),
    el("th", I18N.t("gradebook.average"), "num"), el("th", I18N.t("gradebook.absences"), "num"));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...book.students.map(s => {
    const tr = el("tr", { "data-student": s.id }, el("td", s.name));
    for (const r of book.runs) {
      const m = s.marks[r.run];
      tr.append(m == null ? el("td", I18N.t("results.absent"), "num absent") : el("td", mark(m), m < 5 ? "num mark-low" : "num"));
    }
    tr.append(el("td", mark(s.average10), "num"), el("td", String(s.absent), "num"));
    return tr;
  }));
  table.tFoot.replaceChildren(el("tr", {}, el("td", I18N.t("gradebook.class_average")),
    book.runs.map(r => el("td", mark(r.average10), "num")), el("td", mark(book.average10), "num"), el("td", "")));
}

// --- one lesson's results ------------------------------------------------------------------

async function showRun(runId) {
  const r = await api(`/api/results/runs/${encodeURIComponent(runId)}`);
  $("summary").hidden = false;
  document.title = `${r.lesson.title} — ${r.class.title}`;
  $("run-lesson").textContent = r.lesson.title;
  $("run-class").textContent = r.class.title;
  $("run-date").textContent = when(r.started_at) + (r.ended_at ? ` – ${new Date(r.ended_at * 1000).toLocaleTimeString(I18N.lang === "vi" ? "vi-VN" : "en-GB", { hour: "2-digit", minute: "2-digit" })}` : "");
  $("run-teacher").textContent = r.teacher;
  $("run-attendance").textContent = I18N.t("results.attendance_of", { present: r.attendance.present, total: r.attendance.total });
  $("run-average").textContent = r.average10 == null ? "—" : `${mark(r.average10)} / 10`;
  $("back").href = `/gradebook?class=${encodeURIComponent(r.class.id)}`;
  csvLinks(`/api/results/runs/${encodeURIComponent(runId)}/results.csv`, "run-csv", "run-csv-semicolon");
  $("run-print").addEventListener("click", () => window.print());

  $("questions").tBodies[0].replaceChildren(...r.questions.map(q => {
    let right = "";
    if (q.kind === "quiz") right = q.answered ? `${q.right} (${q.percent}%)` : "0";
    else right = q.choices.map(c => `${c.text}: ${c.count}`).join(" · ");
    return el("tr", { "data-step": q.step }, el("td", `${q.number}`, "num"),
      el("td", {}, q.prompt, q.kind === "poll" ? el("span", ` (${I18N.t("results.kind.poll")})`, "muted") : null),
      el("td", q.correct || ""), el("td", String(q.answered), "num"), el("td", right, q.kind === "quiz" ? "num" : ""));
  }));

  const quizzes = r.questions.filter(q => q.kind === "quiz");
  $("students").tHead.replaceChildren(el("tr", {}, el("th", "#", "num"), el("th", I18N.t("results.col.student")),
    quizzes.map(q => el("th", { class: "q", title: q.prompt }, I18N.t("results.col.q", { n: q.number }))),
    el("th", I18N.t("results.col.right"), "num"), el("th", I18N.t("results.col.points"), "num"), el("th", I18N.t("results.col.mark10"), "num")));
  $("students").tBodies[0].replaceChildren(...r.students.map((s, i) => {
    const tr = el("tr", { "data-student": s.id }, el("td", String(i + 1), "num"), el("td", s.name));
    if (!s.present) {
      tr.append(el("td", { colspan: quizzes.length + 3, class: "absent" }, I18N.t("results.absent")));
      return tr;
    }
    for (const q of quizzes) {
      const a = s.answers[q.step];
      if (!a) tr.append(el("td", "–", "none"));
      else tr.append(el("td", { class: a.correct ? "ok" : "ko", title: a.text }, I18N.t(a.correct ? "results.mark.right" : "results.mark.wrong")));
    }
    tr.append(el("td", `${s.right}/${quizzes.length}`, "num"), el("td", `${mark(s.points)}/${mark(s.max)}`, "num"),
      el("td", mark(s.score10), s.score10 != null && s.score10 < 5 ? "num mark-low" : "num"));
    return tr;
  }));
}

(async () => {
  await I18N.load();
  try {
    const run = query.get("run");
    if (run) await showRun(run);
    else await showBook();
  } catch (err) {
    showProblem(err);
  }
})();
