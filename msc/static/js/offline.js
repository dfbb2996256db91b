// The offline desk. On the offline desk page it remembers the device just enrolled; on the desk's own page
// (kept by the service worker) it registers people and hands out kits without a connection:
//
// - each record is sealed at once with WebCrypto to the server's public key (ECDH P-256 with a key pair
//   made for that record, HKDF-SHA256, AES-GCM bound to the device, the record's id and its kind); the
//   record's private key is never exported nor kept, so nothing on the device can open the record again;
// - IndexedDB keeps only the sealed records, their kind, the time and the household they belong to, the
//   device's id and the offline window (a grant signed by the server, its end, the server's public key);
// - when the connection returns (and every minute while it lasts), the queue is sent; each record comes
//   back recorded, waiting for a decision, flagged or refused, and leaves the device.
(function () {
  "use strict";
  var DB = "msc-offline";
  var SCHEME = "msc-offline-v1";
  var app = document.getElementById("offline-app");
  var enrolled = document.getElementById("enrolled");

  // ---- IndexedDB ----------------------------------------------------------------------------------------
  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB, 1);
      open.onupgradeneeded = function () {
        var base = open.result;
        ["meta", "queue"].forEach(function (name) {
          if (!base.objectStoreNames.contains(name)) { base.createObjectStore(name, { keyPath: "key" }); }
        });
      };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function run(store, mode, work) {
    return db().then(function (base) {
      return new Promise(function (resolve, reject) {
        var tx = base.transaction(store, mode);
        var result = work(tx.objectStore(store));
        tx.oncomplete = function () { base.close(); resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = tx.onabort = function () { base.close(); reject(tx.error); };
      });
    });
  }
  function get(store, key) { return run(store, "readonly", function (s) { return s.get(key); }); }
  function put(store, value) { return run(store, "readwrite", function (s) { s.put(value); }); }
  function remove(store, key) { return run(store, "readwrite", function (s) { s.delete(key); }); }
  function all(store) { return run(store, "readonly", function (s) { return s.getAll(); }); }

  // the offline desk page: remember the device just enrolled, and forget the window at logout
  function forgetAtLogout() {
    Array.prototype.forEach.call(document.querySelectorAll("form[action$='/logout']"), function (form) {
      form.addEventListener("submit", function () { remove("meta", "grant"); });
    });
  }
  forgetAtLogout();
  if (enrolled) { put("meta", { key: "device", uid: enrolled.getAttribute("data-device") }); }
  if (!app) { return; }

  // ---- words --------------------------------------------------------------------------------------------
  var words = document.getElementById("offline-words").dataset;
  function say(name, values) {
    var text = words[name] || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("%(" + k + ")s").join(values[k]); });
    return text;
  }
  var state = document.getElementById("offline-state");
  var windowLine = document.getElementById("offline-window");
  var forms = document.getElementById("offline-forms");
  var sendButton = document.getElementById("offline-send");
  function show(text) { state.textContent = text; }

  // ---- sealing ------------------------------------------------------------------------------------------
  var encoder = new TextEncoder();
  function b64url(bytes) {
    var text = "";
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function seal(grant, device, id, kind, body) {
    var subtle = crypto.subtle;
    var jwk = { kty: "EC", crv: "P-256", x: grant.key.x, y: grant.key.y, ext: true };
    var server, pair, point, iv = crypto.getRandomValues(new Uint8Array(12));
    return subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, [])
      .then(function (key) {
        server = key;
        return subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
      })
      .then(function (keys) {
        pair = keys;
        return subtle.exportKey("raw", pair.publicKey);
      })
      .then(function (raw) {
        point = new Uint8Array(raw);
        return subtle.deriveBits({ name: "ECDH", public: server }, pair.privateKey, 256);
      })
      .then(function (bits) { return subtle.importKey("raw", bits, "HKDF", false, ["deriveKey"]); })
      .then(function (shared) {
        return subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: point, info: encoder.encode(SCHEME) },
          shared, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
      })
      .then(function (aes) {
        var aad = encoder.encode(SCHEME + "|" + device + "|" + id + "|" + kind);
        return subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: aad }, aes,
          encoder.encode(JSON.stringify(body)));
      })
      .then(function (ct) {
        return { kid: grant.key.kid, epk: b64url(point), iv: b64url(iv), ct: b64url(ct) };
      });
  }
  function newId() { return b64url(crypto.getRandomValues(new Uint8Array(12))); }

  // ---- the queue, as lines that name no one ----------------------------------------------------------------
  var sent = [];
  function hhmm(iso) { var d = new Date(iso); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function drawQueue() {
    return all("queue").then(function (items) {
      items.sort(function (a, b) { return a.made < b.made ? -1 : 1; });
      var list = document.getElementById("offline-queue");
      list.textContent = "";
      var sizes = {};
      items.forEach(function (r) { if (r.household) { sizes[r.household] = (sizes[r.household] || 0) + 1; } });
      items.forEach(function (r, i) {
        var li = document.createElement("li");
        var parts = [say(r.kind === "registration" ? "registration" : "handOver") + " " +
          say("of", { n: i + 1, total: items.length }), hhmm(r.made)];
        if (r.household && sizes[r.household] > 1) { parts.push(say("household", { n: sizes[r.household] })); }
        li.textContent = parts.join(", ");
        list.appendChild(li);
      });
      document.getElementById("offline-empty").hidden = items.length > 0;
      sendButton.hidden = items.length === 0;
      var done = document.getElementById("offline-sent");
      done.textContent = "";
      sent.forEach(function (line) { done.appendChild(line); });
      document.getElementById("offline-sent-title").hidden = sent.length === 0;
      return items;
    });
  }

  // ---- the offline window --------------------------------------------------------------------------------
  var device = null, grant = null;
  function windowOpen() { return grant && new Date(grant.ends) > new Date(); }
  function drawWindow() {
    if (!device) { show(say("notEnrolled")); forms.hidden = true; return; }
    if (!windowOpen()) { windowLine.textContent = say("ended"); forms.hidden = true; return; }
    windowLine.textContent = say("ends", { time: new Date(grant.ends).toLocaleString() });
    forms.hidden = false;
  }
  function fresh() {
    // a fresh CSRF token, and the proof that the session is open (an old copy of the page holds neither)
    return fetch(app.dataset.status, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (res) {
        if (res.type === "opaqueredirect" || res.status !== 200) { throw new Error("login"); }
        return res.json();
      })
      .then(function (body) { return body.csrf; });
  }
  function post(url, token, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token }, body: JSON.stringify(body)
    });
  }
  function openWindow(token) {
    return post(app.dataset.grant, token, { device: device }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          remove("meta", "grant");
          grant = null;
          show(body.error || say("revoked"));
          return;
        }
        return put("meta", { key: "grant", grant: body.grant, ends: body.ends, jwk: body.key })
          .then(function () { grant = { grant: body.grant, ends: body.ends, key: body.key }; });
      });
    });
  }

  // ---- sending ---------------------------------------------------------------------------------------------
  var sending = false;
  function outcomeLine(record, outcome) {
    var li = document.createElement("li");
    li.textContent = say(record.kind === "registration" ? "registration" : "handOver") + " " + hhmm(record.made) +
      ": " + outcome.message;
    if (outcome.state === "waiting" || outcome.state === "refused") {
      var a = document.createElement("a");
      a.href = app.dataset.record.replace("RECORD", outcome.record);
      a.textContent = " " + say("open");
      li.appendChild(a);
    }
    li.className = "outcome-" + outcome.state;
    return li;
  }
  function send() {
    if (sending || !navigator.onLine || !device) { return Promise.resolve(); }
    sending = true;
    var token;
    return fresh()
      .then(function (t) { token = t; return all("queue"); })
      .then(function (items) {
        items.sort(function (a, b) { return a.made < b.made ? -1 : 1; });
        // parts of at most 10 records and about 600 kB (a signature weighs up to 60 kB): the server takes 1 MB
        var parts = [[]], size = 0;
        items.forEach(function (r) {
          var weight = JSON.stringify(r.sealed).length;
          var last = parts[parts.length - 1];
          if (last.length && (last.length === 10 || size + weight > 600000)) { parts.push([]); size = 0; }
          parts[parts.length - 1].push(r);
          size += weight;
        });
        var chain = Promise.resolve();
        parts.forEach(function (part) {
          if (!part.length) { return; }
          chain = chain.then(function () {
            var records = part.map(function (r) { return { id: r.key, kind: r.kind, sealed: r.sealed }; });
            return post(app.dataset.sync, token, { device: device, records: records }).then(function (res) {
              return res.json().catch(function () { return {}; }).then(function (body) {
                if (!res.ok || !body.records) { throw new Error(body.error || say("failed")); }
                var byId = {};
                part.forEach(function (r) { byId[r.key] = r; });
                return Promise.all(body.records.map(function (outcome) {
                  if (!byId[outcome.id]) { return null; }
                  sent.push(outcomeLine(byId[outcome.id], outcome));
                  return remove("queue", outcome.id);
                }));
              });
            });
          });
        });
        return chain;
      })
      .then(function () { show(say("online")); })
      .catch(function (err) { show(err.message === "login" ? say("login") : err.message || say("failed")); })
      .then(function () { sending = false; return drawQueue(); });
  }

  // ---- recording -------------------------------------------------------------------------------------------
  function fields(form) {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (name in out) { out[name] = [].concat(out[name], value); } else { out[name] = value; }
    });
    return out;
  }
  function keep(kind, body, household, id) {
    id = id || newId();
    var made = new Date().toISOString();
    body.made_at = made;
    body.grant = grant.grant;
    return seal(grant, device, id, kind, body).then(function (box) {
      return put("queue", { key: id, kind: kind, made: made, household: household || null, sealed: box });
    }).then(function () { return id; });
  }
  function refuse(form, text) {
    var box = form.querySelector(".offline-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "flash flash-error offline-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = text;
    box.scrollIntoView();
  }
  function kept(form) {
    var box = form.querySelector(".offline-error");
    if (box) { box.remove(); }
    show(say("kept"));
    form.reset();
    var pad = form.querySelector("#signature-clear");
    if (pad) { pad.click(); }
    window.scrollTo(0, 0);
    return drawQueue().then(send);
  }
  document.getElementById("offline-register").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    if (!windowOpen()) { drawWindow(); return; }
    var typed = fields(form);
    if (!String(typed.given_names || "").trim() || !String(typed.family_names || "").trim()) {
      refuse(form, say("needNames"));
      return;
    }
    var mode = typed.offline_household || "new";
    delete typed.offline_household;
    typed.household_mode = mode === "join" ? "join" : "new";
    get("meta", "household").then(function (last) {
      var body = { form: typed };
      if (mode === "last") {
        if (!last) { refuse(form, say("needLast")); return null; }
        body.household_with = last.head;
      }
      // a new household is named after its first person's record (whose own line counts in it)
      var id = newId();
      var household = mode === "last" ? last.head : mode === "new" ? id : null;
      return keep("registration", body, household, id).then(function () {
        return mode === "new" ? put("meta", { key: "household", head: id }) : null;
      }).then(function () { return kept(form); });
    }).catch(function (err) { refuse(form, err.message); });
  });
  document.getElementById("offline-give").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    if (!windowOpen()) { drawWindow(); return; }
    var typed = fields(form);
    var card = String(typed.card || "").replace(/[\s-]/g, "").toUpperCase();
    if (card.length !== 16) { refuse(form, say("needCard")); return; }
    var items = {}, any = false;
    Object.keys(typed).forEach(function (name) {
      if (name.indexOf("item-") === 0) {
        var n = parseInt(typed[name], 10);
        if (n > 0) { items[name.slice(5)] = n; any = true; }
      }
    });
    if (!any) { refuse(form, say("needItems")); return; }
    var ack = {
      collected_by: typed["give-collected_by"], collector_name: typed["give-collector_name"],
      method: typed["give-ack_method"], signature: typed["give-signature"], witness_name: typed["give-witness_name"]
    };
    keep("hand_over", { card: card, items: items, ack: ack }).then(function () { return kept(form); })
      .catch(function (err) { refuse(form, err.message); });
  });

  // ---- start -----------------------------------------------------------------------------------------------
  if (!window.crypto || !crypto.subtle || !window.indexedDB) { show(say("noCrypto")); return; }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(app.dataset.sw, { scope: app.dataset.sw.replace(/[^/]*$/, "") });
  }
  Promise.all([get("meta", "device"), get("meta", "grant")]).then(function (found) {
    device = found[0] ? found[0].uid : null;
    grant = found[1] ? { grant: found[1].grant, ends: found[1].ends, key: found[1].jwk } : null;
    drawWindow();
    drawQueue();
    show(navigator.onLine ? say("online") : say("offline"));
    if (!device || !navigator.onLine) { return null; }
    return fresh().then(openWindow).then(function () { drawWindow(); return send(); })
      .catch(function (err) { show(err.message === "login" ? say("login") : say("offline")); });
  });
  window.addEventListener("online", function () {
    show(say("online"));
    fresh().then(openWindow).then(drawWindow).then(send).catch(function () { show(say("login")); });
  });
  window.addEventListener("offline", function () { show(say("offline")); });
  sendButton.addEventListener("click", send);
  setInterval(function () { if (navigator.onLine) { send(); } }, 60000);
})();
