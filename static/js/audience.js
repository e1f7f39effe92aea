/* The audience page: send questions through an outbox that survives reloads and outages,
 * show the person's own questions honestly, and the approved questions live. */
(function () {
  "use strict";
  var S = Live.strings, C = Live.common, el = Live.el;
  var slug = S.talk;
  var form = document.getElementById("ask");
  var textArea = document.getElementById("text");
  var nameInput = document.getElementById("name");
  var recordBox = document.getElementById("name-in-record");
  var sendButton = document.getElementById("send");
  var fields = document.getElementById("ask-fields");
  var sendStatus = document.getElementById("send-status");
  var upcoming = document.getElementById("upcoming");
  var formError = document.getElementById("form-error");
  var counter = document.getElementById("text-count");
  var mineList = document.getElementById("mine");
  var mineSection = document.getElementById("mine-section");
  var publicList = document.getElementById("public");
  var publicEmpty = document.getElementById("public-empty");
  var roundState = document.getElementById("round-state");

  var storage = {
    get: function (key, fallback) {
      try { var v = localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); }
      catch (e) { return fallback; }
    },
    set: function (key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  };
  var outboxKey = "fragerunde:outbox:" + slug;
  var clientId = S.clientId;                 // signed by the server (also kept as its cookie)

  var outbox = storage.get(outboxKey, []);   // [{client_msg_id, text, name, name_in_record, failed}]
  var inFlight = {};
  var questions = {};                          // id -> question this page may see
  var talk = null;
  var live;

  function saveOutbox() { storage.set(outboxKey, outbox); }

  /* A written answer from the moderators: the author sees it at once, everybody once published. */
  function appendAnswer(li, q) {
    var shown = li.querySelector(".answer");
    if (shown) shown.remove();
    if (!q.answer) return;
    var box = el("div", "answer");
    box.appendChild(el("p", "answer-label", S.answer));
    box.appendChild(el("p", "answer-text", q.answer));
    li.insertBefore(box, li.querySelector(".report"));
  }

  /* One's own question: why it was not accepted, where it was merged to (the other question's
   * text only when this page may see it). */
  function statusText(q) {
    if (q.status === "pending") return S.sent;
    if (q.status === "rejected") return S.rejected[q.reason || ""] || S.rejected[""];
    if (q.status === "merged") {
      var into = questions[q.merged_into];
      if (!into || PUBLIC.indexOf(into.status) === -1) return S.mergedHidden;
      var text = into.text.length > 120 ? into.text.slice(0, 119).trim() + "…" : into.text;
      return Live.fill(S.mergedWith, { text: text });
    }
    return C.status[q.status] || q.status;
  }

  /* "Von Ihnen gesendet": items updated in place, so a change elsewhere touches none of them; a
   * change of one's own question's status is said once, in the status line by the send button. */
  var mineItems = {};                          // key -> its list item
  var ownStatus = {};                          // id -> the status last shown (said when it changes)
  function mineItem(key, className, text, status) {
    var li = mineItems[key];
    if (!li) {
      li = mineItems[key] = el("li");
      li.appendChild(el("p", "text"));
      li.appendChild(el("p", "status"));
    }
    if (li.className !== className) li.className = className;
    var t = li.querySelector(".text"), st = li.querySelector(".status");
    if (t.textContent !== text) t.textContent = text;
    if (st.textContent !== status) st.textContent = status;
    return li;
  }

  function renderMine() {
    var wanted = [];
    outbox.forEach(function (item) {
      var li = mineItem("o:" + item.client_msg_id, "outgoing", item.text, item.failed ? S.retrying : S.sending);
      li.querySelector(".status").classList.toggle("warn", !!item.failed);
      wanted.push(li);
    });
    Object.values(questions)
      .filter(function (q) { return q.mine; })
      .sort(function (a, b) { return b.id - a.id; })
      .forEach(function (q) {
        var words = statusText(q);
        var li = mineItem("q:" + q.id, "status-" + q.status, q.text, words);
        if (li.dataset.answer !== (q.answer || "")) { li.dataset.answer = q.answer || ""; appendAnswer(li, q); }
        if (ownStatus[q.id] !== undefined && ownStatus[q.id] !== words) {
          var text = q.text.length > 60 ? q.text.slice(0, 59).trim() + "…" : q.text;
          sendStatus.textContent = Live.fill(S.ownNow, { text: text, status: words });
        }
        ownStatus[q.id] = words;
        wanted.push(li);
      });
    var keep = new Set(wanted);
    Object.keys(mineItems).forEach(function (key) {
      if (!keep.has(mineItems[key])) { mineItems[key].remove(); delete mineItems[key]; }
    });
    wanted.forEach(function (li, i) {
      if (mineList.children[i] !== li) mineList.insertBefore(li, mineList.children[i] || null);
    });
    if (!mineList.dataset.live) {  // the list the server drew goes once the script draws its own
      mineList.dataset.live = "1";
      Array.prototype.slice.call(mineList.children).forEach(function (li) { if (!keep.has(li)) li.remove(); });
    }
    mineSection.hidden = !mineList.children.length;
  }

  var PUBLIC = ["approved", "forwarded", "answered"];
  var items = {};                              // id -> its list item, updated in place

  /* Public questions in a fixed order (oldest first): votes and status changes update an item
   * where it is, new ones are added at the end, so nothing moves under a reader's finger. */
  function renderPublic() {
    if (!publicList.dataset.live) { publicList.textContent = ""; publicList.dataset.live = "1"; }
    var shown = Object.values(questions)
      .filter(function (q) { return PUBLIC.indexOf(q.status) !== -1; })
      .sort(function (a, b) { return a.id - b.id; });
    var keep = {};
    shown.forEach(function (q) {
      keep[q.id] = true;
      var li = items[q.id] || (items[q.id] = publicItem());
      fillPublic(li, q);
      if (li.parentNode !== publicList) publicList.appendChild(li);
    });
    Object.keys(items).forEach(function (id) {
      if (!keep[id]) { items[id].remove(); delete items[id]; }
    });
    publicEmpty.hidden = shown.length > 0;
  }

  function publicItem() {
    var li = el("li");
    li.appendChild(el("p", "text"));
    li.appendChild(el("p", "meta"));
    li.appendChild(el("p", "status"));
    var button = el("button", "vote");
    button.type = "button";
    button.addEventListener("click", function () { vote(questions[li.dataset.id]); });
    li.appendChild(button);
    li.appendChild(reportBox(li));
    return li;
  }

  /* "Melden": a small choice of reasons under each public question; once sent, a thank-you. */
  function reportBox(li) {
    var box = el("div", "report");
    var open = el("button", "report-open secondary", S.report);
    open.type = "button";
    open.setAttribute("aria-expanded", "false");
    var choice = el("fieldset", "report-choice");
    choice.hidden = true;
    choice.appendChild(el("legend", "", S.reportLegend));
    var row = el("div", "row");
    Object.keys(S.reasons).forEach(function (code) {
      var b = el("button", "secondary", S.reasons[code]);
      b.type = "button";
      b.dataset.reason = code;
      b.addEventListener("click", function () { report(li, code); });
      row.appendChild(b);
    });
    var cancel = el("button", "link", S.reportCancel);
    cancel.type = "button";
    row.appendChild(cancel);
    choice.appendChild(row);
    var thanks = el("p", "report-done");
    thanks.tabIndex = -1;
    thanks.hidden = true;
    function close() { choice.hidden = true; open.setAttribute("aria-expanded", "false"); open.focus(); }
    open.addEventListener("click", function () {
      var opening = choice.hidden;
      choice.hidden = !opening;
      open.setAttribute("aria-expanded", String(opening));
      if (opening) row.querySelector("button").focus();
    });
    cancel.addEventListener("click", close);
    choice.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); close(); } });
    box.appendChild(open);
    box.appendChild(choice);
    box.appendChild(thanks);
    return box;
  }

  function fillReport(li, q) {
    var box = li.querySelector(".report"), open = box.querySelector(".report-open");
    var choice = box.querySelector(".report-choice"), thanks = box.querySelector(".report-done");
    var id = "public-text-" + q.id;
    li.querySelector(".text").id = id;
    open.setAttribute("aria-describedby", id);
    choice.id = "report-" + q.id;
    open.setAttribute("aria-controls", choice.id);
    open.hidden = !!q.reported;
    if (q.reported) choice.hidden = true;
    thanks.hidden = !q.reported;
    thanks.textContent = q.reported ? S.reported : "";
  }

  function report(li, reason) {
    var q = questions[li.dataset.id];
    if (!q || !live) return;
    Live.call(live.socket, "report", { question_id: q.id, reason: reason }, function (ack) {
      if (ack && ack.ok) {
        q.reported = true;
        fillReport(li, q);
        li.querySelector(".report-done").focus();
      } else if (ack && ack.message) {
        showError(ack.message);
      }
    });
  }

  function fillPublic(li, q) {
    li.dataset.id = q.id;
    li.className = "status-" + q.status;
    li.querySelector(".text").textContent = q.text;
    fillReport(li, q);
    var meta = li.querySelector(".meta");
    meta.textContent = q.name || "";
    meta.hidden = !q.name;
    var canVote = !!(talk && talk.audience_votes && q.status === "approved");
    li.querySelector(".status").textContent = C.status[q.status] +
      (!canVote && q.votes ? " · " + Live.count("audienceVotes", q.votes) : "");
    var button = li.querySelector(".vote");
    button.hidden = !canVote;
    button.textContent = (q.voted ? S.voted : S.vote) + " (" + q.votes + ")";
    button.setAttribute("aria-pressed", q.voted ? "true" : "false");
    appendAnswer(li, q);
  }

  function phase() {
    var now = Date.now();
    if (talk.open) return "open";
    if (now < new Date(talk.starts_at).getTime()) return "before";
    return now >= new Date(talk.ends_at).getTime() ? "after" : "closed";
  }

  function renderTalk() {
    if (!talk) return;
    var p = phase();
    roundState.className = "round-state " + p;
    roundState.textContent = p === "open"
      ? (talk.closes_at ? Live.fill(S.openUntil, { time: Live.berlinTime(talk.closes_at) }) : S.open)
      : p === "before" ? S.opensAt : p === "after" ? S.ended : S.closed;
    if (upcoming) upcoming.hidden = p !== "after";
    fields.disabled = sendButton.disabled = !(talk.open || talk.accepting);
    Live.watchWindow(live, talk);
  }

  function render() { renderMine(); renderPublic(); }

  function showError(text) {
    formError.textContent = text || "";
    formError.hidden = !text;
  }

  function flush() {
    if (!live || !live.socket.connected) return;
    outbox.forEach(function (item) {
      if (inFlight[item.client_msg_id]) return;
      inFlight[item.client_msg_id] = true;
      Live.call(live.socket, "submit", { text: item.text, name: item.name || null,
        name_in_record: !!item.name_in_record, client_msg_id: item.client_msg_id },
        function (ack) {
          delete inFlight[item.client_msg_id];
          if (ack && ack.ok) {
            outbox = outbox.filter(function (o) { return o.client_msg_id !== item.client_msg_id; });
            var q = ack.question;
            q.mine = true;
            sendStatus.textContent = S.sent;
            questions[q.id] = Object.assign(questions[q.id] || {}, q);
          } else if (ack && ["timeout", "offline", "rate_limited", "internal"].indexOf(ack.error) !== -1) {
            item.failed = true;  // kept in the outbox and sent again (same client_msg_id)
            if (ack.message && ack.error !== "timeout" && ack.error !== "offline") showError(ack.message);
            setTimeout(flush, ack.error === "rate_limited" ? 15000 : 3000);
          } else {
            outbox = outbox.filter(function (o) { return o.client_msg_id !== item.client_msg_id; });
            showError(S.refused + " " + ((ack && ack.message) || "") + " »" + item.text + "«");
            if (!textArea.value) textArea.value = item.text;
          }
          saveOutbox();
          render();
        }, 10000);
    });
  }

  function vote(q) {
    var value = q.voted ? 0 : 1;
    Live.call(live.socket, "vote", { question_id: q.id, value: value }, function (ack) {
      if (ack && ack.ok) {
        q.voted = value === 1;
        q.votes = Math.max(0, q.votes + (value ? 1 : -1));
        renderPublic();
      } else if (ack && ack.message) {
        showError(ack.message);
      }
    });
  }

  function updateCounter() {
    counter.textContent = Live.fill(S.count, { n: textArea.value.length });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textArea.value.trim();
    if (!text) { showError(S.emptyText); textArea.focus(); return; }
    showError("");
    outbox.push({ client_msg_id: Live.uuid(), text: text, name: nameInput.value.trim(),
      name_in_record: !!(recordBox && recordBox.checked), failed: !live.socket.connected });
    sendStatus.textContent = live.socket.connected ? S.sending : S.retrying;
    saveOutbox();
    textArea.value = "";
    updateCounter();
    renderMine();
    flush();
  });
  textArea.addEventListener("input", updateCounter);

  live = Live.connect({
    namespace: "/audience",
    auth: function () { return { talk: slug, client_id: clientId }; },
    onConnect: flush,
    onRefused: function (reason) {
      // "forbidden": the id from this page is no longer valid (e.g. a new server key): a reload
      // brings a new one, at most once a minute. Otherwise (rate_limited) try again later.
      var last = Number(sessionStorage.getItem("fragerunde:reloaded") || 0);
      if (reason === "forbidden" && Date.now() - last > 60000) {
        sessionStorage.setItem("fragerunde:reloaded", String(Date.now()));
        window.location.reload();
      } else {
        setTimeout(function () { live.socket.connect(); }, 15000);
      }
    },
    on: {
      snapshot: function (data) {
        talk = data.talk;
        questions = Live.byId(data.questions);
        renderTalk();
        render();
        flush();
      },
      question: function (q) {
        var known = questions[q.id];
        q.mine = q.mine || (known && known.mine);
        q.voted = known && known.voted;
        q.reported = known && known.reported;
        questions[q.id] = q;
        render();
      },
      votes: function (counts) {
        Object.keys(counts).forEach(function (id) {
          if (questions[id]) questions[id].votes = counts[id].votes;
        });
        renderPublic();
      },
      talk: function (t) { talk = t; renderTalk(); renderPublic(); }
    }
  });
  window.addEventListener("online", flush);
  if (outbox.length) renderMine();
})();
