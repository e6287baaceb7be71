// login page (login.html): kept out of the HTML, the hub's pages run no inline script (CSP).
"use strict";
(async () => {
  await I18N.load();
  const q = new URLSearchParams(location.search);
  $("next").value = q.get("next") || "/";
  const err = q.get("error");
  const min = Math.max(1, Math.ceil(Number(q.get("retry") || 60) / 60));
  if (err) $("error").textContent = I18N.t("login.error." + err, { min });
})();
