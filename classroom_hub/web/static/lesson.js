// Shared by /teacher, /join and /display: the lesson WebSocket (state by revision, acks,
// heartbeats, reconnect) and how a step and a results chart are drawn. See docs/protocol.md.
"use strict";

const Lesson = {};

// A random id usable on plain http:// (crypto.randomUUID needs a secure context).
Lesson.randomId = function (bytes = 12) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return btoa(String.fromCharCode(...a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

// The connection: keeps the state the hub owns, applies snapshots and deltas in revision
// order, acknowledges them and the heartbeats, and reconnects with what it knows.
class LessonSocket {
  constructor(role, handlers) {
    this.role = role;
    this.handlers = handlers;  // {hello(): message|null, state(changedKeys), message(msg), status(s)}
    this.state = {};
    this.rev = 0;
    this.run = null;
    this.beatS = 2;
    this.clockOffset = 0;  // hub clock - our clock, in ms (tablet clocks are often wrong)
    this.conn = null;
    this.watchdog = null;
  }
  restore(saved) {
    if (saved && saved.run) { this.run = saved.run; this.rev = saved.rev || 0; this.state = saved.state || {}; }
  }
  open() {
    this.conn = live(`/ws/lesson?role=${this.role}`, {
      maxDelay: 5000,
      onOpen: () => {
        const hello = this.handlers.hello ? this.handlers.hello(this) : null;
        if (hello) this.send(hello);
        this.status("online");
        this.kick();
      },
      onMessage: msg => { this.kick(); this.receive(msg); },
      onClose: () => { clearTimeout(this.watchdog); this.status("offline"); },
    });
  }
  // For good (another screen took this seat, the student left): no reconnecting.
  stop() {
    clearTimeout(this.watchdog);
    if (this.conn) this.conn.close();
  }
  // No message (not even a beat) for three beats: the Wi-Fi is gone; start over.
  kick() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => { if (this.conn) this.conn.reconnect(); }, this.beatS * 3000 + 1000);
  }
  status(s) { if (this.handlers.status) this.handlers.status(s); }
  send(msg) { return this.conn ? this.conn.send(msg) : false; }
  receive(msg) {
    if (msg.t === "welcome") {
      this.beatS = msg.beat_s || 2;
      if (msg.ts) this.clockOffset = msg.ts * 1000 - Date.now();
      const fresh = msg.mode === "snapshot" || msg.run !== this.run;
      this.state = fresh ? { ...msg.state } : { ...this.state, ...msg.state };
      this.run = msg.run;
      this.rev = msg.rev;
      this.send({ t: "ack", rev: this.rev });
      this.handlers.state(fresh ? null : Object.keys(msg.state), msg);
    } else if (msg.t === "delta") {
      // At or below our revision: old news, or (teacher, display) the first revision of a lesson
      // just launched, whose welcome with the whole state comes next.
      if (msg.since == null && msg.rev <= this.rev) return;
      if (msg.since == null && msg.rev !== this.rev + 1 && this.role === "student") {
        this.send({ t: "resume", rev: this.rev });  // a gap: ask for what we missed
        return;
      }
      this.state = { ...this.state, ...msg.set };
      this.rev = msg.rev;
      this.send({ t: "ack", rev: this.rev });
      this.handlers.state(Object.keys(msg.set), msg);
    } else if (msg.t === "beat") {
      this.clockOffset = msg.ts * 1000 - Date.now();
      this.send({ t: "ack", rev: this.rev, beat: msg.n });
      if (this.role === "student" && this.run && msg.rev > this.rev) this.send({ t: "resume", rev: this.rev });
    } else if (this.handlers.message) {
      this.handlers.message(msg);
    }
  }
  hubNow() { return Date.now() + this.clockOffset; }
}
Lesson.Socket = LessonSocket;

// Draw a step as tablets and the display show it (no answers: those come with the reveal).
Lesson.renderStep = function (box, step) {
  box.replaceChildren();
  if (!step) return;
  box.dataset.kind = step.kind;
  if (step.kind === "slide") {
    if (step.image) box.append(el("img", { class: "slide-image", src: step.image, alt: step.alt || step.title || "" }));
    else if (step.html) {
      // A slide page runs in a sandbox: scripts yes, but no access to the hub, cookies or storage.
      box.append(el("iframe", { class: "slide-frame", src: step.html, sandbox: "allow-scripts", title: step.title || "" }));
    } else if (step.pdf) box.append(el("iframe", { class: "slide-frame", src: `${step.pdf}#page=${step.page}`, title: step.title || "" }));
  } else if (step.kind === "video") {
    const video = el("video", { class: "slide-video", src: step.video + (step.start_s ? `#t=${step.start_s}${step.end_s ? "," + step.end_s : ""}` : ""), controls: true, preload: "metadata" });
    if (step.captions) video.append(el("track", { kind: "captions", src: step.captions, default: true }));
    box.append(video);
  } else if (step.kind === "quiz" || step.kind === "poll") {
    if (step.image) box.append(el("img", { class: "question-image", src: step.image, alt: "" }));
    box.append(el("h2", { class: "prompt", text: step.prompt }));
  } else if (step.kind === "vr_scene") {
    box.append(el("div", { class: "notice big" }, el("div", { class: "notice-icon" }, icon("headset")),
      el("h2", { text: step.title || I18N.t("lesson.vr.title") }), el("p", { text: I18N.t("lesson.vr.put_on") })));
  } else if (step.kind === "experiment") {
    box.append(el("div", { class: "notice" }, el("div", { class: "notice-icon" }, icon("flask")),
      el("h2", { text: step.title || I18N.t("lesson.experiment.title") }),
      el("p", { class: "muted", text: I18N.t("lesson.experiment.sensors", { list: step.sensors.map(s => I18N.t("lesson.sensor." + s)).join(", ") }) }),
      el("ol", { class: "instructions" }, (step.instructions || "").split("\n").filter(Boolean).map(l => el("li", { text: l.replace(/^\d+\.\s*/, "") })))));
  }
};

// Live results as horizontal SVG bars; once revealed the right choices turn green.
Lesson.chart = function (box, results) {
  box.replaceChildren();
  if (!results) return;
  const NS = "http://www.w3.org/2000/svg";
  let rows;
  if (results.type === "short_answer") {
    rows = results.correct == null ? [] : [
      { id: "right", text: I18N.t("lesson.results.right"), n: results.correct, good: true },
      { id: "wrong", text: I18N.t("lesson.results.wrong"), n: results.wrong, good: false },
    ];
  } else {
    const right = new Set(results.right_choices || []);
    rows = results.choices.map(c => ({ id: c.id, text: c.text, n: results.counts[c.id] || 0, good: right.has(c.id) }));
  }
  const most = Math.max(1, ...rows.map(r => r.n));
  // Each choice: its text on one line, its bar and count below, so long choices stay readable.
  // More than five choices (a poll of the class's favourites, up to 12): text and bar share a
  // line, so that the whole chart still fits a laptop's screen under the controls.
  const compact = rows.length > 5;
  const rowH = compact ? (rows.length > 8 ? 44 : 52) : 96, width = 1000, barH = compact ? rowH - 16 : 34;
  const barX = compact ? 420 : 0, barY = compact ? 8 : 44, labelY = compact ? rowH / 2 + 10 : 32;
  const labelMax = compact ? 24 : 60;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(1, rows.length) * rowH}`);
  svg.setAttribute("class", "results-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const text = (x, y, cls, content) => {
    const node = document.createElementNS(NS, "text");
    node.setAttribute("x", x); node.setAttribute("y", y); node.setAttribute("class", cls);
    node.textContent = content;
    return node;
  };
  rows.forEach((r, i) => {
    const y = i * rowH;
    const label = text(0, y + labelY, "bar-label", r.text.length > labelMax ? r.text.slice(0, labelMax - 1).trimEnd() + "…" : r.text);
    if (r.text.length > labelMax) {  // the whole text on hovering it
      const title = document.createElementNS(NS, "title");
      title.textContent = r.text;
      label.append(title);
    }
    const w = Math.max(6, Math.round((width - barX - 110) * r.n / most));
    const bar = document.createElementNS(NS, "rect");
    bar.setAttribute("x", barX); bar.setAttribute("y", y + barY);
    bar.setAttribute("width", w); bar.setAttribute("height", barH); bar.setAttribute("rx", 6);
    bar.setAttribute("class", "bar" + (results.revealed && r.good ? " bar-right" : results.revealed ? " bar-other" : ""));
    bar.dataset.choice = r.id;
    const count = text(barX + w + 14, y + barY + barH - 6, "bar-count", String(r.n));
    count.dataset.choice = r.id;
    svg.append(label, bar, count);
  });
  box.append(svg);
};

// The countdown of the current step (the state's "timers", lessons/tools.py), drawn into `node`:
// "4:59", with data-state running, paused or over; hidden when the step has none.
Lesson.showTimer = function (node, state, hubNow) {
  const timer = state.timers && state.step && !state.ended ? state.timers[state.step.id] : null;
  node.hidden = !timer;
  if (!timer) return null;
  const left = Math.max(0, timer.ends_at == null ? timer.left_s : timer.ends_at - hubNow / 1000);
  const whole = Math.ceil(left);
  node.textContent = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  node.dataset.state = timer.ends_at == null ? "paused" : whole === 0 ? "over" : "running";
  return left;
};

// The groups (the state's "groups") as cards: "Nhóm 1" and its members; `mine` (a student id) marked.
Lesson.groupCards = function (groups, mine) {
  return groups.groups.map((members, i) => el("div", {
    class: "group-card" + (members.some(m => m.id === mine) ? " mine" : ""), "data-group": i + 1,
  }, el("h3", { text: I18N.t("lesson.group_n", { n: i + 1 }) }),
  el("ul", {}, members.map(m => el("li", { class: m.id === mine ? "me" : null, "data-student": m.id, text: m.name })))));
};
