/* The talk page: copy the podium link; a form with `data-confirm` (renewing the podium link)
 * asks first in the dialog it names, which says what it will end. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    var dialog = document.getElementById(form.dataset.confirm);
    if (!dialog || !dialog.showModal) return;
    form.addEventListener("submit", function (e) {
      if (form.dataset.confirmed) return;
      e.preventDefault();
      var back = document.activeElement;
      dialog.returnValue = "";
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue === "yes") { form.dataset.confirmed = "1"; form.submit(); }
        else if (back && back.focus) back.focus();
      });
      dialog.showModal();
    });
  });
})();
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
