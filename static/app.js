// Small enhancements only; every page works without this file.
"use strict";

// Pre-select the browser's own time zone on sign-up, when the person has not chosen one yet.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-browser-timezone]").forEach((select) => {
    if (select.value === "UTC" && zone && [...select.options].some((o) => o.value === zone)) {
      select.value = zone;
    }
  });
});
