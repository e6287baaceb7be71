// The class as a grid of tablets on the teacher's page: each student's tablet, what its screen
// shows (the step it confirmed, a thumbnail of its slide), answered or not, its page hidden
// (another app, the screen off), its battery, its link (round trip, missed heartbeats), a
// raised hand, and whether what the teacher sent has arrived. A tick chooses the tablets that a
// send or a group goes to. Rows come from the hub's "class" messages (lessons/tablets.py).
"use strict";

const TeacherTablets = (() => {
  const t = (key, vars) => I18N.t(key, vars);
  const chosen = new Set();
  let onChoose = () => {};

  function thumbnail(manifest, hash, index) {
    const full = manifest && index != null ? manifest.steps[index] : null;
    if (!full) return null;
    if (full.kind === "slide" && full.image) {
      return el("img", { class: "thumb", alt: "", loading: "lazy", src: `/lesson/${hash}/${full.image.split("/").map(encodeURIComponent).join("/")}` });
    }
    return el("span", { class: "thumb thumb-" + full.kind, text: t("lesson.kind." + full.kind) });
  }

  function battery(s) {
    if (s.battery == null) return null;
    const level = Math.round(s.battery);
    const fill = el("span", { class: "battery-level" });
    fill.style.width = `${level}%`;  // through the CSSOM: the page's policy allows no style attribute
    return el("span", {
      class: "battery" + (level <= 20 ? " low" : "") + (s.charging ? " charging" : ""), "data-battery": level,
      title: t(s.battery_from === "agent" ? "teacher.tablets.battery_agent" : "teacher.tablets.battery_page"),
    }, el("span", { class: "battery-body" }, fill), `${level}%`);
  }

  function linkLine(s) {
    if (s.state !== "online") return t("teacher.state." + s.state);
    const parts = [];
    if (s.rtt_ms != null) parts.push(`${Math.round(Math.max(s.rtt_ms, s.pending_ms))} ms`);
    if (s.missed) parts.push(t("teacher.tablets.missed", { n: s.missed }));
    return parts.join(" · ") || t("teacher.quality." + s.quality);
  }

  function tile(s, st, manifest, send) {
    const online = s.state === "online";
    const question = st.question && st.step && st.question.step === st.step.id;
    const sent = st.sent && st.sent.kind !== "none" && (!st.sent.to || st.sent.to.includes(s.id)) ? st.sent : null;
    const arrived = sent && s.shown >= sent.n;
    const box = el("input", { type: "checkbox", "aria-label": t("teacher.tablets.choose", { name: s.name }) });
    box.checked = chosen.has(s.id);
    box.addEventListener("change", () => { if (box.checked) chosen.add(s.id); else chosen.delete(s.id); render.last(); onChoose(); });
    const where = online && s.at_step != null ? t("teacher.at_step", { n: s.at_step + 1 }) : "";
    return el("div", {
      class: `tablet-tile st-${s.state} q-${s.quality}` + (s.hand ? " hand" : "") + (chosen.has(s.id) ? " chosen" : "")
        + (online && s.visible === false ? " away" : ""),
      "data-student": s.id, "data-state": s.state, "data-missed": s.missed || 0,
      "data-visible": s.visible == null ? "" : s.visible ? "yes" : "no",
      "data-answered": s.answered ? "yes" : "no", "data-sent": sent ? (arrived ? "shown" : "waiting") : "",
    },
    el("label", { class: "tile-head" }, box, el("span", { class: "name", text: s.name })),
    el("div", { class: "screen" }, online || s.state === "offline" ? thumbnail(manifest, st.lesson && st.lesson.hash, s.at_step) : null,
      el("span", { class: "where", text: where })),
    el("div", { class: "facts" },
      el("span", { class: "dot", title: t("teacher.quality." + s.quality) }),
      el("span", { class: "link", text: linkLine(s) }),
      battery(s)),
    el("div", { class: "facts" },
      question && online ? el("span", { class: "badge " + (s.answered ? "ok" : "todo"), text: t(s.answered ? "teacher.has_answered" : "teacher.tablets.not_answered") }) : null,
      online && s.visible === false ? el("span", { class: "badge away", text: t("teacher.tablets.hidden") }) : null,
      sent ? el("span", { class: "badge " + (arrived ? "ok" : "todo"), text: t(arrived ? "teacher.tablets.sent_shown" : "teacher.tablets.sent_waiting") }) : null,
      s.hand ? el("button", { type: "button", class: "badge hand", title: t("teacher.lower"), onclick: () => send("lower", { student: s.id }), text: t("teacher.tablets.hand") }) : null,
      online ? el("button", { type: "button", class: "resync", title: t("teacher.resync"), "aria-label": t("teacher.resync"), onclick: () => send("resync", { student: s.id }), text: "⟳" }) : null));
  }

  // Tiles are redrawn only when what they show changed, so a tick or a button pressed while
  // the class updates (several times a second) is not lost with a replaced element.
  const drawn = new Map();  // student id -> {sig, node}

  function render(students, st, manifest, send) {
    render.last = () => render(students, st, manifest, send);
    for (const id of [...chosen]) if (!students.some(s => s.id === id)) chosen.delete(id);
    const question = Boolean(st.question && st.step && st.question.step === st.step.id);
    const context = [question, st.sent || null, st.lesson && st.lesson.hash, Boolean(manifest)];
    const nodes = students.map(s => {
      const sig = JSON.stringify([s, context, chosen.has(s.id)]);
      const known = drawn.get(s.id);
      if (known && known.sig === sig) return known.node;
      const node = tile(s, st, manifest, send);
      drawn.set(s.id, { sig, node });
      return node;
    });
    const grid = $("student-grid");
    const same = grid.children.length === nodes.length && nodes.every((n, i) => grid.children[i].dataset.student === n.dataset.student);
    if (!same) grid.replaceChildren(...nodes);
    else nodes.forEach((node, i) => { if (grid.children[i] !== node) grid.children[i].replaceWith(node); });
    $("chosen-line").textContent = chosen.size ? t("teacher.tablets.chosen", { n: chosen.size }) : t("teacher.tablets.choose_hint");
    $("choose-none").hidden = chosen.size === 0;
  }
  render.last = () => {};

  return {
    chosen,
    render,
    clear() { chosen.clear(); render.last(); onChoose(); },
    onChoose(fn) { onChoose = fn; },
  };
})();
