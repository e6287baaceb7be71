// index page (index.html): kept out of the HTML, the hub's pages run no inline script (CSP).
"use strict";
(async () => {
  await I18N.load();
  const res = await fetch("/healthz");
  const body = await res.json();
  document.getElementById("health-summary").textContent = I18N.t(body.status === "ok" ? "health.ok" : "health.degraded");
  const box = document.getElementById("health-parts");
  for (const [part, state] of Object.entries(body.parts)) {
    const span = document.createElement("span");
    span.className = `pill state-${state}`;
    span.textContent = `${I18N.t("part." + part)}: ${I18N.t("state." + state)}`;
    box.appendChild(span);
  }
})();
