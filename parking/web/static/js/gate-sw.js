// The gate page's service worker (scope /gate): the page and its files stay available for a
// reload without network, since underground garages often have none; they are kept from the
// page's first load on (the page asks, see the message handler). Network first for the page
// (a fresh copy when there is one), the cached copy when the network fails; the static files are
// served from the cache and refreshed in the background. Nothing else is touched: scans, lists and
// uploads always go to the network, and the page itself decides what to do when they fail.
const PAGES = 'gate-pages';
const ASSETS = ['/static/css/app.css', '/static/css/gate.css', '/static/js/gate.js', '/static/js/gate-verify.js'];
const PAGE_TIMEOUT_MS = 5000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(PAGES)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function page(request) {
  const cache = await caches.open(PAGES);
  try {
    const response = await withTimeout(fetch(request), PAGE_TIMEOUT_MS);
    if (response.ok && !response.redirected && response.type === 'basic') {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
    if (cached) return cached;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(PAGES);
  const cached = await cache.match(request, { ignoreSearch: true });
  const fresh = fetch(request)
    .then((response) => {
      if (response.ok) cache.put(request, response.clone());
      return response;
    })
    .catch(() => null);
  return cached || (await fresh) || Response.error();
}

// The page asks, on its first load, that the page and its files be kept now: that load did not pass
// through this worker, and the next one may have no network.
self.addEventListener('message', (event) => {
  const data = event.data || {};
  const port = event.ports && event.ports[0];
  if (typeof data.keep !== 'string') return;
  const url = new URL(data.keep, self.location.origin);
  if (url.origin !== self.location.origin || url.pathname !== '/gate') return;
  event.waitUntil(
    (async () => {
      let kept = false;
      try {
        const cache = await caches.open(PAGES);
        await cache.addAll(ASSETS);
        const response = await fetch(url.href, { credentials: 'same-origin', redirect: 'manual' });
        if (response.ok && response.type === 'basic') {
          await cache.put(url.href, response);
          kept = true;
        }
      } catch (error) {
        kept = false;
      }
      if (port) port.postMessage({ kept });
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/gate') {
    event.respondWith(page(request));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(asset(request));
  }
});
