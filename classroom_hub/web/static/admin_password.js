// Choosing one's own password (admin_password.html, at /password): where anyone signed in with a
// one-time password from the admin is sent until they have; any signed-in user may use it.
"use strict";
(async () => {
  await I18N.load();
  document.title = I18N.t("password.title");
  const next = new URLSearchParams(location.search).get("next") || "/";
  $("password-form").addEventListener("submit", async event => {
    event.preventDefault();
    $("error").textContent = "";
    if ($("new").value !== $("again").value) { $("error").textContent = I18N.t("password.error.mismatch"); return; }
    if ($("new").value.length < 8) { $("error").textContent = I18N.t("password.error.short"); return; }
    try {
      const r = await api(`/api/password?next=${encodeURIComponent(next)}`, { body: { old: $("old").value, new: $("new").value }, login: false });
      location.href = r.next;
    } catch (err) {
      const known = ["bad_credentials", "same_password", "short"].includes(err.code);
      $("error").textContent = known ? I18N.t(`password.error.${err.code}`)
        : I18N.t("password.error.refused", { detail: err.detail || err.message });
    }
  });
})();
