/* The report: "Drucken" opens the browser's print dialog (print.css lays it out for A4). */
(function () {
  "use strict";
  var button = document.getElementById("print");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
