// The teacher's classroom tools (lessons/tools.py): a countdown per activity, the random
// picker, pairs and groups, and sending a page, a link or a file to all or chosen tablets.
// Everything they set is in the lesson's state, so the page only sends commands and draws the
// state back. teacher.js calls TeacherTools.init() once and render() on every change.
"use strict";

const TeacherTools = (() => {
  const t = (key, vars) => I18N.t(key, vars);
  let send = () => false;
  let last = { st: {}, students: [], files: [], room: null };

  function groupsOf(st) { return st.groups ? st.groups.groups.map(g => g.map(m => m.id)) : []; }

  function setGroups(groups) {
    const kept = groups.filter(g => g.length);
    if (kept.length) send("groups", { action: "set", groups: kept }); else send("groups", { action: "clear" });
  }

  // --- countdown ------------------------------------------------------------------------------

  function renderTimer(st) {
    const timer = st.timers && st.step ? st.timers[st.step.id] : null;
    $("timer-pause").disabled = $("timer-add").disabled = $("timer-clear").disabled = !timer;
    $("timer-pause").textContent = t(timer && timer.ends_at == null ? "teacher.timer.resume" : "teacher.timer.pause");
    $("timer-none").hidden = Boolean(timer);
  }

  // --- picker ---------------------------------------------------------------------------------

  function renderPick(st, students) {
    const picked = st.picked && st.picked.student;
    $("picked").textContent = picked ? picked.name : "";
    $("pick-clear").disabled = !picked;
    const present = students.filter(s => s.state === "online");
    const done = st.picked ? st.picked.round.filter(id => present.some(s => s.id === id)).length : 0;
    $("pick-round").textContent = present.length ? t("teacher.pick.round", { n: done, of: present.length }) : t("teacher.pick.nobody");
  }

  // --- groups ---------------------------------------------------------------------------------

  function renderGroups(st) {
    const groups = groupsOf(st);
    $("groups-clear").disabled = !groups.length;
    $("groups-from-chosen").disabled = TeacherTablets.chosen.size === 0;
    // Redrawn only when the groups change: a class update must not close a list the teacher has open.
    const drawn = JSON.stringify(st.groups || null);
    if ($("group-list").dataset.drawn === drawn) return;
    $("group-list").dataset.drawn = drawn;
    $("group-list").replaceChildren(...(st.groups ? st.groups.groups : []).map((members, i) => el("li", { "data-group": i + 1 },
      el("strong", { text: t("lesson.group_n", { n: i + 1 }) }),
      el("ul", {}, members.map(m => {
        // Move a student to another group (or a new one): the teacher's own groups.
        const move = el("select", { "aria-label": t("teacher.groups.move", { name: m.name }), "data-student": m.id },
          groups.map((_, j) => el("option", { value: j, text: t("lesson.group_n", { n: j + 1 }) })),
          el("option", { value: groups.length, text: t("teacher.groups.new_group") }));
        move.value = String(i);
        move.addEventListener("change", () => {
          const to = Number(move.value);
          const next = groupsOf(last.st).map(g => g.filter(id => id !== m.id));
          if (to === next.length) next.push([m.id]); else next[to].push(m.id);
          setGroups(next);
        });
        return el("li", {}, el("span", { text: m.name }), " ", move);
      })))));
  }

  // --- sending to tablets ---------------------------------------------------------------------

  function renderSend(st, students, files, room) {
    const kind = $("send-kind").value;
    $("send-step").hidden = kind !== "step";
    $("send-url").hidden = kind !== "link";
    $("send-file").hidden = kind !== "file";
    const steps = st.lesson ? st.lesson.steps : [];
    if ($("send-step").dataset.lesson !== (st.lesson && st.lesson.hash)) {
      $("send-step").dataset.lesson = st.lesson ? st.lesson.hash : "";
      $("send-step").replaceChildren(...steps.map((s, i) => el("option", { value: i, text: `${i + 1}. ${s.title || t("lesson.kind." + s.kind)}` })));
    }
    if ($("send-file").dataset.files !== files.join("\n")) {
      $("send-file").dataset.files = files.join("\n");
      $("send-file").replaceChildren(...files.map(f => el("option", { value: f, text: f })));
    }
    $("send-links").replaceChildren(...(room ? room.links : []).map(l => el("option", { value: l })));
    $("send-to-chosen-label").textContent = t("teacher.send.to_chosen", { n: TeacherTablets.chosen.size });
    $("send-to-chosen").disabled = TeacherTablets.chosen.size === 0;
    if ($("send-to-chosen").disabled) $("send-to-all").checked = true;
    const item = st.sent && st.sent.kind !== "none" ? st.sent : null;
    $("send-clear").disabled = !item;
    if (!item) { $("send-status").textContent = ""; return; }
    // Out of the tablets it went to that are in the lesson (or showed it before leaving).
    const targets = students.filter(s => (!item.to || item.to.includes(s.id)) && (s.state === "online" || s.shown >= item.n));
    const shown = targets.filter(s => s.shown >= item.n).length;
    $("send-status").textContent = t("teacher.send.status", { title: item.title || "", n: shown, of: targets.length });
  }

  function sendNow() {
    const kind = $("send-kind").value;
    const message = { kind };
    if (kind === "step") message.step = Number($("send-step").value);
    else if (kind === "link") message.url = $("send-url").value.trim();
    else message.path = $("send-file").value;
    if ((kind === "link" && !message.url) || (kind === "file" && !message.path)) return;
    if ($("send-to-chosen").checked) message.to = [...TeacherTablets.chosen];
    send("send", message);
  }

  function render(st, students, files, room) {
    last = { st, students, files, room };
    if (!st.step) return;
    renderTimer(st);
    renderPick(st, students);
    renderGroups(st);
    renderSend(st, students, files, room);
  }

  function init(sendCommand) {
    send = sendCommand;
    $("group-size").replaceChildren(...[2, 3, 4, 5, 6].map(n => el("option", { value: n, text: n === 2 ? t("teacher.groups.pairs") : t("teacher.groups.of", { n }) })));
    $("timer-start").addEventListener("click", () => {
      const minutes = Number($("timer-minutes").value);
      if (minutes > 0) send("timer", { action: "start", seconds: Math.round(minutes * 60) });
    });
    $("timer-add").addEventListener("click", () => send("timer", { action: "add", seconds: 60 }));
    $("timer-pause").addEventListener("click", () => {
      const timer = last.st.timers && last.st.step ? last.st.timers[last.st.step.id] : null;
      send("timer", { action: timer && timer.ends_at == null ? "resume" : "pause" });
    });
    $("timer-clear").addEventListener("click", () => send("timer", { action: "clear" }));
    $("pick").addEventListener("click", () => send("pick", { action: "next" }));
    $("pick-clear").addEventListener("click", () => send("pick", { action: "clear" }));
    $("groups-make").addEventListener("click", () => send("groups", { action: "random", size: Number($("group-size").value) }));
    $("groups-clear").addEventListener("click", () => send("groups", { action: "clear" }));
    $("groups-from-chosen").addEventListener("click", () => {
      const chosen = [...TeacherTablets.chosen];
      setGroups([...groupsOf(last.st).map(g => g.filter(id => !chosen.includes(id))), chosen]);
      TeacherTablets.clear();
    });
    $("send-kind").addEventListener("change", () => render(last.st, last.students, last.files, last.room));
    $("send").addEventListener("click", sendNow);
    $("send-clear").addEventListener("click", () => send("send", { kind: "none" }));
    TeacherTablets.onChoose(() => render(last.st, last.students, last.files, last.room));
  }

  return { init, render };
})();
