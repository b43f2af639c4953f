/* The pass page: a print button, and a service worker that keeps this pass for the garage, where
   phones have no signal. Everything here is optional: without JavaScript the pass still shows and
   prints from the browser's menu. */
(function () {
  'use strict';
  var CACHE = 'tidal-pass-v1';
  var script = document.currentScript;

  var printButton = document.getElementById('print-pass');
  if (printButton && typeof window.print === 'function') {
    printButton.hidden = false;
    printButton.addEventListener('click', function () { window.print(); });
    var hint = document.querySelector('.print-hint');
    if (hint) hint.hidden = true;
  }

  if (!script || !('serviceWorker' in navigator) || !window.caches) return;
  navigator.serviceWorker.register(script.dataset.worker, { scope: script.dataset.scope })
    .then(function () { return navigator.serviceWorker.ready; })
    .then(function () {
      // This first visit is not yet served by the worker: store the page and what it uses now.
      var urls = [location.pathname];
      document.querySelectorAll('link[rel=stylesheet], script[src]').forEach(function (el) {
        urls.push(el.href || el.src);
      });
      return caches.open(CACHE).then(function (cache) { return cache.addAll(urls); });
    })
    .then(function () {
      var note = document.getElementById('saved-note');
      if (note) note.hidden = false;
      document.documentElement.setAttribute('data-pass-saved', 'yes');
    })
    .catch(function () { /* not saved: the pass still shows while there is signal */ });
}());
