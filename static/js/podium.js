/* The big screen: the current forwarded question as large as fits, the next ones below (if the
 * talk shows them), and while nothing is forwarded the audience link and its QR code. Read-only.
 * With ?overlay=1 the same, as a lower third on a transparent page for streaming software. */
(function () {
  "use strict";
  var S = Live.strings, el = Live.el;
  var questions = {};
  var talk = null;
  var main = document.getElementById("main");
  var current = document.getElementById("current");
  var text = current.querySelector(".text");
  var name = current.querySelector(".name");
  var empty = document.getElementById("current-empty");
  var next = document.getElementById("next");  // none in the overlay
  var NEXT_SHOWN = 3;

  function showsNext() { return talk ? talk.podium_shows_next !== false : S.showsNext !== false; }

  /* The largest type at which the whole question fits its box without scrolling; never below
   * 28 px on a 1920×1080 screen (in proportion on smaller ones), so long questions shrink. */
  function fit() {
    if (current.hidden) return;
    var w = window.innerWidth, h = window.innerHeight;
    var overlay = document.body.classList.contains("overlay");
    var floor = Math.max(12, Math.round(28 * Math.min(w / 1920, h / 1080)));
    var ceiling = Math.max(floor, Math.round(Math.min(overlay ? w * 0.03 : w * 0.045, overlay ? h * 0.06 : h * 0.1)));
    var low = floor, high = ceiling;
    if (size(high)) return;
    while (low < high) {
      var mid = Math.ceil((low + high) / 2);
      if (size(mid)) low = mid; else high = mid - 1;
    }
    size(low);
  }

  /* Set the type (the name in proportion) and say whether the question fits. */
  function size(px) {
    text.style.fontSize = px + "px";
    name.style.fontSize = Math.max(16, Math.round(px * 0.7)) + "px";
    return text.scrollHeight <= text.clientHeight;
  }

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
    main.classList.toggle("is-idle", !head);
    if (next) {
      next.textContent = "";
      var rest = queue.slice(1);
      rest.slice(0, NEXT_SHOWN).forEach(function (q) { next.appendChild(el("li", "", q.text)); });
      if (rest.length > NEXT_SHOWN) next.appendChild(el("li", "more", Live.count("more", rest.length - NEXT_SHOWN)));
      next.parentNode.hidden = !rest.length || !showsNext();
    }
    text.textContent = head ? head.text : "";  // a question taken back leaves nothing behind
    name.textContent = head ? head.name || S.anonymous : "";
    name.hidden = !name.textContent;
    fit();
  }

  window.addEventListener("resize", fit);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fit);

  function revoked(text) {
    questions = {};
    render();
    empty.textContent = typeof text === "string" && text ? text : Live.common.sessionEnded.podium_link;
    return true;  // said on the screen itself, large
  }

  var live = Live.connect({
    namespace: "/podium",
    auth: function () { return S.overlay ? { token: S.token, overlay: true } : { token: S.token }; },
    onRefused: function () { revoked(); },
    onEnded: revoked,
    on: {
      snapshot: function (data) {
        talk = data.talk;
        questions = Live.byId(data.questions);
        render();
        showBackstage(data.backstage);
      },
      question: function (q) { questions[q.id] = q; render(); },
      talk: function (t) { talk = t; render(); },
      backstage: showBackstage
    }
  });
})();
