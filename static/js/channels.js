/* Channels on the live queue: each card says where its question came from ("E-Mail", "YouTube",
 * an import's Quelle; nothing for the question page, unless beside another channel: a merged card
 * names every channel it gathers; "vorab" when it came before the talk began), and a filter "Kanal" beside the search. Loaded after moderator.js; it only uses
 * the extension point `window.Queue` (onCard, onSnapshot, filter, relayout). */
(function () {
  "use strict";
  var S = Live.readJSON("channel-strings"), el = Live.el;
  var talk = null, filter = "", known = {};

  function source(q) { return q.source || "web"; }
  function key(q) { return source(q) === "import" && q.source_label ? "import:" + q.source_label : source(q); }
  function word(q) {
    var s = source(q);
    if (s.indexOf("api:") === 0) return s.slice(4);
    if (s === "import" && q.source_label) return q.source_label;
    return S.words[s] || s;
  }
  function kind(q) { return source(q).indexOf("api:") === 0 ? "api" : source(q); }

  /* --- the filter "Kanal", beside the search: adding an option moves nothing on the page ----- */
  var finder = document.querySelector('.finder[role="search"]');
  var box = el("div", "channel-filter");
  var select = el("select");
  select.id = "channel-filter";
  var label = el("label", "", S.filter);
  label.htmlFor = select.id;
  box.appendChild(label);
  box.appendChild(select);
  finder.appendChild(box);

  function render() {
    select.textContent = "";
    select.appendChild(el("option", "", S.all)).value = "";
    Object.keys(known).sort(function (a, b) { return known[a].localeCompare(known[b]); }).forEach(function (k) {
      select.appendChild(el("option", "", known[k])).value = k;
    });
    select.value = known[filter] ? filter : "";
    filter = select.value;
  }
  function learn(q) {
    var k = key(q);
    if (known[k]) return false;
    known[k] = word(q);
    return true;
  }
  select.addEventListener("change", function () { filter = select.value; Queue.relayout(); });
  Queue.filter(function (q) {
    return !filter || key(q) === filter || (q.merged || []).some(function (m) { return key(m) === filter; });
  });

  /* --- the badge on each card: its own channel first, then those of the questions merged into it */
  Queue.onSnapshot(function (data) {
    talk = data.talk;
    known = {};
    (data.questions || []).forEach(learn);
    render();
  });
  Queue.onCard(function (card, q) {
    if (learn(q)) render();
    var name = card.querySelector(".meta .name");
    var badge = card.querySelector(".meta .source:not(.early)");
    if (!badge) {
      badge = el("span", "badge source");
      name.parentNode.insertBefore(badge, name.nextSibling);
    }
    var words = [word(q)];
    (q.merged || []).forEach(function (m) { if (words.indexOf(word(m)) === -1) words.push(word(m)); });
    // The question page is where most questions come from: a card says so only beside other channels.
    badge.hidden = words.length === 1 && source(q) === "web";
    badge.className = "badge source " + kind(q);
    badge.textContent = words.join(" + ");
    badge.title = Live.fill(S.channel, { words: words.join(", ") });
    var early = card.querySelector(".meta .source.early");
    var before = !!(talk && q.created_at && talk.starts_at && q.created_at < talk.starts_at);
    if (before && !early) {
      early = el("span", "badge source early", S.early);
      badge.parentNode.insertBefore(early, badge.nextSibling);
    } else if (!before && early) {
      early.remove();
    }
  });
})();
