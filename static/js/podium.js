/* The big screen: the current forwarded question large, the next ones below. Read-only. */
(function () {
  "use strict";
  var S = Live.strings, el = Live.el;
  var questions = {};
  var current = document.getElementById("current");
  var empty = document.getElementById("current-empty");
  var next = document.getElementById("next");
  var backstage = document.getElementById("backstage");

  /* The line from the moderators ("Noch 5 Minuten"), in its own box until they clear it. */
  function showBackstage(line) {
    if (!backstage) return;
    var text = line && line.text;
    backstage.hidden = !text;
    backstage.querySelector(".line").textContent = text || "";
    backstage.querySelector(".by").textContent = text && line.by ? Live.fill(S.by, { user: line.by }) : "";
  }

  function render() {
    var queue = Object.values(questions)
      .filter(function (q) { return q.status === "forwarded"; })
      .sort(function (a, b) { return (a.forwarded_at || "").localeCompare(b.forwarded_at || "") || a.id - b.id; });
    var head = queue[0];
    current.hidden = !head;
    empty.hidden = !!head;
    if (head) {
      current.querySelector(".text").textContent = head.text;
      current.querySelector(".name").textContent = head.name || S.anonymous;
    }
    next.textContent = "";
    queue.slice(1).forEach(function (q) { next.appendChild(el("li", "", q.text)); });
    next.parentNode.hidden = queue.length < 2;
  }

  Live.connect({
    namespace: "/podium",
    auth: function () { return S.overlay ? { token: S.token, overlay: true } : { token: S.token }; },
    on: {
      snapshot: function (data) {
        questions = Live.byId(data.questions);
        render();
        showBackstage(data.backstage);
      },
      question: function (q) { questions[q.id] = q; render(); },
      backstage: showBackstage
    }
  });
})();
