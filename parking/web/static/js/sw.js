/* Keeps a resident's pages for the underground garage, where there is no signal: /home, /bookings
   and the passes (a night's, a month's) that /home and /bookings name. A kept page is fetched from
   the network first (so a cancelled booking stops showing its pass) and falls back to the stored
   copy when the network fails or is too slow; the stored copy is marked with the time it was kept
   (data-kept-at on <html>, this phone's clock) so that the page says its age. The stylesheets and
   scripts the kept pages use are served from the store and refreshed in the background.

   Whose: every resident page carries X-Kept-For (a keyed hash of the user). A copy is kept with it,
   and served only while it is the last signed-in resident's. A page of another resident, the
   sign-in page, or a kept page answered by a redirect or a refusal (signed out, another role)
   forgets every kept page. Signing out also clears the whole store (Clear-Site-Data). */
'use strict';
var CACHE = 'tidal-kept-v2';
var OLD = ['tidal-pass-v1'];
var WHO = '/kept/who'; // the X-Kept-For of the resident the kept pages belong to
var KEPT = /^\/(home|bookings|(bookings|monthly)\/\d+\/pass)$/;
var SLOW_MS = 4000;

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) {
  event.waitUntil(Promise.all(OLD.map(function (name) { return caches.delete(name); }))
    .then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (KEPT.test(url.pathname) && !url.search) {
    event.respondWith(keptPage(request, url.pathname));
  } else if (url.pathname === '/login' && request.mode === 'navigate') {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) forget(); // nobody is signed in, or someone new is
      return response;
    }));
  } else if (url.pathname.indexOf('/static/') === 0) {
    event.respondWith(asset(request));
  }
});

// A page asks to keep a list of pages and files; the answer says how many were kept.
self.addEventListener('message', function (event) {
  var data = event.data || {};
  var port = event.ports && event.ports[0];
  if (!Array.isArray(data.keep)) return;
  // A page that started loading while this worker was being installed is not yet controlled by it.
  event.waitUntil(self.clients.claim().then(function () { return keepAll(data.keep); }).then(function (kept) {
    if (port) port.postMessage({ kept: kept });
  }, function () {
    if (port) port.postMessage({ kept: 0 });
  }));
});

function keepAll(urls) {
  return urls.reduce(function (previous, url) {
    return previous.then(function (count) {
      var path = new URL(url, self.location.origin).pathname;
      // Marked as kept in the background: the server neither hands it the person's next message
      // nor sets the session cookie with it (a late answer would put back an older cookie).
      var request = new Request(path, {
        credentials: 'same-origin', redirect: 'manual', headers: { 'X-Kept-Fetch': 'keep' }
      });
      var fetched = KEPT.test(path) ? fromNetwork(request, path) : refresh(request);
      return fetched.then(function (response) {
        return count + (response && response.ok ? 1 : 0);
      }, function () { return count; });
    });
  }, Promise.resolve(0));
}

function who(cache) {
  return cache.match(WHO).then(function (hit) { return hit ? hit.text() : ''; });
}

function forget() {
  return caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.filter(function (request) {
        var path = new URL(request.url).pathname;
        return path === WHO || KEPT.test(path);
      }).map(function (request) { return cache.delete(request); }));
    });
  });
}

// The network's answer to a kept page, stored (or forgotten) on the way.
function fromNetwork(request, key) {
  return fetch(request).then(function (response) {
    var owner = response.headers.get('X-Kept-For');
    if (response.ok && !response.redirected && owner) {
      return store(key, response.clone(), owner).then(function () { return response; });
    }
    if (response.type === 'opaqueredirect' || response.redirected || response.status === 401 ||
        response.status === 403) {
      return forget().then(function () { return response; }); // signed out, or not a resident
    }
    if (response.status >= 400 && response.status < 500) {
      return caches.open(CACHE).then(function (cache) { return cache.delete(key); })
        .then(function () { return response; }); // cancelled, or not this household's: no pass
    }
    return response;
  });
}

function store(key, response, owner) {
  return caches.open(CACHE).then(function (cache) {
    return who(cache).then(function (current) {
      var ready = current === owner ? Promise.resolve() : forget().then(function () {
        return cache.put(WHO, new Response(owner));
      });
      return ready.then(function () { return response.blob(); }).then(function (body) {
        var headers = new Headers(response.headers);
        headers.set('X-Kept-At', String(Date.now()));
        return cache.put(key, new Response(body, { status: 200, headers: headers }));
      });
    });
  });
}

// The stored copy of a kept page, only if it is the signed-in resident's, marked with its age.
function stored(key) {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all([who(cache), cache.match(key, { ignoreVary: true })]).then(function (found) {
      var owner = found[0];
      var hit = found[1];
      if (!hit || !owner || hit.headers.get('X-Kept-For') !== owner) return null;
      var at = hit.headers.get('X-Kept-At') || '';
      return hit.text().then(function (html) {
        var marked = html.replace('<html ', '<html data-kept-at="' + at + '" ');
        return new Response(marked, { status: 200, headers: hit.headers });
      });
    });
  });
}

function keptPage(request, key) {
  return new Promise(function (resolve) {
    var done = false;
    function answer(response) {
      if (!done && response) { done = true; resolve(response); }
    }
    fromNetwork(request, key).then(answer, function () {
      stored(key).then(function (hit) { answer(hit || Response.error()); });
    });
    setTimeout(function () { stored(key).then(answer); }, SLOW_MS);
  });
}

function refresh(request) {
  return fetch(request).then(function (response) {
    if (!response.ok) return response;
    var copy = response.clone();
    return caches.open(CACHE).then(function (cache) { return cache.put(request.url, copy); })
      .then(function () { return response; });
  });
}

// A file a kept page uses is served from the store and refreshed behind it; any other file goes to
// the network untouched (the store holds only what the kept pages need).
function asset(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request.url, { ignoreVary: true }).then(function (hit) {
      if (!hit) return fetch(request);
      refresh(request).catch(function () {});
      return hit;
    });
  });
}
