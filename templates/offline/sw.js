// The offline desk's service worker. It keeps the desk's page and the files that page needs, and nothing
// else: every other page (each may hold someone's data) goes to the server and is never kept. The desk's
// page is asked of the server first and kept as it came; without a connection, the kept copy is served.
"use strict";
var CACHE = "msc-offline-{{ version }}";
var SHELL = {{ shell|tojson }};
var ASSETS = {{ assets|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS.concat([SHELL]));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("msc-offline-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method !== "GET") { return; }
  if (url.pathname === SHELL) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(SHELL, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(SHELL);
    }));
    return;
  }
  if (ASSETS.indexOf(url.pathname + url.search) !== -1 || ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.match(request).then(function (kept) {
      return kept || fetch(request);
    }));
  }
});
