/* Keeps residents' passes (a night's and a month's) for the underground garage, where there is no signal. A pass page is
   fetched from the network first (so a cancelled booking stops showing its pass) and falls back to
   the stored copy when the network fails or is too slow; the stylesheets and scripts it uses are
   served from the store and refreshed in the background. */
'use strict';
var CACHE = 'tidal-pass-v1';
var PASS = /^\/(bookings|monthly)\/\d+\/pass$/; // a night's pass, a month's pass
var SLOW_MS = 4000;

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (PASS.test(url.pathname)) {
    event.respondWith(passPage(request, url.pathname));
  } else if (url.pathname.indexOf('/static/') === 0) {
    event.respondWith(asset(request));
  }
});

function passPage(request, key) {
  return caches.open(CACHE).then(function (cache) {
    return new Promise(function (resolve) {
      var done = false;
      function answer(response) {
        if (!done && response) { done = true; resolve(response); }
      }
      function stored() { return cache.match(key, { ignoreVary: true }); }
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          cache.put(key, response.clone());
        } else if (response.type === 'opaqueredirect' || response.redirected ||
                   (response.status >= 400 && response.status < 500)) {
          cache.delete(key); // signed out, cancelled, or not this household's: no pass to keep
        }
        answer(response);
      }, function () {
        stored().then(function (hit) { answer(hit || Response.error()); });
      });
      setTimeout(function () { stored().then(answer); }, SLOW_MS);
    });
  });
}

function asset(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (hit) {
        fresh.catch(function () {});
        return hit;
      }
      return fresh;
    });
  });
}
