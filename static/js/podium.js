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

  var full = "";  // the current question's whole text; the overlay may show it shortened

  /* The largest type at which the whole question fits its box without scrolling. Preferred never
   * below 28 px on a 1920×1080 screen (in proportion on smaller ones); when a line from the
   * moderators or a small window leaves less room, smaller still, so nothing is ever cut off.
   * The overlay keeps to its lower third: below its floor it shortens the text with "…" (the
   * projector always shows it whole). Runs on every change of what the screen shows. */
  function fit() {
    if (current.hidden) return;
    var w = window.innerWidth, h = window.innerHeight;
    var overlay = document.body.classList.contains("overlay");
    var floor = Math.max(overlay ? 14 : 12, Math.round((overlay ? 26 : 28) * Math.min(w / 1920, h / 1080)));
    var ceiling = Math.max(floor, Math.round(Math.min(overlay ? w * 0.03 : w * 0.045, overlay ? h * 0.06 : h * 0.1)));
    if (text.textContent !== full) text.textContent = full;
    var px = largest(floor, ceiling);
    if (px === null && !overlay) px = largest(8, floor - 1);
    if (px !== null) { size(px); return; }
    size(floor);
    shorten();
  }

  /* The largest size in [low, high] at which the text fits, or null. */
  function largest(low, high) {
    if (low > high || !size(low)) return null;
    if (size(high)) return high;
    while (low < high) {
      var mid = Math.ceil((low + high) / 2);
      if (size(mid)) low = mid; else high = mid - 1;
    }
    return low;
  }

  /* The overlay's last resort: the longest beginning of the question, cut at a word, that fits. */
  function shorten() {
    var low = 0, high = full.length;
    while (low < high) {
      var mid = Math.ceil((low + high) / 2);
      if (cut(mid)) low = mid; else high = mid - 1;
    }
    cut(low);
  }
  function cut(n) {
    var head = full.slice(0, n);
    var space = head.lastIndexOf(" ");
    if (n < full.length && space > n / 2) head = head.slice(0, space);
    text.textContent = head.replace(/[\s,;:.–-]+$/, "") + "…";
    return text.scrollHeight <= text.clientHeight;
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
    fit();  // the line takes room from the question
  }

  function render() {
    var queue = Object.values(questions)
      .filter(function (q) { return q.status === "forwarded"; })
      .sort(function (a, b) { return (a.forwarded_at || "").localeCompare(b.forwarded_at || "") || a.id - b.id; });
    var head = queue[0];
    current.hidden = !head;
    empty.hidden = !!head;
    var waiting = empty.querySelector(".waiting");
    if (waiting) {  // after answers, "no question yet" is no longer true
      var answered = Object.values(questions).some(function (q) { return q.status === "answered"; });
      waiting.textContent = answered ? S.waitingNext : S.waitingFirst;
    }
    main.classList.toggle("is-idle", !head);
    if (next) {
      next.textContent = "";
      var rest = queue.slice(1);
      rest.slice(0, NEXT_SHOWN).forEach(function (q) { next.appendChild(el("li", "", q.text)); });
      if (rest.length > NEXT_SHOWN) next.appendChild(el("li", "more", Live.count("more", rest.length - NEXT_SHOWN)));
      next.parentNode.hidden = !rest.length || !showsNext();
    }
    full = head ? head.text : "";  // a question taken back leaves nothing behind
    text.textContent = full;
    name.textContent = head ? head.name || S.anonymous : "";
    name.hidden = !name.textContent;
    fit();
  }

  window.addEventListener("resize", fit);
  // Anything else that changes the room the question has (the connection banner, the next ones).
  if (window.ResizeObserver) new ResizeObserver(function () { fit(); }).observe(main);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fit);

  /* This link no longer works: the screen says so itself, large, in place of everything else. */
  function revoked(text) {
    questions = {};
    render();
    var words = typeof text === "string" && text ? text : Live.common.sessionEnded.podium_link;
    empty.textContent = "";
    var said = Live.el("span", "ended", words);
    said.setAttribute("role", "alert");
    empty.appendChild(said);
    empty.classList.remove("visually-hidden");
    main.classList.add("is-ended");
    if (backstage) backstage.hidden = true;
    return true;  // said on the screen itself, large
  }

  var live = Live.connect({
    namespace: "/podium",
    auth: function () { return S.overlay ? { token: S.token, overlay: true } : { token: S.token }; },
    onRefused: function () { return revoked(); },
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
