// index page (index.html): kept out of the HTML, the hub's pages run no inline script (CSP).
"use strict";
(async () => {
  await I18N.load();
  const res = await fetch("/healthz");  // not api(): 503 (a part is down) answers with the parts too
  const body = await res.json();
  $("health-summary").textContent = I18N.t(body.status === "ok" ? "health.ok" : "health.degraded");
  const box = $("health-parts");
  for (const [part, state] of Object.entries(body.parts)) {
    box.appendChild(el("span", `${I18N.t("part." + part)}: ${I18N.t("state." + state)}`, `pill state-${state}`));
  }
})();
