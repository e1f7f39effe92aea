/* Themen: the live map of what people ask about, a row of topics under the desk's tabs. Each topic
 * is named by its most telling words and counts its questions that wait, are approved (or at the
 * podium) and were answered, and the support (votes and upvotes) behind those not yet answered.
 * Choosing a topic filters the queue to it; "Alle Themen" shows every question again.
 *
 * The server sends the map (`topics {topics}`: ids, words, question ids) when it changes and
 * answers the `topics` event with the current one; the counts are drawn here from the desk's own
 * questions, so votes and moves show at once. Loaded after moderator.js; uses only window.Queue.
 * Nothing moves under the pointer or the keyboard focus: topics have a fixed width and keep their
 * order (by id), their counts change in place, and a new map waits while the row is held. */
(function () {
  "use strict";
  var S = Live.readJSON("themes-strings"), el = Live.el;
  var topics = [];          // the map shown: [{id, words, questions}]
  var waiting = null;       // a newer map, held while the pointer or focus is in the row
  var members = {};         // topic id -> {question id: true}
  var active = null;        // the chosen topic's id, or null
  var held = { pointer: false, focus: false };

  var row = el("section", "themes");
  row.setAttribute("aria-labelledby", "themes-title");
  var title = row.appendChild(el("h2", "themes-title", S.title));
  title.id = "themes-title";
  var list = row.appendChild(el("div", "themes-list"));
  list.setAttribute("role", "group");
  list.setAttribute("aria-label", S.title);
  var hint = row.appendChild(el("p", "hint themes-empty", S.empty));
  var bar = document.querySelector(".desk-bar");
  bar.insertBefore(row, bar.querySelector(".desk-tabs"));

  function say(text) { Queue.say(text); }
  function isHeld() { return held.pointer || held.focus; }

  row.addEventListener("pointerenter", function () { held.pointer = true; });
  row.addEventListener("pointerleave", function () { held.pointer = false; release(); });
  row.addEventListener("focusin", function () { held.focus = true; });
  row.addEventListener("focusout", function (e) {
    if (row.contains(e.relatedTarget)) return;
    held.focus = false;
    release();
  });

  function release() {
    if (isHeld() || !waiting) return;
    var next = waiting;
    waiting = null;
    show(next);
  }

  function counts(topic) {
    var c = { pending: 0, approved: 0, answered: 0, support: 0 };
    topic.questions.forEach(function (id) {
      var q = Queue.question(id);
      if (!q) return;
      if (q.status === "pending") c.pending += 1;
      else if (q.status === "approved" || q.status === "forwarded") c.approved += 1;
      else if (q.status === "answered") c.answered += 1;
      else return;
      if (q.status !== "answered") c.support += (q.votes || 0) + (q.upvotes || 0);
    });
    return c;
  }

  function named(topic) { return topic.words.length ? topic.words.join(", ") : S.unnamed; }

  function button(text, id) {
    var b = el("button", "theme");
    b.type = "button";
    b.dataset.topic = id === null ? "" : String(id);
    b.appendChild(el("span", "theme-words", text));
    b.appendChild(el("span", "theme-counts"));
    b.addEventListener("click", function () { choose(id); });
    return b;
  }

  /* The counts of every topic, in place: only texts change, never a width or an order. */
  function refresh() {
    Array.prototype.forEach.call(list.children, function (b) {
      var id = b.dataset.topic, line = b.querySelector(".theme-counts");
      b.setAttribute("aria-pressed", String(String(active === null ? "" : active) === id));
      if (!id) { line.textContent = Live.fill(S.topicCount, { n: topics.length }); return; }
      var topic = topics.filter(function (t) { return String(t.id) === id; })[0];
      if (!topic) return;
      var c = counts(topic);
      line.textContent = Live.fill(S.counts, { pending: c.pending, approved: c.approved, answered: c.answered }) +
        " · " + (c.support === 1 ? S.supportOne : Live.fill(S.support, { n: c.support }));
      b.title = named(topic) + ": " + line.textContent;
    });
  }

  function show(map) {
    topics = map.slice().sort(function (a, b) { return a.id - b.id; });
    members = {};
    topics.forEach(function (t) {
      members[t.id] = {};
      t.questions.forEach(function (id) { members[t.id][id] = true; });
    });
    var focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.topic : null;
    list.textContent = "";
    hint.hidden = topics.length > 0;
    if (topics.length) {
      list.appendChild(button(S.all, null));
      topics.forEach(function (t) { list.appendChild(button(named(t), t.id)); });
    }
    if (active !== null && !members[active]) {
      active = null;
      say(S.gone);
      Queue.relayout();
    } else if (active !== null) {
      Queue.layout();  // the chosen topic gained or lost questions: shown as the desk shows changes
    }
    refresh();
    if (focused !== null) {
      var again = list.querySelector('[data-topic="' + focused + '"]');
      if (again) again.focus();
    }
  }

  function receive(map) {
    if (isHeld() && topics.length) { waiting = map; return; }
    show(map);
  }

  function choose(id) {
    active = active === id ? null : id;
    refresh();
    Queue.relayout();
    var topic = topics.filter(function (t) { return t.id === active; })[0];
    say(topic ? Live.fill(S.chosen, { topic: named(topic) }) : S.allShown);
  }

  Queue.filter(function (q) { return active === null || !!(members[active] && members[active][q.id]); });
  Queue.onSnapshot(function () {
    Queue.call("topics", {}, function (ack) { if (ack && ack.ok) receive(ack.topics); });
  });
  Queue.on("topics", function (data) { receive(data.topics || []); });
  var pending = false;
  function later() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; refresh(); });
  }
  Queue.on("question", later);
  Queue.on("votes", later);
})();
