/* The desk's part of accountable moderation: how many people reported a question and why (a
 * question reported by several is marked, never hidden), the filter "Gemeldet", and the reason a
 * rejected question was given. Hooked into moderator.js through window.Queue. */
(function () {
  "use strict";
  var DESK = Live.readJSON("desk"), S = Live.readJSON("reports-strings"), el = Live.el;
  var REASONS = {};
  DESK.rejectReasons.forEach(function (r) { REASONS[r.code] = r.label; });
  var only = document.getElementById("only-reported");

  function total(q) {
    return Object.keys(q.reports || {}).reduce(function (n, code) { return n + q.reports[code]; }, 0);
  }

  function part(card, cls) {
    var node = card.querySelector("." + cls);
    if (!node) {
      node = el("p", cls);
      card.insertBefore(node, card.querySelector(".similar"));
    }
    return node;
  }

  Queue.onCard(function (card, q) {
    var n = total(q);
    var box = part(card, "reports");
    box.hidden = !n;
    box.textContent = n ? S.reported + " " + Object.keys(DESK.reportReasons)
      .filter(function (code) { return (q.reports || {})[code]; })
      .map(function (code) { return Live.fill(S.times, { n: q.reports[code], reason: DESK.reportReasons[code] }); })
      .join(", ") : "";
    card.classList.toggle("reported", n >= DESK.reportsFlagAt);
    if (n >= DESK.reportsFlagAt) card.classList.add("flagged");
    var why = part(card, "reject-reason");
    why.hidden = q.status !== "rejected";
    why.textContent = q.status === "rejected" ? Live.fill(S.reason, { reason: REASONS[q.reason] || S.noReason }) : "";
  });
  Queue.filter(function (q) { return !only.checked || total(q) > 0; });
  only.addEventListener("change", function () { Queue.relayout(); });
})();
