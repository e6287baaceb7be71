// One catalog per language (/i18n/vi.json, /i18n/en.json); Vietnamese unless the user chose English.
"use strict";
const I18N = {
  lang: localStorage.getItem("lang") || "vi",
  strings: {},
  async load() {
    const res = await fetch(`/i18n/${this.lang}.json`);
    this.strings = await res.json();
    document.documentElement.lang = this.lang;
    this.apply(document);
  },
  t(key, vars) {
    let s = this.strings[key];
    if (s === undefined) { console.warn("missing string", key); s = key; }
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  },
  apply(root) {
    root.querySelectorAll("[data-i18n]").forEach(el => { el.textContent = this.t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(el => { el.placeholder = this.t(el.dataset.i18nPlaceholder); });
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
