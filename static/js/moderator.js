/* The live queue: every question of the talk, by status, sorted by upvotes then time. */
(function () {
  "use strict";
  var S = Live.strings, C = Live.common, el = Live.el;
  /* The state machine comes from the server (services/questions.TRANSITIONS); upvote, edit and
   * merge are offered where they help a moderator, in this order among the transitions. */
  var machine = Live.readJSON("machine");
  var STATUSES = machine.queue;
  var ORDER = ["upvote", "approve", "forward", "answered", "reject", "edit", "merge"];
  var OFFERED = { upvote: ["pending", "approved"], edit: ["pending", "approved", "forwarded"], merge: ["pending", "approved"] };
  var ACTIONS = {};
  STATUSES.forEach(function (status) {
    ACTIONS[status] = ORDER.filter(function (action) {
      var t = machine.transitions[action];
      return t ? t.from.indexOf(status) !== -1 : (OFFERED[action] || []).indexOf(status) !== -1;
    });
  });
  var questions = {};
  var cards = {};
  var editingBy = {};
  var editing = {};
  var talk = null;
  var statusLine = document.getElementById("action-status");
  var roundState = document.getElementById("round-state");
  var template = document.getElementById("question-template");
  var lists = {};
  STATUSES.forEach(function (s) { lists[s] = document.querySelector('ol.queue[data-status="' + s + '"]'); });
  var live;

  var sayTimer = null;
  function say(text, isError) {
    clearTimeout(sayTimer);
    statusLine.textContent = text;
    statusLine.className = "action-status" + (isError ? " error" : "");
    if (!isError) sayTimer = setTimeout(function () { statusLine.textContent = ""; }, 4000);
  }

  function order(status) {
    if (status === "forwarded") return function (a, b) { return (a.forwarded_at || "").localeCompare(b.forwarded_at || "") || a.id - b.id; };
    if (status === "answered" || status === "rejected") return function (a, b) { return b.id - a.id; };
    return function (a, b) { return b.upvotes - a.upvotes || a.created_at.localeCompare(b.created_at) || a.id - b.id; };
  }

  function act(action, q, extra) {
    var payload = Object.assign({ question_id: q.id, version: q.version }, extra || {});
    if (action === "upvote") delete payload.version;
    Live.call(live.socket, action, payload, function (ack) {
      if (ack && ack.ok) {
        if (ack.question) { questions[ack.question.id] = ack.question; place(ack.question); }
        if (action === "upvote" && questions[ack.question_id]) {
          questions[ack.question_id].upvotes = ack.upvotes;
          place(questions[ack.question_id]);
        }
        say(S.done);
      } else {
        if (ack && ack.question) { questions[ack.question.id] = ack.question; place(ack.question); }
        say((ack && ack.message) || ack.error, true);
      }
    });
  }

  function button(label, onClick, className) {
    var b = el("button", className || "", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function startEdit(q, card) {
    editing[q.id] = true;
    live.socket.emit("editing", { question_id: q.id });
    var actions = card.querySelector(".actions");
    actions.textContent = "";
    var id = "edit-" + q.id;
    var label = el("label", "", S.editLabel);
    label.htmlFor = id;
    var area = el("textarea");
    area.id = id;
    area.rows = 3;
    area.maxLength = 500;
    area.value = q.text;
    var version = q.version;
    function stop() {
      delete editing[q.id];
      live.socket.emit("editing", { question_id: null });
      fill(card, questions[q.id]);
    }
    actions.appendChild(label);
    actions.appendChild(area);
    actions.appendChild(button(S.save, function () {
      Live.call(live.socket, "edit", { question_id: q.id, text: area.value, version: version }, function (ack) {
        if (ack && ack.ok) {
          questions[q.id] = ack.question;
          stop();
          say(S.done);
        } else {
          if (ack && ack.question) { questions[q.id] = ack.question; version = ack.question.version; }
          say((ack && ack.message) || ack.error, true);
        }
      });
    }));
    actions.appendChild(button(S.cancel, stop, "secondary"));
    area.focus();
  }

  function startMerge(q, card) {
    var actions = card.querySelector(".actions");
    actions.textContent = "";
    var candidates = Object.values(questions)
      .filter(function (o) { return o.id !== q.id && ["pending", "approved", "forwarded"].indexOf(o.status) !== -1; })
      .sort(function (a, b) {
        var sa = (q.similar || []).indexOf(a.id), sb = (q.similar || []).indexOf(b.id);
        return (sa === -1 ? 99 : sa) - (sb === -1 ? 99 : sb) || b.upvotes - a.upvotes;
      });
    if (!candidates.length) {
      actions.appendChild(el("p", "hint", S.mergeNone));
      actions.appendChild(button(S.cancel, function () { fill(card, questions[q.id]); }, "secondary"));
      return;
    }
    var id = "merge-" + q.id;
    var label = el("label", "", S.mergeLabel);
    label.htmlFor = id;
    var select = el("select");
    select.id = id;
    candidates.forEach(function (o) {
      var option = el("option", "", "#" + o.id + " " + o.text.slice(0, 90));
      option.value = o.id;
      select.appendChild(option);
    });
    actions.appendChild(label);
    actions.appendChild(select);
    actions.appendChild(button(S.merge, function () { act("merge", q, { into_id: Number(select.value) }); }));
    actions.appendChild(button(S.cancel, function () { fill(card, questions[q.id]); }, "secondary"));
    select.focus();
  }

  function fill(card, q) {
    card.dataset.id = q.id;
    var text = card.querySelector(".text");
    text.id = "question-text-" + q.id;
    text.textContent = q.text;
    card.querySelector(".name").textContent = q.name || S.anonymous;
    var time = card.querySelector("time");
    time.dateTime = q.created_at;
    time.textContent = Live.berlinTime(q.created_at);
    card.querySelector(".upvotes").textContent = Live.fill(S.upvotes, { n: q.upvotes });
    card.querySelector(".votes").textContent = Live.fill(S.votes, { n: q.votes });
    var flag = card.querySelector(".flag");
    flag.hidden = !q.flagged;
    flag.textContent = q.flagged ? (S["flag_" + q.flagged] || q.flagged) : "";
    var edited = card.querySelector(".edited");
    edited.hidden = !q.original_text;
    edited.textContent = S.edited;
    edited.title = q.original_text ? Live.fill(S.originalText, { text: q.original_text }) : "";
    var busy = card.querySelector(".editing");
    busy.hidden = !editingBy[q.id];
    busy.textContent = editingBy[q.id] ? Live.fill(S.editingBy, { user: editingBy[q.id] }) : "";
    var similar = card.querySelector(".similar");
    var twins = (q.similar || []).filter(function (id) { return questions[id]; });
    similar.hidden = !twins.length || ["pending", "approved"].indexOf(q.status) === -1;
    similar.textContent = twins.length ? Live.fill(S.similar, { ids: twins.map(function (id) { return "#" + id; }).join(", ") }) : "";
    var merged = card.querySelector(".merged");
    merged.hidden = !(q.merged && q.merged.length);
    if (!merged.hidden) {
      merged.querySelector("summary").textContent = Live.fill(S.mergedCount, { n: q.merged.length });
      var ul = merged.querySelector("ul");
      ul.textContent = "";
      q.merged.forEach(function (m) { ul.appendChild(el("li", "", m.text + (m.name ? " — " + m.name : ""))); });
    }
    if (editing[q.id]) return;
    var actions = card.querySelector(".actions");
    var focused = document.activeElement && actions.contains(document.activeElement) ? document.activeElement.textContent : null;
    actions.textContent = "";
    (ACTIONS[q.status] || []).forEach(function (action) {
      var handler = action === "edit" ? function () { startEdit(questions[q.id], card); }
        : action === "merge" ? function () { startMerge(questions[q.id], card); }
        : function () { act(action, questions[q.id]); };
      var b = button(S[action], handler, action === "reject" ? "secondary" : "");
      b.dataset.action = action;
      b.setAttribute("aria-describedby", text.id);
      actions.appendChild(b);
      if (focused === b.textContent) b.focus();
    });
  }

  function place(q) {
    var card = cards[q.id];
    if (STATUSES.indexOf(q.status) === -1) {
      if (card) { card.remove(); delete cards[q.id]; }
      counts();
      return;
    }
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      cards[q.id] = card;
    }
    fill(card, q);
    var list = lists[q.status];
    var siblings = Object.values(questions)
      .filter(function (o) { return o.status === q.status && cards[o.id]; })
      .sort(order(q.status));
    var index = siblings.findIndex(function (o) { return o.id === q.id; });
    var next = siblings[index + 1] && cards[siblings[index + 1].id];
    if (card.parentNode !== list || card.nextSibling !== (next || null)) {
      var hadFocus = card.contains(document.activeElement) ? document.activeElement : null;
      list.insertBefore(card, next && next.parentNode === list ? next : null);
      if (hadFocus) hadFocus.focus();
    }
    counts();
  }

  function counts() {
    STATUSES.forEach(function (s) {
      var n = lists[s].children.length;
      document.querySelector('[data-count="' + s + '"]').textContent = n;
      lists[s].parentNode.querySelector(".empty").hidden = n > 0;
    });
  }

  function renderAll() {
    STATUSES.forEach(function (s) { lists[s].textContent = ""; });
    cards = {};
    Object.values(questions).forEach(place);
    counts();
  }

  function renderTalk() {
    if (!talk) return;
    roundState.className = "round-state " + (talk.open ? "open" : "closed");
    roundState.textContent = talk.open
      ? (talk.closes_at ? Live.fill(S.openUntil, { time: Live.berlinTime(talk.closes_at) }) : S.open)
      : S.closed;
    Live.watchWindow(live, talk);
  }

  function setRound(state, until) {
    var payload = { state: state };
    if (until) payload.until = until;
    Live.call(live.socket, "talk_state", payload, function (ack) {
      if (ack && ack.ok) { talk = ack.talk; renderTalk(); say(S.done); }
      else say((ack && ack.message) || ack.error, true);
    });
  }

  document.getElementById("round-open").addEventListener("click", function () { setRound("open"); });
  document.getElementById("round-close").addEventListener("click", function () { setRound("closed"); });
  document.getElementById("round-extend").addEventListener("click", function () {
    var base = talk && talk.closes_at ? new Date(talk.closes_at) : new Date();
    if (base < new Date()) base = new Date();
    setRound("open", new Date(base.getTime() + 15 * 60 * 1000).toISOString());
  });
  document.getElementById("undo").addEventListener("click", function () {
    Live.call(live.socket, "undo", {}, function (ack) {
      if (ack && ack.ok) { ack.question && (questions[ack.question.id] = ack.question) && place(ack.question); say(S.done); }
      else say((ack && ack.message) || ack.error, true);
    });
  });

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  function selectTab(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab); });
    tab.addEventListener("keydown", function (e) {
      var to = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
      if (to) { e.preventDefault(); selectTab(to); to.focus(); }
    });
  });

  live = Live.connect({
    namespace: "/moderator",
    auth: function () { return { talk: S.talk }; },
    onRefused: function () { say(C.loggedOut, true); },
    on: {
      snapshot: function (data) {
        talk = data.talk;
        questions = Live.byId(data.questions);
        renderAll();
        renderTalk();
      },
      question: function (q) {
        var isNew = !questions[q.id];
        questions[q.id] = q;
        place(q);
        if (isNew && q.status === "pending") say(S.newQuestion);
      },
      votes: function (all) {
        Object.keys(all).forEach(function (id) {
          var q = questions[id];
          if (!q) return;
          q.upvotes = all[id].upvotes;
          q.votes = all[id].votes;
          place(q);
        });
      },
      talk: function (t) { talk = t; renderTalk(); },
      editing: function (data) {
        if (data.user) editingBy[data.question_id] = data.user; else delete editingBy[data.question_id];
        if (questions[data.question_id] && cards[data.question_id]) fill(cards[data.question_id], questions[data.question_id]);
      },
      logged_out: function () { live.socket.disconnect(); say(C.loggedOut, true); }
    }
  });
})();
