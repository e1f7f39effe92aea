/* Curation on the live queue: labels and the filter by label, private notes, written answers,
 * blocking one person, and the line to the podium. Loaded after moderator.js; it only uses the
 * extension point `window.Queue` (onCard, onSnapshot, on, call, update, question, refresh, say). */
(function () {
  "use strict";
  var S = Live.readJSON("curation-strings"), el = Live.el;
  var DESK = Live.readJSON("desk");  // statuses and limits, from the server
  var talkLabels = [];
  var filter = "";

  function acknowledge(ack) {
    if (ack && ack.ok) {
      if (ack.question) Queue.update(ack.question);
      Queue.say(S.done);
    } else {
      if (ack && ack.question) Queue.update(ack.question);
      Queue.say((ack && ack.message) || (ack && ack.error), true);
    }
    return ack && ack.ok;
  }

  function labelled(control, id, text) {
    var label = el("label", "", text);
    label.htmlFor = id;
    control.id = id;
    return label;
  }

  function area(rows, maxLength, className) {
    var node = el("textarea", className);
    node.rows = rows;
    node.maxLength = maxLength;
    return node;
  }

  function submitButton(text) {
    var b = el("button", "", text);
    b.type = "submit";
    return b;
  }

  /* --- the filter by label, beside the search ------------------------------------------------ */
  var finder = document.querySelector('.finder[role="search"]');
  var filterBox = el("div", "label-filter");
  var filterSelect = el("select");
  filterBox.appendChild(labelled(filterSelect, "label-filter", S.filter));
  filterBox.appendChild(filterSelect);
  finder.appendChild(filterBox);  // beside "Suche": nothing above the queue moves when it changes
  var datalist = el("datalist");
  datalist.id = "talk-labels";
  document.body.appendChild(datalist);

  function known(names) {
    names.forEach(function (name) { if (talkLabels.indexOf(name) === -1) talkLabels.push(name); });
    talkLabels.sort(function (a, b) { return a.localeCompare(b); });
  }

  function renderLabels() {
    filterSelect.textContent = "";
    filterSelect.appendChild(el("option", "", S.allLabels)).value = "";
    datalist.textContent = "";
    talkLabels.forEach(function (name) {
      filterSelect.appendChild(el("option", "", name)).value = name;
      datalist.appendChild(el("option")).value = name;
    });
    filterSelect.value = talkLabels.indexOf(filter) === -1 ? "" : filter;
    filter = filterSelect.value;
  }

  filterSelect.addEventListener("change", function () { filter = filterSelect.value; Queue.relayout(); });
  Queue.filter(function (q) { return !filter || (q.labels || []).indexOf(filter) !== -1; });

  /* --- the line to the podium: a disclosure in the toolbar whose panel lies over the page ---- */
  // Open or closed, the head keeps its height: nothing below it moves for anyone.
  var backstage = el("details", "backstage-control");
  var summary = backstage.appendChild(el("summary"));
  summary.appendChild(el("span", "", S.backstageHeading));
  var mark = summary.appendChild(el("span", "on"));  // same width shown or not: the toolbar never reflows
  mark.appendChild(el("span", "dot", "●")).setAttribute("aria-hidden", "true");
  mark.appendChild(el("span", "visually-hidden", " (" + S.backstageOn + ")"));
  var panel = backstage.appendChild(el("div", "panel"));
  var backstageForm = panel.appendChild(el("form", "row"));
  var lineInput = el("input");
  lineInput.type = "text";
  lineInput.maxLength = DESK.limits.backstage;
  backstageForm.appendChild(labelled(lineInput, "backstage-text", S.backstageLabel));
  backstageForm.appendChild(lineInput);
  backstageForm.appendChild(submitButton(S.backstageSend));
  var clearButton = backstageForm.appendChild(el("button", "secondary", S.backstageClear));
  clearButton.type = "button";
  var showing = panel.appendChild(el("p", "showing", S.backstageNone));
  showing.setAttribute("role", "status");
  document.querySelector(".mod-head .toolbar").appendChild(backstage);
  backstage.addEventListener("toggle", function () { if (backstage.open) lineInput.focus(); });
  document.addEventListener("click", function (e) {
    if (backstage.open && !backstage.contains(e.target)) backstage.open = false;
  });
  backstage.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && backstage.open) { e.stopPropagation(); backstage.open = false; summary.focus(); }
  });

  function showBackstage(line) {
    var text = line && line.text;
    showing.textContent = text ? Live.fill(S.backstageShowing, { text: text }) + (line.by ? " (" + line.by + ")" : "") : S.backstageNone;
    mark.style.visibility = text ? "visible" : "hidden";
  }

  function sendLine(text) {
    Queue.call("backstage", { text: text }, function (ack) {
      if (acknowledge(ack)) { showBackstage(ack.backstage); lineInput.value = ""; }
    });
  }

  backstageForm.addEventListener("submit", function (e) { e.preventDefault(); sendLine(lineInput.value); });
  clearButton.addEventListener("click", function () { sendLine(""); });

  /* --- per card: what is set (labels, note, answer, "gesperrt") and a panel to change it ----- */
  function tools(card) {
    var details = el("details", "curation");
    details.appendChild(el("summary", "", S.tools));
    var box = details.appendChild(el("div", "curation-form"));
    function id(name) { return name + "-" + card.dataset.id; }
    function current() { return Queue.question(Number(card.dataset.id)); }

    var labelsForm = box.appendChild(el("form", "row"));
    var labelsInput = el("input");
    labelsInput.type = "text";
    labelsInput.setAttribute("list", "talk-labels");
    labelsInput.className = "labels-input";
    labelsForm.appendChild(labelled(labelsInput, id("labels"), S.labels));
    labelsForm.appendChild(labelsInput);
    labelsForm.appendChild(submitButton(S.saveLabels));
    labelsForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var names = labelsInput.value.split(",").map(function (n) { return n.trim(); }).filter(Boolean);
      Queue.call("labels", { question_id: current().id, labels: names }, function (ack) {
        if (acknowledge(ack)) { known(ack.question.labels); renderLabels(); }
      });
    });

    var noteForm = box.appendChild(el("form", "stack"));
    var noteArea = area(2, DESK.limits.note, "note-input");
    noteForm.appendChild(labelled(noteArea, id("note"), S.note));
    noteForm.appendChild(noteArea);
    noteForm.appendChild(submitButton(S.saveNote));
    noteForm.addEventListener("submit", function (e) {
      e.preventDefault();
      Queue.call("note", { question_id: current().id, text: noteArea.value }, acknowledge);
    });

    var answerForm = box.appendChild(el("form", "stack answer-form"));
    var answerArea = area(3, DESK.limits.answer, "answer-input");
    answerForm.appendChild(labelled(answerArea, id("answer"), S.answer));
    answerForm.appendChild(answerArea);
    var publishRow = answerForm.appendChild(el("div", "row"));
    var publish = el("input");
    publish.type = "checkbox";
    publish.className = "publish-input";
    publishRow.appendChild(publish);
    publishRow.appendChild(labelled(publish, id("publish"), S.publish));
    answerForm.appendChild(submitButton(S.saveAnswer));
    answerForm.addEventListener("submit", function (e) {
      e.preventDefault();
      Queue.call("answer", { question_id: current().id, text: answerArea.value, publish: publish.checked }, acknowledge);
    });
    box.appendChild(el("p", "hint answer-later", S.answerOnlyLater));

    var blockButton = box.appendChild(el("button", "secondary block-button"));
    blockButton.type = "button";
    blockButton.addEventListener("click", function () {
      var q = current();
      Queue.call(q.blocked ? "unblock" : "block", { question_id: q.id }, acknowledge);
    });
    return details;
  }

  /* Inputs take the stored values, except while someone is typing in this panel. */
  function sync(details, q) {
    var block = details.querySelector(".block-button");
    block.textContent = q.blocked ? S.unblock : S.block;
    var answerable = DESK.answerable.indexOf(q.status) !== -1;
    details.querySelector(".answer-form").hidden = !answerable;
    details.querySelector(".answer-later").hidden = answerable;
    if (details.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return;
    details.querySelector(".labels-input").value = (q.labels || []).join(", ");
    details.querySelector(".note-input").value = q.note || "";
    details.querySelector(".answer-input").value = q.answer || "";
    details.querySelector(".publish-input").checked = !!q.answer_published;
  }

  function decorate(card, q) {
    if (card.classList.contains("gone")) return;  // a note where a card was keeps its exact height
    var info = card.querySelector(".curation-info");
    if (!info) {
      info = el("div", "curation-info");
      card.insertBefore(info, card.querySelector(".actions"));
    }
    info.textContent = "";
    if (q.blocked) info.appendChild(el("p", "badge blocked", S.blocked));
    if (q.labels && q.labels.length) {
      var list = info.appendChild(el("ul", "labels"));
      list.setAttribute("aria-label", S.labelList);
      q.labels.forEach(function (name) { list.appendChild(el("li", "", name)); });
    }
    if (q.note) info.appendChild(el("p", "note", S.notePrefix + " " + q.note));
    if (q.answer) {
      var answer = info.appendChild(el("div", "answer"));
      answer.appendChild(el("p", "answer-label", q.answer_published ? S.answerPublished : S.answerPrivate));
      answer.appendChild(el("p", "answer-text", q.answer));
    }
    var details = card.querySelector("details.curation") || card.appendChild(tools(card));
    sync(details, q);
  }

  Queue.onSnapshot(function (data) {
    talkLabels = [];
    known(data.labels || []);
    renderLabels();
    showBackstage(data.backstage);
  });
  Queue.onCard(decorate);
  Queue.on("backstage", showBackstage);
  Queue.on("question", function (data) {
    if (data && data.question && data.question.labels && data.question.labels.some(function (n) { return talkLabels.indexOf(n) === -1; })) {
      known(data.question.labels);
      renderLabels();
    }
  });
})();
