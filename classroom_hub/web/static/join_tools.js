// The classroom tools on a student's tablet (lessons/tools.py): the countdown, "the teacher
// calls you", the student's group, and what the teacher sent (a page, a link, a file), with a
// "shown" back to the hub once it is on screen. And how the tablet is, for the teacher's grid:
// page shown or hidden, battery (the Battery API; else the agent of the device named by
// /join?device=T07 tells the hub). Loaded before join.js, which calls JoinTools.
"use strict";

const JoinTools = (() => {
  const DEVICE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
  const battery = { level: null, charging: null };
  let socket = null;
  let welcomed = false;   // status and shown go only after this connection's welcome
  let confirmed = 0;      // the last sent item this connection said is shown
  const store = {
    get(k) { try { return JSON.parse(localStorage.getItem("lesson." + k)); } catch (e) { return null; } },
    set(k, v) { localStorage.setItem("lesson." + k, JSON.stringify(v)); },
  };
  const device = new URLSearchParams(location.search).get("device");
  if (device && DEVICE.test(device)) store.set("device", device);  // the agent opens /join?device=T07

  function report() {
    if (!socket || !welcomed) return;
    socket.send({ t: "status", visible: document.visibilityState !== "hidden", battery: battery.level,
                  charging: battery.charging, device: store.get("device") || null });
  }
  document.addEventListener("visibilitychange", report);
  if (navigator.getBattery) {  // only over https or from localhost
    navigator.getBattery().then(b => {
      const read = () => { battery.level = Math.round(b.level * 100); battery.charging = b.charging; report(); };
      b.addEventListener("levelchange", read);
      b.addEventListener("chargingchange", read);
      read();
    }).catch(() => { /* not allowed here: the agent may tell */ });
  }

  // Only http(s) or a page of the hub: never javascript:, data:, intent: (the hub checks it too).
  function safeUrl(url) {
    return typeof url === "string" && (/^https?:\/\//i.test(url) || (url.startsWith("/") && !url.startsWith("//")));
  }

  function opener(url, key) {
    // A new tab: the lesson stays behind it; noopener: the page opened cannot reach back to this one.
    return el("a", { class: "open-link", href: url, target: "_blank", rel: "noopener noreferrer", text: I18N.t(key) });
  }

  function body(item) {
    if (item.kind === "step") {
      const box = el("div", { class: "step-view" });
      Lesson.renderStep(box, item.step);
      return box;
    }
    if (!safeUrl(item.url)) return el("p", { class: "muted", text: I18N.t("join.sent.refused") });
    if (item.kind === "link") return el("div", { class: "sent-link" }, el("p", { class: "url", text: item.url }), opener(item.url, "join.sent.open_link"));
    if (item.file === "image") return el("img", { class: "slide-image", src: item.url, alt: item.title || "" });
    if (item.file === "video") return el("video", { class: "slide-video", src: item.url, controls: true, preload: "metadata" });
    if (item.file === "audio") return el("audio", { src: item.url, controls: true, preload: "metadata" });
    if (item.file === "page") return el("iframe", { class: "slide-frame", src: item.url, sandbox: "allow-scripts", title: item.title || "" });
    return el("div", { class: "sent-link" }, opener(item.url, "join.sent.open_file"));  // a PDF too: tablets have no viewer inline
  }

  function renderSent(st, me) {
    const item = st.sent;
    const box = $("sent");
    const forMe = item && item.kind !== "none" && !st.ended && (!item.to || item.to.includes(me));
    const closed = store.get("sent_closed");
    if (!forMe || (closed && closed.run === socket.run && item.n <= closed.n)) { box.hidden = true; return; }
    if (box.dataset.n !== String(item.n)) {
      box.dataset.n = String(item.n);
      $("sent-title").textContent = item.title || "";
      $("sent-body").replaceChildren(body(item));
    }
    box.hidden = false;
    if (welcomed && item.n > confirmed && socket.send({ t: "shown", n: item.n })) confirmed = item.n;
  }

  function renderGroup(st, me) {
    const box = $("my-group");
    const groups = st.groups;
    const index = groups && !st.ended ? groups.groups.findIndex(g => g.some(m => m.id === me)) : -1;
    box.hidden = index < 0;
    if (index < 0) return;
    box.replaceChildren(el("span", { class: "muted", text: I18N.t("join.your_group") }), Lesson.groupCards(groups, me)[index]);
  }

  return {
    // A new connection (or a reload): nothing said on it yet.
    attach(s) { socket = s; welcomed = false; confirmed = 0; },
    welcome() { welcomed = true; report(); },
    offline() { welcomed = false; confirmed = 0; },
    render(st, me) {
      renderSent(st, me);
      renderGroup(st, me);
      $("called").hidden = !(st.picked && st.picked.student && st.picked.student.id === me && !st.ended);
    },
    tick(st) { if (socket) Lesson.showTimer($("timer"), st, socket.hubNow()); },
    close() {  // closed for good on this tablet (a reload does not bring it back)
      store.set("sent_closed", { run: socket.run, n: Number($("sent").dataset.n || 0) });
      $("sent").hidden = true;
    },
  };
})();
