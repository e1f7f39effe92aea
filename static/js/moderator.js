/* The moderator's desk: the live queue by status, ordered and filtered as this moderator chose,
 * steady under the pointer and the keyboard focus, worked by mouse or by keys.
 *
 * Which action a card offers in which status, its button, key and words come from the server
 * (the "desk" JSON block, built from the services' state machine); this script only draws them.
 * A card is drawn by the functions in PARTS; an action runs through HANDLERS (default: a status
 * transition), so a new part or action is one small function.
 */
(function () {
  "use strict";
  var S = Live.strings, C = Live.common, el = Live.el;
  var DESK = Live.readJSON("desk");
  var ACTIONS = {}, BY_KEY = {};
  DESK.actions.forEach(function (a) {
    ACTIONS[a.name] = a;
    if (a.key) BY_KEY[a.key] = a.name;
  });
  var SORT_KEY = "fragerunde:sort:" + DESK.user;
  var ARRIVAL_PAUSE = 5000;   // ms between two announcements of incoming questions
  var ARRIVAL_GATHER = 1500;  // ms to wait for more before the first one is announced
  var TOAST_TIME = 6000;      // ms a result stays in the message line
  var ERROR_TIME = 15000;
  var GHOST_SETTLE = 1500;    // ms a handled card keeps its height before it shrinks to one line     // ms a refusal stays there (unless the pointer rests on it)

  var questions = {};         // id -> question as the server sent it
  var cards = {};             // id -> its live card (ghosts are not in here)
  var forms = {};             // id -> open editor or merge picker: {kind, list, ...}
  var editingBy = {};         // id -> user name of another moderator editing it
  var lastBy = {};            // id -> {by, action} of the last change another moderator made
  var ownDone = {};           // id -> words of this moderator's step that took it off its list
  var picked = {};            // id -> true: cards picked ("x") to approve together ("a")
  var step = null;            // the step the next undo takes back
  var talk = null, live, firstSnapshot = true;
  var view = { tab: DESK.tabs[0], sort: storedSort(), search: "", flagged: false, similar: false, shortlisted: false };
  var held = { pointer: false, focus: false };

  var $ = function (id) { return document.getElementById(id); };
  var queueArea = $("queue"), template = $("question-template"), undoButton = $("undo");
  var arrivalsButton = $("show-arrivals"), resortButton = $("resort"), pickedButton = $("approve-picked");
  var holdZone = [queueArea, document.querySelector(".desk-tabs")];
  // The sticky bar's height, for the cards' scroll margin: a focused card never hides behind it.
  var deskBar = document.querySelector(".desk-bar");
  if (window.ResizeObserver && deskBar) {
    new ResizeObserver(function () {
      document.documentElement.style.setProperty("--desk-bar", deskBar.offsetHeight + "px");
    }).observe(deskBar);
  }
  var lists = {};
  DESK.tabs.forEach(function (s) { lists[s] = document.querySelector('ol.queue[data-status="' + s + '"]'); });
  /* Extension point (see window.Queue below): functions run for every filled card and snapshot. */
  var hooks = { card: [], snapshot: [], filter: [], backstage: [] };

  // --- words ------------------------------------------------------------------------------------
  function shorten(text, limit) {
    text = String(text || "").replace(/\s+/g, " ").trim();
    limit = limit || 40;
    return text.length <= limit ? text : text.slice(0, limit - 1).trim() + "…";
  }
  function stepWords(action, text) {
    return Live.fill(DESK.steps[action] || "„{text}“", { text: shorten(text) });
  }
  function statusName(status) { return DESK.statusNames[status] || status; }

  // --- feedback: a polite live region, toasts in view, a summary of arrivals ---------------------
  function say(text) {
    var region = $("say");
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  /* Messages go in one line of the desk's bar (it covers no card), name their question ("#12 · …"),
   * and go by themselves; only one that needs an answer (`stay`: the login ended) waits for
   * "Schließen". The newest replaces the one before. */
  function toast(text, isError, id, stay) {
    var box = $("toasts");
    Array.prototype.slice.call(box.children).forEach(function (old) { dismiss(old); });
    var item = el("div", "toast" + (isError ? " error" : ""));
    var words = (id ? "#" + id + " · " : "") + text;
    var message = el("p", "", words);
    message.title = words;
    if (isError) message.setAttribute("role", "alert");
    item.appendChild(message);
    item.appendChild(button(S.dismiss, function () { dismiss(item); }, "secondary"));
    box.appendChild(item);
    if (!stay) {
      var timer = null;
      var arm = function () { timer = setTimeout(function () { dismiss(item); }, isError ? ERROR_TIME : TOAST_TIME); };
      item.addEventListener("pointerenter", function () { clearTimeout(timer); });
      item.addEventListener("pointerleave", arm);
      arm();
    }
    return item;
  }
  function dismiss(item) {
    if (item.contains(document.activeElement)) focusHome();
    item.remove();
  }
  function done(text, id) { say((id ? "#" + id + " · " : "") + text); toast(text, false, id); }
  function failed(ack, id) { toast((ack && ack.message) || C.noAnswer, true, id); }

  var ownSimilar = {};  // cards whose suggestions this moderator just changed: shown at once, held or not
  function dismissSimilar(questionId, otherId) {
    Live.call(live.socket, "dismiss_similar", { question_id: questionId, other_id: otherId }, function (ack) {
      if (!(ack && ack.ok)) { failed(ack); return; }
      [questionId, otherId].forEach(function (id) { ownSimilar[id] = true; });
      update(ack.question);
      if (cards[otherId] && questions[otherId]) fill(cards[otherId], questions[otherId]);
    });
  }

  var arrivalIds = [], arrivalTimer = null, lastArrivalNote = 0;
  function arrived(id) {
    arrivalIds.push(id);
    if (arrivalTimer) return;
    var wait = Math.max(ARRIVAL_GATHER, lastArrivalNote + ARRIVAL_PAUSE - Date.now());
    arrivalTimer = setTimeout(function () {
      arrivalTimer = null;
      lastArrivalNote = Date.now();
      var n = arrivalIds.length;
      $("arrivals").textContent = n === 1 ? Live.fill(S.oneArrival, { id: arrivalIds[0] }) : Live.fill(S.arrivals, { n: n });
      arrivalIds = [];
    }, wait);
  }

  // --- which questions a list shows, in which order ---------------------------------------------
  function storedSort() {
    try { return localStorage.getItem(SORT_KEY) || "popular"; } catch (e) { return "popular"; }
  }
  function twins(q) {
    return (q.similar || []).filter(function (id) {
      var o = questions[id];
      return o && DESK.open.indexOf(o.status) !== -1;
    });
  }
  function filtering() { return !!(view.search || view.flagged || view.similar || view.shortlisted); }
  function matches(q) {
    if (!hooks.filter.every(function (fn) { return fn(q); })) return false;
    if (view.flagged && !q.flagged) return false;
    if (view.shortlisted && !q.shortlisted) return false;
    if (view.similar && !twins(q).length) return false;
    if (!view.search) return true;
    var needle = view.search.toLowerCase();
    if (/^#\d+$/.test(needle)) return String(q.id) === needle.slice(1);
    return (q.text + " " + (q.name || "")).toLowerCase().indexOf(needle) !== -1;
  }
  function byTime(a, b) { return a.created_at.localeCompare(b.created_at) || a.id - b.id; }
  function compare(status) {
    if (status === "forwarded") {
      return function (a, b) { return (a.forwarded_at || "").localeCompare(b.forwarded_at || "") || a.id - b.id; };
    }
    if (view.sort === "oldest") return byTime;
    if (view.sort === "newest") return function (a, b) { return byTime(b, a); };
    // Equal support: the one waiting longest first ("Neu" starts with the oldest question).
    return function (a, b) { return (b.votes + b.upvotes) - (a.votes + a.upvotes) || byTime(a, b); };
  }
  function belongs(q, status) {
    var form = forms[q.id];
    if (form) return form.list === status;   // an open editor keeps its card where it is
    return q.status === status;
  }
  function wanted(status) {
    return Object.values(questions)
      .filter(function (q) { return belongs(q, status) && (matches(q) || forms[q.id]); })
      .sort(compare(status));
  }

  // --- laying out: everything at once, or (held) only what does not move -------------------------
  function isHeld() { return held.pointer || held.focus; }
  function inZone(node) { return !!node && holdZone.some(function (z) { return z.contains(node); }); }
  function release() {
    if (isHeld()) return;
    Object.keys(cards).forEach(function (id) { if (cards[id].dataset.stale && questions[id]) fill(cards[id], questions[id]); });
    layout(true);
  }
  function keyboardFocus(node) {
    try { return node.matches(":focus-visible"); } catch (e) { return true; }
  }

  /* Focus moved while laying out may end the hold and ask for a layout: it runs after this one. */
  var laying = false, again = null;
  function layout(force) {
    if (laying) { again = again || !!force; return; }
    laying = true;
    try { arrange(force); } finally { laying = false; }
    if (again !== null) { var f = again; again = null; layout(f); }
  }

  function arrange(force) {
    var arrivals = 0, resort = false;
    DESK.tabs.forEach(function (status) {
      var want = wanted(status);
      if (force || status !== view.tab || !isHeld()) { reconcile(lists[status], want); return; }
      var shown = holdList(lists[status], status);
      var wantedIds = want.map(function (q) { return q.id; });
      arrivals += wantedIds.filter(function (id) { return shown.indexOf(id) === -1; }).length;
      var kept = wantedIds.filter(function (id) { return shown.indexOf(id) !== -1; });
      resort = resort || kept.join() !== shown.filter(function (id) { return kept.indexOf(id) !== -1; }).join();
    });
    arrivalsButton.hidden = !arrivals;
    arrivalsButton.textContent = arrivals === 1 ? S.showArrival : Live.fill(S.showArrivals, { n: arrivals });
    resortButton.hidden = !resort || !!arrivals;
    counts();
    markPodium();
    showPicked();
  }

  /* The held list: cards keep their places; a card whose question left this list stays as a
   * note ("ghost") until the hold ends, unless this moderator moved it by key. */
  function holdList(list, status) {
    var shown = [];
    Array.prototype.slice.call(list.children).forEach(function (node) {
      if (node.classList.contains("gone")) return;
      var id = Number(node.dataset.id), q = questions[id];
      if (q && belongs(q, status)) {
        shown.push(id);
        return;
      }
      if (ownDone[id] !== undefined && !held.pointer) {
        delete ownDone[id];
        delete cards[id];
        removeCard(node);
        return;
      }
      ghost(node, q);
    });
    return shown;
  }

  function reconcile(list, want) {
    var previous = null;
    want.forEach(function (q) {
      var card = cardFor(q);
      var at = previous ? previous.nextSibling : list.firstChild;
      if (card !== at) list.insertBefore(card, at);
      previous = card;
    });
    var rest = previous ? previous.nextSibling : list.firstChild;
    while (rest) {
      var next = rest.nextSibling;
      if (cards[rest.dataset.id] === rest) delete cards[rest.dataset.id];
      delete ownDone[rest.dataset.id];
      removeCard(rest);
      rest = next;
    }
  }

  function removeCard(node) {
    if (node.contains(document.activeElement)) {
      var to = neighbour(node);
      if (to) focusCard(to); else focusHome();
    }
    node.remove();
  }

  function ghost(node, q) {
    var id = Number(node.dataset.id);
    if (cards[id] === node) delete cards[id];
    node.style.height = node.getBoundingClientRect().height + "px";  // the cards below stay where they are
    node.classList.add("gone");
    node.removeAttribute("id");
    node.querySelector(".actions").textContent = "";
    node.querySelector(".pick").hidden = true;
    node.classList.remove("picked");
    var words = ownDone[id];
    var other = lastBy[id];
    if (words === undefined) words = stepWords((other && other.action) || "", q ? q.text : "");
    // Where it is now: a tab, or (merged, which has no tab) the question it is part of.
    var text = q && q.status === "merged" && q.merged_into ? Live.fill(S.mergedInto, { step: words, id: q.merged_into })
      : Live.fill(S.movedTo, { step: words, status: q ? statusName(q.status) : "" });
    if (ownDone[id] === undefined) text = ((other && other.by) || S.someone) + ": " + text;
    note(node, "#" + id + " · " + text);
    delete ownDone[id];
    items(node).forEach(function (item) { item.tabIndex = -1; });
    if (node.contains(document.activeElement)) {
      var to = neighbour(node);
      if (to) focusCard(to);
    }
    // A moment at full height (a second click meant for it lands on nothing), then one line.
    setTimeout(function () {
      node.style.height = "";
      node.classList.add("collapsed");
    }, GHOST_SETTLE);
  }

  function note(card, text) {
    var box = card.querySelector(":scope > .note");
    box.hidden = !text;
    box.textContent = text || "";
  }

  function counts() {
    DESK.tabs.forEach(function (s) {
      var all = Object.values(questions).filter(function (q) { return q.status === s; }).length;
      var shown = Object.values(questions).filter(function (q) { return q.status === s && matches(q); }).length;
      document.querySelector('[data-count="' + s + '"]').textContent =
        shown !== all ? Live.fill(S.countOf, { shown: shown, all: all }) : all;
      lists[s].parentNode.querySelector(".empty").hidden = lists[s].children.length > 0;
    });
  }

  // --- a card -----------------------------------------------------------------------------------
  function cardFor(q) {
    var card = cards[q.id];
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      card.id = "q-" + q.id;
      card.dataset.id = q.id;
      card.tabIndex = -1;
      cards[q.id] = card;
    }
    fill(card, q);
    return card;
  }

  function fill(card, q) {
    PARTS.forEach(function (part) { part(card, q); });
    hooks.card.forEach(function (fn) { fn(card, q); });
    if (!forms[q.id]) rove(card);
  }

  var PARTS = [
    /* A checkbox ("#12 auswählen", key x) where "Freigeben" is offered: "a" then approves all picked. */
    function pick(card, q) {
      var box = card.querySelector(".pick"), input = box.querySelector("input");
      var can = ACTIONS.approve.statuses.indexOf(q.status) !== -1;
      if (!can) delete picked[q.id];
      box.hidden = !can;
      box.querySelector("span").textContent = Live.fill(S.pick, { id: q.id });
      input.checked = !!picked[q.id];
      card.classList.toggle("picked", !!picked[q.id]);
      if (!input.dataset.bound) {
        input.dataset.bound = "1";
        input.addEventListener("change", function () { setPicked(Number(card.dataset.id), input.checked); });
      }
    },
    function text(card, q) {
      var node = card.querySelector(".text");
      node.id = "question-text-" + q.id;
      node.textContent = q.text;
    },
    function meta(card, q) {
      card.querySelector(".number").textContent = "#" + q.id;
      card.querySelector(".name").textContent = q.name || S.anonymous;
      var time = card.querySelector("time");
      time.dateTime = q.created_at;
      time.title = Live.berlinTime(q.created_at);
      time.textContent = age(q.created_at);
      card.querySelector(".score").textContent = Live.count("audienceVotes", q.votes) + " + " + Live.count("upvotes", q.upvotes);
    },
    function flag(card, q) {
      var node = card.querySelector(".flag");
      node.hidden = !q.flagged;
      node.textContent = q.flagged ? (S["flag_" + q.flagged] || q.flagged) : "";
      card.classList.toggle("flagged", !!q.flagged);
    },
    /* "Vormerken": the moderators' shared shortlist (aria-pressed; "Vorgemerkt" while on it). */
    function star(card, q) {
      var b = card.querySelector(".star");
      var on = !!q.shortlisted;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.setAttribute("aria-describedby", "question-text-" + q.id);
      b.querySelector("[aria-hidden]").textContent = on ? "★" : "☆";
      b.querySelector(".star-label").textContent = on ? S.shortlisted : S.shortlist;
      card.classList.toggle("shortlisted", on);
      if (!b.dataset.bound) {
        b.dataset.bound = "1";
        b.addEventListener("click", function () { shortlist(Number(card.dataset.id)); });
      }
    },
    function edited(card, q) {
      var node = card.querySelector(".edited");
      node.hidden = !q.original_text;
      node.textContent = S.edited;
      node.title = q.original_text ? Live.fill(S.originalText, { text: q.original_text }) : "";
    },
    function editing(card, q) {
      var node = card.querySelector(".editing");
      node.hidden = !editingBy[q.id];
      node.textContent = editingBy[q.id] ? Live.fill(S.editingBy, { user: editingBy[q.id] }) : "";
    },
    /* "Ähnlich wie #12" links to the other card, the words both share marked, and a button to
     * dismiss a wrong suggestion for good (the server never suggests that pair again). */
    function similar(card, q) {
      var node = card.querySelector(".similar");
      var ids = ACTIONS.merge.statuses.indexOf(q.status) !== -1 ? twins(q) : [];  // where it can be merged
      var key = ids.join(",") + JSON.stringify(q.similar_words || {});
      if (isHeld() && !ownSimilar[q.id] && card.isConnected && node.dataset.key !== undefined && node.dataset.key !== key) {
        card.dataset.stale = "1";  // a new suggestion waits like a re-sort: nothing moves under the pointer
        return;
      }
      node.dataset.key = key;
      delete card.dataset.stale;
      delete ownSimilar[q.id];
      node.hidden = !ids.length;
      node.textContent = "";
      ids.forEach(function (id) {
        var line = el("span", "twin", S.similar + " ");
        var link = el("a", "", "#" + id);
        link.href = "#q-" + id;
        link.dataset.jump = id;
        link.setAttribute("aria-label", Live.fill(S.similarLink, { id: id }));
        line.appendChild(link);
        ((q.similar_words || {})[id] || []).forEach(function (word, i) {
          line.appendChild(document.createTextNode(i ? ", " : ": "));
          line.appendChild(el("mark", "", word));
        });
        line.appendChild(document.createTextNode(" "));
        var dismiss = button(Live.fill(S.dismissSimilar, { id: id }), function () { dismissSimilar(q.id, id); },
          "secondary small");
        dismiss.dataset.dismiss = id;
        line.appendChild(dismiss);
        node.appendChild(line);
      });
    },
    function merged(card, q) {
      var node = card.querySelector(".merged");
      var ul = node.querySelector("ul");
      ul.textContent = "";
      node.hidden = !(q.merged && q.merged.length);
      if (node.hidden) return;
      node.querySelector("summary").textContent = Live.count("merged", q.merged.length);
      q.merged.forEach(function (m) { ul.appendChild(el("li", "", m.text + (m.name ? " — " + m.name : ""))); });
    },
    /* "Am Podium": the question on screen now is marked; any other can be put on screen now
     * ("Jetzt zeigen") or moved up or down the podium's order. */
    function podium(card, q) {
      var box = card.querySelector(".podium-order");
      var here = q.status === "forwarded";
      var order = here ? podiumOrder() : [];
      var at = order.indexOf(q.id);
      var key = here ? [at === 0, at === order.length - 1].join() : "";
      var now = card.querySelector(".on-podium");
      now.hidden = !(here && at === 0);
      now.textContent = now.hidden ? "" : S.onPodium;
      if (here && at === 0) card.setAttribute("aria-current", "true"); else card.removeAttribute("aria-current");
      if (box.dataset.key === key) return;
      box.dataset.key = key;
      box.textContent = "";
      box.hidden = !here;
      if (!here) return;
      [["showNow", at !== 0, function () { return [q.id]; }],
       ["moveUp", at > 1, function () { return moved(podiumOrder(), q.id, -1); }],
       ["moveDown", at !== 0 && at < order.length - 1, function () { return moved(podiumOrder(), q.id, 1); }]
      ].forEach(function (b) {
        if (!b[1]) return;
        var node = button(S[b[0]], function () { reorder(q, card, b[2](), b[0]); }, b[0] === "showNow" ? "" : "secondary");
        node.dataset.order = b[0];
        node.setAttribute("aria-describedby", "question-text-" + q.id);
        box.appendChild(node);
      });
    },
    function actions(card, q) {
      if (forms[q.id]) return;
      // The next step first and marked (DESK.primary): the first button means the same in every tab.
      var offered = DESK.actions.filter(function (a) { return a.statuses.indexOf(q.status) !== -1; });
      var first = DESK.primary[q.status];
      offered.sort(function (a, b) { return (b.name === first) - (a.name === first); });
      var key = offered.map(function (a) { return a.name; }).join();
      if (card.dataset.actions === key) return;  // keep the buttons (and the focus on one of them)
      card.dataset.actions = key;
      var box = card.querySelector(".actions");
      box.textContent = "";
      offered.forEach(function (action) {
        var b = button(action.label, function () { run(action.name, card); },
          action.name === first ? "primary" : action.secondary ? "secondary" : "plain");
        b.dataset.action = action.name;
        b.setAttribute("aria-describedby", "question-text-" + q.id);
        if (action.key) b.setAttribute("aria-keyshortcuts", action.key);
        box.appendChild(b);
      });
    },
    function upvoteButton(card, q) {
      var b = card.querySelector('.actions > button[data-action="upvote"]');
      if (!b) return;
      var label = upvoted[q.id] ? S.upvoteUndo : ACTIONS.upvote.label;
      if (b.textContent !== label) b.textContent = label;
    }
  ];

  /* The forwarded questions in the podium's order (as podium.js orders them): the first is on screen. */
  function podiumOrder() {
    return Object.values(questions).filter(function (q) { return q.status === "forwarded"; })
      .sort(compare("forwarded")).map(function (q) { return q.id; });
  }
  function moved(order, id, by) {
    var i = order.indexOf(id), j = i + by;
    if (i === -1 || j < 1 || j >= order.length) return order;
    order[i] = order[j];
    order[j] = id;
    return order;
  }
  function reorder(q, card, order, how) {
    Live.call(live.socket, "podium_order", { order: order }, function (ack) {
      if (!(ack && ack.ok)) { failed(ack, q.id); return; }
      if ("step" in ack) setStep(ack.step);
      if (ack.question) questions[ack.question.id] = ack.question;
      layout(true);  // one's own reorder shows at once, held or not
      var words = Live.fill(how === "showNow" ? S.shownNow : S.podiumPlace,
        { text: shorten(q.text), n: podiumOrder().indexOf(q.id) + 1 });
      done(words, q.id);
      var back = cards[q.id];
      if (back && view.tab === "forwarded") focusCard(back);
    });
  }
  function markPodium() {
    Array.prototype.forEach.call(lists.forwarded ? lists.forwarded.children : [], function (card) {
      var q = questions[card.dataset.id];
      if (q && !card.classList.contains("gone")) PARTS_BY_NAME.podium(card, q);
    });
  }

  var ageFormat = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(document.documentElement.lang || "de", { style: "short" }) : null;
  var PARTS_BY_NAME = {};
  PARTS.forEach(function (part) { PARTS_BY_NAME[part.name] = part; });

  function age(iso) {
    var minutes = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
    if (minutes < 1 || !ageFormat) return S.justNow;
    if (minutes < 60) return ageFormat.format(-minutes, "minute");
    return ageFormat.format(-Math.floor(minutes / 60), "hour");
  }
  setInterval(function () {
    Array.prototype.forEach.call(queueArea.querySelectorAll(".card time"), function (t) {
      if (t.dateTime) t.textContent = age(t.dateTime);
    });
  }, 30000);

  function button(label, onClick, className) {
    var b = el("button", className || "", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // --- focus: one Tab stop per card, arrows inside, j/k between cards ----------------------------
  function items(card) {
    return [card].concat(Array.prototype.slice.call(
      card.querySelectorAll(".pick:not([hidden]) input, .star, .similar a, .similar button, summary, .podium-order > button, .actions > button[data-action]")));
  }
  function roveKey(item) {
    if (item.type === "checkbox") return "pick";
    if (item.classList.contains("star")) return "star";
    return item.dataset.action || item.dataset.order || item.dataset.jump
      || (item.dataset.dismiss && "dismiss" + item.dataset.dismiss) || "summary";
  }
  function rove(card, target) {
    if (card.classList.contains("gone")) return;
    var all = items(card);
    if (!target) {
      var remembered = card.dataset.rove;
      target = all.filter(function (i) { return i !== card && roveKey(i) === remembered; })[0] || card;
    }
    card.dataset.rove = target === card ? "" : roveKey(target);
    all.forEach(function (i) { i.tabIndex = i === target ? 0 : -1; });
  }
  function visibleCards() {
    return Array.prototype.slice.call(lists[view.tab].querySelectorAll(".card:not(.gone)"));
  }
  function currentCard() {
    var a = document.activeElement;
    var card = a && a.closest ? a.closest(".card") : null;
    return card && !card.classList.contains("gone") && queueArea.contains(card) ? card : null;
  }
  function neighbour(card) {
    var all = Array.prototype.slice.call(card.parentNode ? card.parentNode.querySelectorAll(".card:not(.gone)") : []);
    var i = all.indexOf(card);
    return all[i + 1] || all[i - 1] || null;
  }
  /* `stay`: the pointer rests on the queue; the page does not scroll under it. */
  function focusCard(card, stay) {
    if (!card) return focusHome();
    rove(card, card);
    card.focus({ preventScroll: true });
    if (!stay) card.scrollIntoView({ block: "nearest" });
  }
  function focusHome() {
    var next = visibleCards()[0];
    if (next && !next.contains(document.activeElement)) return focusCard(next);
    $("tab-" + view.tab).focus();
  }
  function move(by) {
    var all = visibleCards();
    if (!all.length) return;
    var i = all.indexOf(currentCard());
    var to = i === -1 ? (by > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + by));
    focusCard(all[to]);
  }

  queueArea.addEventListener("keydown", function (e) {
    var card = e.target.closest && e.target.closest(".card");
    if (!card || card.classList.contains("gone") || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    var all = items(card).filter(function (i) { return i.offsetParent !== null; });
    var i = all.indexOf(e.target);
    var to = e.key === "ArrowRight" ? all[(i + 1) % all.length] : e.key === "ArrowLeft" ? all[(i - 1 + all.length) % all.length]
      : e.key === "Home" ? all[0] : e.key === "End" ? all[all.length - 1] : null;
    if (!to || i === -1) return;
    e.preventDefault();
    rove(card, to);
    to.focus();
  });
  queueArea.addEventListener("focusin", function (e) {
    var card = e.target.closest && e.target.closest(".card");
    if (card && !forms[card.dataset.id] && items(card).indexOf(e.target) !== -1) rove(card, e.target);
  });
  queueArea.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-jump]");
    if (!link) return;
    e.preventDefault();
    jumpTo(Number(link.dataset.jump));
  });

  /* A similar question's link: show that card (its tab, clear filters that hide it), mark it.
   * "Zurück zu #N" (and the browser's Back) brings back the tab, the filters and the card. */
  var jumpBack = null, jumpButton = $("jump-back");
  function jumpTo(id) {
    var q = questions[id];
    if (!q) return;
    var from = currentCard();
    jumpBack = { tab: view.tab, search: searchBox.value, flagged: flaggedBox.checked, similar: similarBox.checked,
      id: from ? Number(from.dataset.id) : null };
    jumpButton.textContent = Live.fill(S.jumpBack, { id: jumpBack.id || "" });
    jumpButton.hidden = !jumpBack.id;
    try { history.pushState({ jump: id }, ""); } catch (e) { /* no history: the button still works */ }
    if (!matches(q)) { clearFilters(); layout(true); }
    if (q.status !== view.tab) selectTab($("tab-" + q.status));
    var card = cards[id] || (layout(true), cards[id]);
    if (!card) return;
    card.scrollIntoView({ block: "center" });
    card.classList.remove("highlight");
    void card.offsetWidth;
    card.classList.add("highlight");
    focusCard(card);
  }

  function goBack() {
    var back = jumpBack;
    jumpBack = null;
    jumpButton.hidden = true;
    if (!back) return;
    searchBox.value = view.search = back.search;
    flaggedBox.checked = view.flagged = back.flagged;
    similarBox.checked = view.similar = back.similar;
    selectTab($("tab-" + back.tab));
    layout(true);
    if (back.id && cards[back.id]) focusCard(cards[back.id]); else focusHome();
  }
  jumpButton.addEventListener("click", function () {
    if (history.state && history.state.jump) history.back(); else goBack();
  });
  window.addEventListener("popstate", function () { if (jumpBack) goBack(); });

  // --- the hold: nothing moves under the pointer or the keyboard focus ---------------------------
  holdZone.forEach(function (zone) {
    zone.addEventListener("pointerenter", function () { held.pointer = true; });
    zone.addEventListener("pointerleave", function (e) {
      if (inZone(e.relatedTarget)) return;
      held.pointer = false;
      release();
    });
    // Focus a mouse click left behind holds nothing; focus moved by keys does.
    zone.addEventListener("focusin", function (e) { held.focus = keyboardFocus(e.target); });
    zone.addEventListener("keydown", function () { held.focus = true; });
    zone.addEventListener("focusout", function (e) {
      if (inZone(e.relatedTarget)) return;
      held.focus = false;
      release();
    });
  });
  arrivalsButton.addEventListener("click", function () {
    var before = Object.keys(cards);
    layout(true);
    var fresh = visibleCards().filter(function (c) { return before.indexOf(c.dataset.id) === -1; })[0];
    focusCard(fresh || visibleCards()[0]);
  });
  resortButton.addEventListener("click", function () {
    layout(true);
    focusCard(visibleCards()[0]);
  });

  // --- actions ----------------------------------------------------------------------------------
  var HANDLERS = {
    upvote: upvote,
    edit: startEdit,
    merge: startMerge,
    reject: startReject
  };

  /* A flagged question ("Beleidigung?") is approved only by a second, deliberate press: the
   * first one says what it is flagged as. */
  var armed = null;  // {id, until}: the flagged question a second "Freigeben" approves
  var ARMED_TIME = 10000;
  function run(name, card) {
    var q = questions[card.dataset.id], action = ACTIONS[name];
    if (!q || !action || forms[q.id]) return;
    if (action.statuses.indexOf(q.status) === -1) {
      toast(Live.fill(S.notHere, { action: action.label }), true, q.id);
      return;
    }
    if (name === "approve" && q.flagged && !(armed && armed.id === q.id && armed.until > Date.now())) {
      armed = { id: q.id, until: Date.now() + ARMED_TIME };
      var words = Live.fill(S.flagAgain, { flag: S["flag_" + q.flagged] || "" });
      toast(words, true, q.id);
      return;
    }
    armed = null;
    (HANDLERS[name] || transition)(q, card, name);
  }

  function shortlist(id) {
    var q = questions[id];
    if (!q) return;
    var on = !q.shortlisted;
    Live.call(live.socket, "shortlist", { question_id: id, on: on }, function (ack) {
      if (!(ack && ack.ok)) { if (ack && ack.question) update(ack.question); failed(ack, id); return; }
      if (ack.question) update(ack.question);
      done(Live.fill(on ? S.shortlistOn : S.shortlistOff, { text: shorten(q.text) }), id);
    });
  }

  // --- several at once: pick cards ("x" or the checkbox), approve them together ("a") ---------------
  function pickedIds() {
    return Object.keys(picked).map(Number).filter(function (id) {
      var q = questions[id];
      return q && ACTIONS.approve.statuses.indexOf(q.status) !== -1;
    });
  }
  function setPicked(id, on) {
    if (on) picked[id] = true; else delete picked[id];
    if (cards[id] && questions[id]) fill(cards[id], questions[id]);
    showPicked();
  }
  function showPicked() {
    var n = pickedIds().length;
    pickedButton.hidden = !n;
    pickedButton.textContent = Live.fill(S.approvePicked, { n: n });
  }
  /* Approves every picked question through "approve", one by one as the server knows them; a
   * flagged one is left picked and named: it needs a look of its own (and its second "a"). */
  var armedPicks = null;  // {ids, until}: the flagged picks a second "a" approves
  function approvePicked() {
    var ids = pickedIds();
    var flagged = ids.filter(function (id) { return questions[id].flagged; });
    var second = flagged.length && armedPicks && armedPicks.ids === flagged.join() && armedPicks.until > Date.now();
    armedPicks = flagged.length && !second ? { ids: flagged.join(), until: Date.now() + ARMED_TIME } : null;
    if (second) flagged = [];
    var go = ids.filter(function (id) { return flagged.indexOf(id) === -1; });
    var left = go.length, ok = 0;
    var report = function () {
      if (ok) done(Live.fill(S.pickedApproved, { n: ok }));
      if (flagged.length) {
        toast(Live.fill(S.pickedFlagged, { ids: flagged.map(function (id) {
          return "#" + id + " (" + (S["flag_" + questions[id].flagged] || "") + ")";
        }).join(", ") }), true);
      }
      showPicked();
    };
    if (!left) { report(); return; }
    var focused = currentCard();
    if (focused && go.indexOf(Number(focused.dataset.id)) !== -1) {
      var rest = visibleCards().filter(function (c) { return go.indexOf(Number(c.dataset.id)) === -1; });
      if (rest.length) focusCard(rest[0]);
    }
    go.forEach(function (id) {
      var q = questions[id];
      ownDone[id] = stepWords("approve", q.text);
      delete picked[id];
      Live.call(live.socket, "approve", { question_id: id, version: q.version }, function (ack) {
        if (ack && ack.ok) {
          ok += 1;
          if ("step" in ack) setStep(ack.step);
          if (ack.question) update(ack.question);
        } else {
          delete ownDone[id];
          picked[id] = true;
          if (ack && ack.question) update(ack.question);
          failed(ack, id);
        }
        left -= 1;
        if (!left) report();
      });
    });
  }
  pickedButton.addEventListener("click", approvePicked);

  /* `extra`: more of the payload (a reject's reason). */
  function transition(q, card, name, extra) {
    var after = neighbour(card);
    if (card.contains(document.activeElement) || !currentCard()) focusCard(after || card, held.pointer);
    var words = stepWords(name, q.text);
    ownDone[q.id] = words;  // the broadcast of this step may come before its acknowledgement
    Live.call(live.socket, name, Object.assign({ question_id: q.id, version: q.version }, extra || {}), function (ack) {
      if (!(ack && ack.ok)) {
        delete ownDone[q.id];
        if (ack && ack.question) update(ack.question);
        failed(ack, q.id);
        return;
      }
      finished(ack, words, card, q.id);
    });
  }

  /* After this moderator's own step: the card leaves its list (a note while the pointer is
   * over the queue), the undo button names the step, the step is said where the eye is. */
  function finished(ack, words, card, id) {
    if ("step" in ack) setStep(ack.step);
    if (ack.question) update(ack.question);
    if (card.classList.contains("gone")) say("#" + id + " · " + words); else done(words, id);
  }

  /* "Hochstufen" once per moderator; pressed again ("Hochstufung zurücknehmen") it is taken back.
   * Which ones this moderator upvoted is kept for this tab (the payload counts, it names nobody). */
  var UPVOTED_KEY = "fragerunde:upvoted:" + S.talk + ":" + DESK.user;
  var upvoted = {};
  try { upvoted = JSON.parse(sessionStorage.getItem(UPVOTED_KEY) || "{}"); } catch (e) { upvoted = {}; }
  function upvote(q, card) {
    var value = upvoted[q.id] ? 0 : 1;
    Live.call(live.socket, "upvote", { question_id: q.id, value: value }, function (ack) {
      if (!(ack && ack.ok)) { failed(ack, q.id); return; }
      if (value) upvoted[q.id] = true; else delete upvoted[q.id];
      try { sessionStorage.setItem(UPVOTED_KEY, JSON.stringify(upvoted)); } catch (e) { /* not kept */ }
      var target = questions[ack.question_id];
      if (target) {
        target.upvotes = ack.upvotes;
        target.votes = ack.votes;
        update(target);
      }
      if (questions[q.id] && cards[q.id]) fill(cards[q.id], questions[q.id]);
      done(value ? stepWords("upvote", q.text) : Live.fill(S.upvoteTaken, { text: shorten(q.text) }), q.id);
    });
  }

  function setStep(value) {
    step = value || null;
    undoButton.textContent = step ? Live.fill(S.undoStep, { step: stepWords(step.action, step.text) }) : S.undo;
  }

  function undo(confirmed) {
    var payload = {};
    if (step) payload.step = step.id;
    if (confirmed) payload.confirm = true;
    Live.call(live.socket, "undo", payload, function (ack) {
      if (ack && ack.ok) {
        setStep(ack.step);
        if (ack.question) questions[ack.question.id] = ack.question;
        layout(true);
        var words = Live.fill(S.undone, { step: ack.undone ? stepWords(ack.undone.action, ack.undone.text) : "" });
        done(words, ack.question && ack.question.id);
        var back = ack.question && cards[ack.question.id];
        if (back && ack.question.status === view.tab && inZone(document.activeElement)) focusCard(back);
        return;
      }
      if (ack && ack.question) update(ack.question);
      if (ack && ack.error === "confirm" && ack.step) {
        setStep(ack.step);
        confirmUndo(ack.message);
        return;
      }
      if (ack && ack.error === "not_found") setStep(null);
      else refreshStep();
      failed(ack && ack.error === "not_found" ? { message: S.nothingToUndo } : ack);
    });
  }

  function confirmUndo(message) {
    var dialog = $("undo-confirm");
    $("undo-confirm-text").textContent = message;
    var back = document.activeElement;
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (back && back.isConnected) back.focus(); else focusHome();
      if (dialog.returnValue === "yes") undo(true);
    });
    dialog.showModal();
  }

  function refreshStep() {
    Live.call(live.socket, "undo_step", {}, function (ack) { if (ack && ack.ok) setStep(ack.step); });
  }

  // --- the editor and the merge picker: forms that keep their card in place ---------------------
  function openForm(q, card, kind) {
    forms[q.id] = { kind: kind, list: card.parentNode.dataset.status, version: q.version, base: q };
    card.classList.add("open-form");
    delete card.dataset.actions;
    var box = card.querySelector(".actions");
    box.textContent = "";
    return { form: forms[q.id], box: box };
  }

  function closeForm(id, card) {
    var form = forms[id];
    delete forms[id];
    card.classList.remove("open-form");
    delete card.dataset.actions;
    if (form && form.kind === "edit") live.socket.emit("editing", { question_id: null });
    var q = questions[id];
    if (q) fill(card, q);
    var keep = q && card.parentNode && belongs(q, card.parentNode.dataset.status);
    if (keep) focusCard(card);
    layout();
    if (!keep && !currentCard()) focusHome();
  }

  function startEdit(q, card) {
    var opened = openForm(q, card, "edit"), form = opened.form, box = opened.box;
    live.socket.emit("editing", { question_id: q.id });
    var id = "edit-" + q.id;
    var label = el("label", "", S.editLabel);
    label.htmlFor = id;
    var area = el("textarea");
    area.id = id;
    area.rows = 3;
    area.maxLength = DESK.limits.question;
    area.value = q.text;
    form.area = area;
    form.notice = el("div", "conflict");
    form.notice.setAttribute("role", "status");
    form.notice.hidden = true;
    box.appendChild(label);
    box.appendChild(area);
    box.appendChild(form.notice);
    box.appendChild(button(S.save, function () {
      Live.call(live.socket, "edit", { question_id: q.id, text: area.value, version: form.version }, function (ack) {
        if (ack && ack.ok) {
          questions[q.id] = ack.question;
          closeForm(q.id, card);
          if ("step" in ack) setStep(ack.step);
          done(stepWords("edit", ack.question.text), q.id);
        } else {
          if (ack && ack.question) update(ack.question);
          failed(ack, q.id);
        }
      });
    }));
    box.appendChild(button(S.cancel, function () { closeForm(q.id, card); }, "secondary"));
    area.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closeForm(q.id, card); }
    });
    area.focus();
  }

  /* Another moderator changed the question open in this editor: say who and what; their text
   * or one's own, never silently lost. */
  function editorConflict(q, by) {
    var form = forms[q.id];
    if (!form || form.kind !== "edit" || q.version === form.version) return;
    var base = form.base, what = [];
    if (by === DESK.user || (q.text === form.area.value && q.status === base.status)) {
      form.version = q.version;
      form.base = q;
      return;
    }
    if (q.text !== base.text) what.push(Live.fill(S.theirText, { text: shorten(q.text, 80) }));
    if (q.status !== base.status) what.push(Live.fill(S.theirStatus, { status: statusName(q.status) }));
    form.version = q.version;
    form.base = q;
    if (!what.length) return;
    var who = (lastBy[q.id] && lastBy[q.id].by) || editingBy[q.id] || S.someone;
    var box = form.notice;
    box.hidden = false;
    box.textContent = "";
    box.appendChild(el("p", "", Live.fill(S.theyChanged, { user: who, what: what.join(", ") })));
    if (q.text === form.area.value) return;
    if (q.text !== base.text) {
      var row = el("div", "row");
      row.appendChild(button(S.takeTheirs, function () {
        form.area.value = questions[q.id].text;
        box.hidden = true;
        form.area.focus();
      }, "secondary"));
      row.appendChild(button(S.keepMine, function () {
        box.textContent = "";
        box.appendChild(el("p", "", S.keptMine));
        form.area.focus();
      }, "secondary"));
      box.appendChild(row);
    }
  }

  function startMerge(q, card) {
    // A public question goes only into a public one: else it would vanish from every phone.
    var into = DESK.public.indexOf(q.status) !== -1 ? DESK.public : DESK.open;
    var candidates = Object.values(questions)
      .filter(function (o) { return o.id !== q.id && DESK.open.indexOf(o.status) !== -1 && into.indexOf(o.status) !== -1; })
      .sort(function (a, b) {
        var sa = (q.similar || []).indexOf(a.id), sb = (q.similar || []).indexOf(b.id);
        return (sa === -1 ? 1e9 : sa) - (sb === -1 ? 1e9 : sb) || (b.votes + b.upvotes) - (a.votes + a.upvotes) || b.id - a.id;
      });
    var box = openForm(q, card, "merge").box;
    if (!candidates.length) {
      box.appendChild(el("p", "hint", S.mergeNone));
      var back = button(S.cancel, function () { closeForm(q.id, card); }, "secondary");
      box.appendChild(back);
      back.focus();
      return;
    }
    var id = "merge-" + q.id;
    var label = el("label", "", S.mergeLabel);
    label.htmlFor = id;
    var select = el("select");
    select.id = id;
    candidates.forEach(function (o) {
      var option = el("option", "", "#" + o.id + " " + shorten(o.text, 90));
      option.value = o.id;
      select.appendChild(option);
    });
    box.appendChild(label);
    box.appendChild(select);
    box.appendChild(button(ACTIONS.merge.label, function () {
      ownDone[q.id] = stepWords("merge", q.text);
      Live.call(live.socket, "merge", { question_id: q.id, into_id: Number(select.value), version: q.version }, function (ack) {
        if (!(ack && ack.ok)) { delete ownDone[q.id]; if (ack && ack.question) update(ack.question); failed(ack, q.id); return; }
        var after = neighbour(card);
        delete forms[q.id];
        card.classList.remove("open-form");
        delete card.dataset.actions;
        if (card.contains(document.activeElement)) focusCard(after || card);
        finished(ack, stepWords("merge", q.text), card, q.id);
      });
    }));
    box.appendChild(button(S.cancel, function () { closeForm(q.id, card); }, "secondary"));
    select.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closeForm(q.id, card); }
    });
    select.focus();
  }

  /* "Ablehnen" asks why: one button per reason (keys 1…6; 0 without one), arrows between them,
   * Escape goes back. The asker reads the reason on their own question. */
  function startReject(q, card) {
    var box = openForm(q, card, "reject").box;
    var group = el("div", "reasons");
    group.setAttribute("role", "group");
    group.id = "reasons-" + q.id;
    var legend = el("p", "reasons-label", S.rejectWhy);
    legend.id = group.id + "-label";
    group.setAttribute("aria-labelledby", legend.id + " question-text-" + q.id);
    var choices = DESK.rejectReasons.concat([{ code: null, label: S.rejectNoReason }]);
    var buttons = choices.map(function (reason, i) {
      var key = reason.code === null ? "0" : String(i + 1);
      var b = button("", function () { send(reason.code); }, reason.code === null ? "secondary" : "");
      b.appendChild(el("kbd", "", key));
      b.appendChild(document.createTextNode(" " + reason.label));
      b.setAttribute("aria-keyshortcuts", key);
      b.dataset.key = key;
      return b;
    });
    var cancel = button(S.cancel, function () { closeForm(q.id, card); }, "secondary");
    buttons.forEach(function (b) { group.appendChild(b); });
    group.appendChild(cancel);
    box.appendChild(legend);
    box.appendChild(group);
    group.addEventListener("keydown", function (e) {
      var all = buttons.concat([cancel]), i = all.indexOf(document.activeElement);
      var picked = buttons.filter(function (b) { return b.dataset.key === e.key; })[0];
      var to = e.key === "ArrowRight" || e.key === "ArrowDown" ? all[(i + 1) % all.length]
        : e.key === "ArrowLeft" || e.key === "ArrowUp" ? all[(i - 1 + all.length) % all.length] : null;
      if (e.key === "Escape") { e.preventDefault(); closeForm(q.id, card); }
      else if (picked) { e.preventDefault(); picked.click(); }
      else if (to) { e.preventDefault(); to.focus(); }
    });
    buttons[0].focus();

    function send(reason) {
      delete forms[q.id];
      card.classList.remove("open-form");
      delete card.dataset.actions;
      fill(card, questions[q.id] || q);
      transition(q, card, "reject", reason ? { reason: reason } : {});
    }
  }

  // --- keys -------------------------------------------------------------------------------------
  function typing(node) {
    if (!node || !node.tagName) return false;
    if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") return true;
    return node.tagName === "INPUT" && ["checkbox", "radio", "button", "submit"].indexOf(node.type) === -1;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (document.querySelector("dialog[open]")) return;
    var key = e.key;
    if (key === "?") { e.preventDefault(); openKeys(); return; }
    if (key === "/") { e.preventDefault(); $("search").focus(); return; }
    if (key === "j" || key === "k") { e.preventDefault(); move(key === "j" ? 1 : -1); return; }
    if (key === "u") { e.preventDefault(); undo(false); return; }
    if (key === "n") {
      e.preventDefault();
      if (!arrivalsButton.hidden) arrivalsButton.click();
      else if (!resortButton.hidden) resortButton.click();
      else say(S.noArrivals);
      return;
    }
    var name = BY_KEY[key];
    if (key === "x") name = "pick";
    if (!name) return;
    e.preventDefault();
    if (name === "approve" && pickedIds().length) { approvePicked(); return; }
    var card = currentCard();
    if (!card) { toast(S.pickFirst, true); return; }
    if (name === "pick") {
      var q = questions[card.dataset.id];
      if (q && ACTIONS.approve.statuses.indexOf(q.status) !== -1) setPicked(q.id, !picked[q.id]);
      else toast(Live.fill(S.notHere, { action: ACTIONS.approve.label }), true, q && q.id);
      return;
    }
    run(name, card);
  });

  function openKeys() {
    var dialog = $("keys"), back = document.activeElement;
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (back && back.isConnected && back !== document.body) back.focus(); else focusHome();
    });
    dialog.showModal();
  }
  $("keys-open").addEventListener("click", openKeys);
  undoButton.addEventListener("click", function () { undo(false); });

  // --- order and finding ------------------------------------------------------------------------
  var sortControl = $("sort"), searchBox = $("search"), flaggedBox = $("only-flagged"), similarBox = $("only-similar");
  sortControl.value = view.sort;
  if (sortControl.value !== view.sort) sortControl.value = view.sort = "popular";
  sortControl.addEventListener("change", function () {
    view.sort = sortControl.value;
    try { localStorage.setItem(SORT_KEY, view.sort); } catch (e) { /* private mode: not kept */ }
    layout(true);
  });
  searchBox.addEventListener("input", function () { view.search = searchBox.value.trim(); layout(true); });
  searchBox.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && searchBox.value) { e.preventDefault(); searchBox.value = ""; view.search = ""; layout(true); }
    if (e.key === "Enter") { e.preventDefault(); move(1); }
  });
  flaggedBox.addEventListener("change", function () { view.flagged = flaggedBox.checked; layout(true); });
  var shortlistBox = $("only-shortlisted");
  shortlistBox.addEventListener("change", function () { view.shortlisted = shortlistBox.checked; layout(true); });
  similarBox.addEventListener("change", function () { view.similar = similarBox.checked; layout(true); });
  function clearFilters() {
    searchBox.value = view.search = "";
    flaggedBox.checked = view.flagged = false;
    similarBox.checked = view.similar = false;
    shortlistBox.checked = view.shortlisted = false;
  }

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  function selectTab(tab) {
    view.tab = tab.dataset.status;
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    layout();
    // A tab starts at its first card: never with the head of the list under the sticky bar.
    var sticky = deskBar && getComputedStyle(deskBar).position === "sticky" ? deskBar.offsetHeight : 0;
    var top = queueArea.getBoundingClientRect().top - sticky;
    if (top < 0) window.scrollBy(0, top - 8);
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab); });
    tab.addEventListener("keydown", function (e) {
      var to = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
      if (to) { e.preventDefault(); selectTab(to); to.focus(); }
    });
  });

  // --- the round --------------------------------------------------------------------------------
  function renderTalk() {
    if (!talk) return;
    $("premoderation-off").hidden = talk.premoderation !== false;
    $("votes-off").hidden = talk.audience_votes !== false;
    var roundState = $("round-state");
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
      if (ack && ack.ok) { talk = ack.talk; renderTalk(); done($("round-state").textContent); } else failed(ack);
    });
  }
  $("round-open").addEventListener("click", function () { setRound("open"); });
  // Closing ends the form on every phone at once: asked first, in words that say so.
  $("round-close").addEventListener("click", function () {
    var dialog = $("close-confirm"), back = document.activeElement;
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (back && back.isConnected) back.focus();
      if (dialog.returnValue === "yes") setRound("closed");
    });
    dialog.showModal();
  });
  $("round-extend").addEventListener("click", function () {
    var base = talk && talk.closes_at ? new Date(talk.closes_at) : new Date();
    if (base < new Date()) base = new Date();
    setRound("open", new Date(base.getTime() + 15 * 60 * 1000).toISOString());
  });

  // --- the live connection ----------------------------------------------------------------------
  /* A question as the server has it now: into the store, into its card where it may change. */
  function update(q, by) {
    questions[q.id] = q;
    var card = cards[q.id];
    if (card) fill(card, q);
    editorConflict(q, by);
    layout();
  }

  live = Live.connect({
    namespace: "/moderator",
    auth: function () { return { talk: S.talk }; },
    onConnect: refreshStep,
    onRefused: function () { toast(C.loggedOut, true, null, true); },
    onEnded: function (text) { toast(text, true, null, true); },
    on: {
      snapshot: function (data) {
        talk = data.talk;
        questions = Live.byId(data.questions);
        hooks.snapshot.forEach(function (fn) { fn(data); });
        Object.values(questions).forEach(editorConflict);
        layout(firstSnapshot);
        if (!firstSnapshot) refreshStep();  // a resync: the step to undo may be gone (a Probelauf ended)
        firstSnapshot = false;
        Object.keys(cards).forEach(function (id) { if (questions[id]) fill(cards[id], questions[id]); });
        renderTalk();
      },
      question: function (q, data) {
        var isNew = !questions[q.id];
        if (data && data.by && data.by !== DESK.user) lastBy[q.id] = { by: data.by, action: data.action };
        if (isNew && q.status === "pending") arrived(q.id);
        update(q, data && data.by);
      },
      votes: function (all) {
        Object.keys(all).forEach(function (id) {
          var q = questions[id];
          if (!q) return;
          q.upvotes = all[id].upvotes;
          q.votes = all[id].votes;
          if (cards[id]) fill(cards[id], q);
        });
        layout();
      },
      talk: function (t) { talk = t; renderTalk(); },
      podium_link: function (data) {  // renewed on the talk page: the old link shows nothing any more
        var link = $("podium-link");
        if (link && data && data.url) link.href = data.url;
        toast(S.newPodiumLink, false);
      },
      backstage: function (line) { hooks.backstage.forEach(function (fn) { fn(line); }); },
      editing: function (data) {
        if (data.user) editingBy[data.question_id] = data.user; else delete editingBy[data.question_id];
        var card = cards[data.question_id];
        if (card && questions[data.question_id]) fill(card, questions[data.question_id]);
      }
    }
  });

  /* For scripts loaded after this one (static/js/curation.js): onCard(fn(card, question)) after
   * every card is filled, onSnapshot(fn(data)) before a snapshot is rendered, onBackstage(fn(line))
   * for each new line to the podium (in order, like questions), filter(fn(question))
   * to show only the questions it accepts (like the search), relayout() after such a filter changed,
 * layout() after the questions a filter accepts changed by themselves (held cards stay put),
   * on(event, fn) for
   * other server events, call(event, payload, done) with an acknowledgement (its `step` names the
   * undo button), update(question)
   * to show a question from an acknowledgement, question(id), refresh() to re-fill every card,
   * say(text, isError): a note in the status line, or an error toast. */
  window.Queue = {
    onCard: function (fn) { hooks.card.push(fn); },
    onSnapshot: function (fn) { hooks.snapshot.push(fn); },
    onBackstage: function (fn) { hooks.backstage.push(fn); },
    filter: function (fn) { hooks.filter.push(fn); },
    relayout: function () { layout(true); },
    layout: function () { layout(); },
    on: function (event, fn) { live.socket.on(event, fn); },
    call: function (event, payload, done) {
      Live.call(live.socket, event, payload, function (ack) {
        if (ack && "step" in ack) setStep(ack.step);  // the undo button names what undo now takes back
        done(ack);
      });
    },
    update: function (q) { update(q); },
    question: function (id) { return questions[id]; },
    refresh: function () {
      Object.values(questions).forEach(function (q) { if (cards[q.id]) fill(cards[q.id], q); });
      counts();
    },
    say: function (text, isError) { if (isError) toast(text, true); else say(text); }
  };
})();
