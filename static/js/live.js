/* Shared by every live page: the connection, its state banner, and gap-free updates.
 *
 * Every change this page's view is told of carries that view's next `seq` (docs/protocol.md).
 * A page applies a change whose seq is the one it expects, or the one it holds (a merge's second
 * question; an author's own question, sent under the current number). A change numbered past the
 * next one waits up to REORDER_MS for the numbers before it: two writes committed one after the
 * other (in two processes, or two tasks of one) can reach the page in the other order, a few ms
 * apart. A gap still open then, a number below the one it holds, or a reconnect: it asks for a
 * `resync` (again after 5, 10, … 60 s while the server refuses it as too frequent) and replaces
 * its state with the snapshot. Changes that arrive while it waits for the snapshot are kept and
 * those newer than the snapshot applied after it.
 */
(function () {
  "use strict";

  var REORDER_MS = 500;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  var common = readJSON("common-strings");

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  var lang = document.documentElement.lang || "de";

  /* Like the server's Flask-Babel "short" time: "18:30" in German, "6:30 PM" in English. */
  var h24 = /^h2[34]$/.test(new Intl.DateTimeFormat(lang, { hour: "numeric" }).resolvedOptions().hourCycle || "");
  function berlinTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString(lang, { hour: h24 ? "2-digit" : "numeric", minute: "2-digit", timeZone: "Europe/Berlin" });
  }

  /* A count in words: `name` is a key of common.counts ({one, other}, from ngettext). */
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  function count(name, n) {
    var forms = (common.counts || {})[name] || {};
    var form = pluralRules ? pluralRules.select(n) : (n === 1 ? "one" : "other");
    return fill(forms[form] || forms.other || "{n}", { n: n });
  }

  function Banner() {
    this.node = document.getElementById("connection");
    this.timer = null;
  }
  Banner.prototype.show = function (text, kind) {
    if (!this.node) return;
    clearTimeout(this.timer);
    this.node.textContent = text;
    this.node.className = "connection " + kind;
    this.node.hidden = false;
  };
  Banner.prototype.flash = function (text) {
    var self = this;
    this.show(text, "ok");
    this.timer = setTimeout(function () { self.node.hidden = true; }, 2500);
  };

  /* "Probelauf" on every screen while the talk is rehearsed (templates/_macros.html). */
  function markRehearsal(talk) {
    var banner = document.getElementById("rehearsal");
    if (!banner || !talk) return;
    var text = talk.rehearsal ? banner.dataset.text : "";
    if (banner.textContent !== text) banner.textContent = text;
    document.body.classList.toggle("in-rehearsal", !!talk.rehearsal);
  }

  /* options: namespace, auth (function returning the auth dict), on: {snapshot, question,
   * votes, talk, editing, ...}, onConnect, onRefused, onEnded(text, why): the server ended this
   * page's access (`session_ended {why}`); the page stays disconnected and says why (in the
   * connection banner, unless onEnded returns true: it said so itself). */
  function connect(options) {
    var banner = new Banner();
    var seq = null;
    var early = [];  /* [event, data] received while waiting for a snapshot */
    var ahead = [];  /* [event, data] numbered past a missing one, waiting for it */
    var aheadTimer = null;
    var askAgain = null;  /* a refused resync (rate_limited) is asked again: a screen never stays frozen */
    var everConnected = false;
    var ended = null, endedShown = false;  /* why the server ended this page's access, in words */
    var handlers = options.on || {};
    var socket = io(options.namespace, {
      auth: function (cb) { cb(options.auth()); },
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      timeout: 8000
    });

    function forget() {
      seq = null;
      early = [];
      ahead = [];
      clearTimeout(aheadTimer);
      aheadTimer = null;
      clearTimeout(askAgain);
      askAgain = null;
    }

    function resync() {
      forget();
      askSnapshot(1);
    }

    function askSnapshot(attempt) {
      socket.emit("resync", {}, function (ack) {
        if (!ack || ack.ok !== false || ack.error !== "rate_limited" || seq !== null) return;
        askAgain = setTimeout(function () {
          askAgain = null;
          if (seq === null && socket.connected) askSnapshot(attempt + 1);
        }, Math.min(60, 5 * attempt) * 1000);
      });
    }

    function bySeq(a, b) { return a[1].seq - b[1].seq; }

    /* One numbered change: applied in order, held while one before it is missing, or a resync. */
    function receive(name, data) {
      if (!data || typeof data.seq !== "number") return;
      if (seq === null) {
        if (early.length < 1000) early.push([name, data]);
        return;
      }
      if (data.seq > seq + 1) {
        if (ahead.length >= 1000) { resync(); return; }
        ahead.push([name, data]);
        if (aheadTimer === null) aheadTimer = setTimeout(function () { aheadTimer = null; resync(); }, REORDER_MS);
        return;
      }
      if (data.seq < seq) { resync(); return; }
      seq = data.seq;
      show[name](data);
      ahead.sort(bySeq);
      while (seq !== null && ahead.length && ahead[0][1].seq <= seq + 1) {
        var next = ahead.shift();
        seq = next[1].seq;
        show[next[0]](next[1]);
      }
      if (seq !== null && !ahead.length) {
        clearTimeout(aheadTimer);
        aheadTimer = null;
      }
    }

    socket.on("connect", function () {
      if (everConnected) banner.flash(common.reconnected);
      else banner.node && (banner.node.hidden = true);
      everConnected = true;
      if (options.onConnect) options.onConnect(socket);
    });
    socket.on("session_ended", function (data) {
      ended = (common.sessionEnded || {})[data && data.why] || common.loggedOut;
      endedShown = !!(options.onEnded && options.onEnded(ended, data && data.why));
      socket.disconnect();
    });
    socket.on("disconnect", function (reason) {
      forget();
      if (ended) {
        if (endedShown) banner.node && (banner.node.hidden = true); else banner.show(ended, "error");
        return;
      }
      if (reason === "io server disconnect") {
        banner.show(options.namespace === "/moderator" ? common.loggedOut : common.reconnecting, "warn");
        if (options.namespace !== "/moderator") socket.connect();
        return;
      }
      banner.show(navigator.onLine === false ? common.offline : common.reconnecting, "warn");
    });
    socket.on("connect_error", function (err) {
      if (!socket.active && options.onRefused) {
        if (options.onRefused(err && err.message) === true) {  // the page said it itself
          if (banner.node) banner.node.hidden = true;
          return;
        }
        banner.show(options.namespace === "/moderator" ? common.loggedOut : common.reconnecting, "error");
      } else {
        banner.show(navigator.onLine === false ? common.offline : common.reconnecting, "warn");
      }
    });
    window.addEventListener("offline", function () { banner.show(common.offline, "warn"); });
    window.addEventListener("online", function () { if (socket.connected) banner.flash(common.online); });

    var show = {
      question: function (data) { if (handlers.question) handlers.question(data.question, data); },
      seq: function () {},
      talk: function (data) {
        markRehearsal(data.talk);
        if (handlers.talk) handlers.talk(data.talk);
      },
      backstage: function (data) { if (handlers.backstage) handlers.backstage(data); }
    };
    Object.keys(show).forEach(function (name) {
      socket.on(name, function (data) { receive(name, data); });
    });
    socket.on("snapshot", function (data) {
      var kept = early.concat(ahead);
      forget();
      seq = data.seq;
      markRehearsal(data.talk);
      if (handlers.snapshot) handlers.snapshot(data);
      kept.filter(function (e) { return e[1].seq > data.seq; })
        .sort(bySeq)
        .forEach(function (e) { receive(e[0], e[1]); });
    });
    socket.on("votes", function (data) {
      if (seq !== null && handlers.votes) handlers.votes(data.counts);
    });
    Object.keys(handlers).forEach(function (name) {
      if (!show[name] && ["snapshot", "votes"].indexOf(name) === -1) socket.on(name, handlers[name]);
    });
    return { socket: socket, resync: resync };
  }

  /* The round opens and closes by the clock too: ask for fresh state when that moment comes. */
  function watchWindow(live, talk) {
    clearTimeout(live.windowTimer);
    var now = Date.now();
    var next = [talk.closes_at, talk.starts_at, talk.ends_at]
      .map(function (iso) { return iso ? new Date(iso).getTime() : NaN; })
      .filter(function (t) { return t > now; })
      .sort(function (a, b) { return a - b; })[0];
    if (next && next - now < 2147483647) {
      live.windowTimer = setTimeout(function () { live.resync(); }, next - now + 1000);
    }
  }

  /* Emit with an acknowledgement. Without a connection nothing is sent (socket.io would send it
   * on reconnect, long after the person moved on): `done` gets {ok:false, error:"offline"} at
   * once; with no acknowledgement in time {ok:false, error:"timeout"}; both with a German
   * `message`. */
  function call(socket, event, payload, done, timeoutMs) {
    if (!socket.connected) {
      done({ ok: false, error: "offline", message: common.notSent });
      return;
    }
    socket.timeout(timeoutMs || 8000).emit(event, payload, function (err, ack) {
      done(err ? { ok: false, error: "timeout", message: common.noAnswer } : ack);
    });
  }

  function byId(questions) {
    var index = {};
    questions.forEach(function (q) { index[q.id] = q; });
    return index;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  window.Live = {
    connect: connect, call: call, watchWindow: watchWindow, byId: byId,
    fill: fill, el: el, readJSON: readJSON, uuid: uuid, count: count,
    berlinTime: berlinTime, common: common, strings: readJSON("strings")
  };
})();
