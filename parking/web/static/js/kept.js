/* The pages kept for no signal (/home, /bookings, the passes). Online, the page hands the service
   worker the list of pages to keep (data-keep on this script) and says when they are kept. Shown
   from the store (the worker marks <html data-kept-at>), the page says how old it is and turns off
   what needs the network: every button of a form, and every link to a page that is not kept, with
   the note that says why (a link to a booking whose pass is kept opens the pass instead). Where this browser keeps no pages, the pass page offers its QR code as a
   picture instead. Everything here is optional: without JavaScript the pages work online. */
(function () {
  'use strict';
  var script = document.currentScript;
  var root = document.documentElement;
  var words = document.getElementById('kept-words');
  var WAIT_MS = 6000;
  var offered = false;

  function word(name, n) {
    return (words ? words.getAttribute('data-' + name) || '' : '').replace('%(n)s', String(n));
  }

  function age(at) {
    var minutes = Math.max(0, Math.round((Date.now() - at) / 60000));
    if (minutes < 1) return word('now');
    if (minutes < 120) return word('minutes', minutes);
    return word('hours', Math.round(minutes / 60));
  }

  function showKept(at) {
    var main = document.getElementById('main') || document.body;
    var note = document.createElement('div');
    note.className = 'kept-note';
    note.id = 'kept-note';
    note.setAttribute('role', 'status');
    var first = document.createElement('p');
    first.className = 'kept-age';
    first.textContent = word('offline') + ' ' + age(at);
    var second = document.createElement('p');
    second.textContent = word('off');
    note.appendChild(first);
    note.appendChild(second);
    main.insertBefore(note, main.firstChild);
    var buttons = Array.prototype.slice.call(document.querySelectorAll('form button, form input[type=submit]'));
    buttons.forEach(function (button) {
      button.disabled = true;
      button.setAttribute('aria-describedby', 'kept-note');
    });
    // The signal is back: what was turned off works again (the page itself stays as old as it says).
    window.addEventListener('online', function () {
      second.hidden = true;
      buttons.forEach(function (button) {
        button.disabled = false;
        button.removeAttribute('aria-describedby');
      });
      document.querySelectorAll('a.kept-off, a.kept-pass').forEach(function (link) {
        link.setAttribute('href', link.getAttribute('data-href'));
        link.removeAttribute('aria-disabled');
        link.removeAttribute('aria-describedby');
        link.classList.remove('kept-off', 'kept-pass');
      });
    });
    document.querySelectorAll('a[href]').forEach(function (link) {
      var url = new URL(link.href, location.href);
      if (url.origin !== location.origin || url.hash && url.pathname === location.pathname) return;
      caches.match(url.pathname).then(function (hit) {
        if (hit) return null;
        // a booking's page is not kept, its pass may be: underground, the pass is what is wanted
        return /^\/bookings\/\d+$/.test(url.pathname) ? caches.match(url.pathname + '/pass') : undefined;
      }).then(function (pass) {
        if (pass === null) return;
        if (pass) {
          link.setAttribute('data-href', link.getAttribute('href'));
          link.setAttribute('href', url.pathname + '/pass');
          link.classList.add('kept-pass');
          return;
        }
        link.setAttribute('data-href', link.getAttribute('href'));
        link.removeAttribute('href');
        link.setAttribute('aria-disabled', 'true');
        link.setAttribute('aria-describedby', 'kept-note');
        link.classList.add('kept-off');
      });
    });
  }

  function ask(worker, message) {
    return new Promise(function (resolve, reject) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function (event) { resolve(event.data); };
      worker.postMessage(message, [channel.port2]);
      setTimeout(function () { reject(new Error('no answer')); }, 30000);
    });
  }

  // -- where this browser keeps no pages: the pass as a picture --------------------------------------
  function offerPicture() {
    var box = document.getElementById('no-keeping');
    var svg = document.querySelector('.pass .qr svg');
    if (!box || !svg || offered) return;
    offered = true;
    box.hidden = false;
    root.setAttribute('data-pass-saved', 'no');
    var button = document.getElementById('save-picture');
    button.addEventListener('click', function () {
      var source = new XMLSerializer().serializeToString(svg);
      var image = new Image();
      var blob = new Blob([source], { type: 'image/svg+xml' });
      var address = URL.createObjectURL(blob);
      image.onload = function () {
        var side = 600;
        var canvas = document.createElement('canvas');
        canvas.width = 720;
        canvas.height = 1000;
        var pen = canvas.getContext('2d');
        pen.fillStyle = '#fff';
        pen.fillRect(0, 0, canvas.width, canvas.height);
        pen.fillStyle = '#000';
        pen.textAlign = 'center';
        var lines = [['.pass-plate', 'bold 84px sans-serif', 100], ['.pass-day', 'bold 44px sans-serif', 170],
                     ['.pass-times', '36px sans-serif', 225]];
        lines.forEach(function (line) {
          var el = document.querySelector(line[0]);
          if (!el) return;
          pen.font = line[1];
          pen.fillText(el.textContent.trim(), canvas.width / 2, line[2]);
        });
        pen.imageSmoothingEnabled = false;
        pen.drawImage(image, (canvas.width - side) / 2, 270, side, side);
        URL.revokeObjectURL(address);
        var link = document.createElement('a');
        var plate = document.querySelector('.pass-plate');
        link.download = 'pass-' + (plate ? plate.textContent.trim() : 'tidal') + '.png';
        link.href = canvas.toDataURL('image/png');
        document.body.appendChild(link);
        link.click();
        link.remove();
      };
      image.src = address;
    });
  }

  var at = root.getAttribute('data-kept-at');
  if (at) {
    showKept(Number(at) || Date.now());
    return; // shown from the store: nothing to keep now
  }
  if (!script || !('serviceWorker' in navigator) || !window.caches || !window.MessageChannel) {
    offerPicture();
    return;
  }
  var keep = [];
  try { keep = JSON.parse(script.getAttribute('data-keep') || '[]'); } catch (e) { keep = []; }
  navigator.serviceWorker.getRegistrations().then(function (registrations) {
    // passes were once kept by one registration for /bookings/ and one for /monthly/
    registrations.forEach(function (registration) {
      var scope = new URL(registration.scope).pathname;
      if (scope === '/bookings/' || scope === '/monthly/') registration.unregister();
    });
  }).catch(function () {});
  // Some browsers (apps' own) accept the registration and never start the worker: after a while
  // without it, the picture is offered; it goes again if the worker turns up after all.
  var watchdog = setTimeout(offerPicture, WAIT_MS);
  navigator.serviceWorker.register(script.getAttribute('data-worker'), { scope: '/' })
    .then(function () { return navigator.serviceWorker.ready; })
    .then(function (registration) { return ask(registration.active, { keep: keep }); })
    .then(function (answer) {
      if (!answer || !answer.kept) throw new Error('nothing kept');
      clearTimeout(watchdog);
      var box = document.getElementById('no-keeping');
      if (box) box.hidden = true;
      root.setAttribute('data-kept', String(answer.kept));
      var note = document.getElementById('saved-note');
      if (note) note.hidden = false;
      if (document.querySelector('.pass')) root.setAttribute('data-pass-saved', 'yes');
    })
    .catch(function () { clearTimeout(watchdog); offerPicture(); });
}());
