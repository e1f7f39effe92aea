/* The talk page: copy the podium link. */
(function () {
  "use strict";
  var button = document.getElementById("copy-podium");
  if (!button) return;
  var status = document.getElementById("copy-status");
  button.addEventListener("click", function () {
    var input = document.getElementById(button.dataset.copy);
    function done(ok) { status.textContent = ok ? button.dataset.copied || "✓" : ""; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () {
        input.select(); done(document.execCommand("copy"));
      });
    } else {
      input.select();
      done(document.execCommand("copy"));
    }
  });
})();
