// Frees the "X is editing this post" lock when the editor leaves the post page (closing the tab,
// following a link, going back). Without it the lock only expires after REVIEW_EDIT_LOCK_SECONDS.
// A separate file (no inline script) so the page works under a strict Content-Security-Policy.
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  var url = form && form.getAttribute("data-release-url");
  if (!url || !navigator.sendBeacon) {
    return;
  }
  var saving = false;
  form.addEventListener("submit", function () {
    saving = true; // the save releases the lock itself, then the page opens again
  });
  window.addEventListener("pagehide", function () {
    if (saving) {
      return;
    }
    var data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    navigator.sendBeacon(url, data);
  });
})();
