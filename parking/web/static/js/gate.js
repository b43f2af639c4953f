// The gate station page: one scan field that always has the focus, one result at the
// top, and offline mode. The page works without this script (plain forms); this adds the scanner
// handling (Enter/Tab, double reads), tones and speech, the camera, the lists' refresh, and the
// offline verifier with its queue.
import {
  checkOffline,
  ed25519Supported,
  holderOf,
  loadJwks,
  loadRevocations,
  loadRevokedNights,
  nextNightStart,
} from './gate-verify.js';

const config = JSON.parse(document.getElementById('gate-config').textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const GARAGE = config.garage_id;
const W = config.words;
const DOUBLE_READ_MS = 2500;
const RESULT_MS = 20000;
const LISTS_MS = 20000;
const MATERIAL_MS = 3 * 60 * 1000;
const FETCH_TIMEOUT_MS = 6000;

const $ = (id) => document.getElementById(id);
const form = $('scan-form');
const field = form.querySelector('input[name="token"]');
const resultBox = $('gate-result');

// -- small helpers -----------------------------------------------------------------------------------

const fill = (template, params) => template.replace(/%\((\w+)\)s/g, (_, name) => (name in params ? params[name] : ''));

function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; getRandomValues does not (plain http on a LAN).
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const store = {
  key: (name) => `gate:${GARAGE}:${name}`,
  get(name, fallback) {
    try {
      const raw = localStorage.getItem(this.key(name));
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  },
  set(name, value) {
    try {
      localStorage.setItem(this.key(name), JSON.stringify(value));
    } catch (e) {
      /* storage full or blocked: the page keeps working on what it has in memory */
    }
  },
};

function deviceId() {
  let id = null;
  try {
    id = localStorage.getItem('gate:device');
    if (!id) {
      id = `web-${uuid()}`;
      localStorage.setItem('gate:device', id);
    }
  } catch (e) {
    id = id || `web-${uuid()}`;
  }
  return id;
}

class NetworkDown extends Error {}

let networkDown = !navigator.onLine;

async function request(url, { method = 'GET', body = null, form: formData = null } = {}) {
  if (!navigator.onLine) {
    networkDown = true;
    throw new NetworkDown('offline');
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  const headers = { Accept: 'application/json', 'X-CSRFToken': csrf };
  if (body !== null) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: formData || (body !== null ? JSON.stringify(body) : null),
      credentials: 'same-origin',
      signal: controller.signal,
      cache: 'no-store',
    });
  } catch (e) {
    networkDown = true;
    throw new NetworkDown(String(e));
  } finally {
    clearTimeout(timer);
  }
  if (response.status >= 500) {
    // The server (or a proxy before it) cannot judge now: the gate must not stop because of it.
    networkDown = true;
    throw new NetworkDown(`status ${response.status}`);
  }
  networkDown = false;
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

// -- the result ---------------------------------------------------------------------------------------

let resultTimer = null;
let audio = null;

function tone(ok) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const t = audio.currentTime;
    const notes = ok ? [[880, 0, 0.12], [1320, 0.14, 0.16]] : [[220, 0, 0.5], [180, 0.55, 0.45]];
    for (const [freq, start, length] of notes) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = ok ? 'sine' : 'square';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, t + start);
      gain.gain.exponentialRampToValueAtTime(0.001, t + start + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + start);
      osc.stop(t + start + length + 0.02);
    }
  } catch (e) {
    /* no audio on this device */
  }
}

function speak(view) {
  if (!('speechSynthesis' in window)) return;
  try {
    const words = config.speech;
    let text = view.state === 'ok' ? words.accepted : view.state === 'bad' ? words.rejected : words.error;
    if (view.state === 'bad' && view.reason && words.reasons[view.reason]) text += '，' + words.reasons[view.reason];
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = 'zh-CN';
    utterance.rate = 1.1;
    speechSynthesis.cancel();
    speechSynthesis.speak(utterance);
  } catch (e) {
    /* no speech on this device */
  }
}

function setText(selector, text) {
  resultBox.querySelector(selector).textContent = text || '';
}

// A plate's answer (the page as POST /gate/plate drew it) gives way to the next answer or to idle.
function clearLookup() {
  resultBox.classList.remove('is-lookup', 'is-lookup-ok', 'is-lookup-bad');
  for (const actions of resultBox.querySelectorAll('.lookup-actions')) actions.remove();
}

function showResult(view, { sound = true } = {}) {
  clearTimeout(resultTimer);
  clearLookup();
  resultBox.classList.remove('is-idle', 'is-ok', 'is-bad', 'is-error', 'is-counting', 'is-offline-result');
  resultBox.classList.add(`is-${view.state}`);
  if (view.offline) resultBox.classList.add('is-offline-result');
  setText('.result-icon', view.icon);
  setText('.word', view.word);
  resultBox.querySelector('.result-offline').hidden = !view.offline;
  setText('.result-plate', view.plate);
  setText('.result-reason', view.line);
  setText('.result-night', view.night);
  resultBox.dataset.result = view.state;
  resultBox.dataset.reason = view.reason || '';
  resultBox.dataset.seq = String(Number(resultBox.dataset.seq || 0) + 1); // one more answer shown
  void resultBox.offsetWidth; // restart the countdown bar's animation
  resultBox.classList.add('is-counting');
  resultTimer = setTimeout(idle, RESULT_MS);
  if (sound && view.state !== 'idle') {
    tone(view.state === 'ok');
    speak(view);
  }
}

function idle() {
  clearLookup();
  resultBox.classList.remove('is-ok', 'is-bad', 'is-error', 'is-counting', 'is-offline-result');
  resultBox.classList.add('is-idle');
  setText('.result-icon', '▣');
  setText('.word', W.idle);
  resultBox.querySelector('.result-offline').hidden = true;
  setText('.result-plate', '');
  setText('.result-reason', '');
  setText('.result-night', '');
  resultBox.dataset.result = 'idle';
  resultBox.dataset.reason = '';
}

const errorView = (text) => ({ state: 'error', icon: '⚠', word: W.error, text, line: text });

function serverView(data) {
  return { ...data, state: data.state || (data.ok ? 'ok' : 'bad') };
}

// -- offline material, queue and banner ----------------------------------------------------------------

let material = store.get('material', null);
let keys = null;
let revoked = new Set();
let revokedNights = new Map();
let canVerify = false;

async function useMaterial(found) {
  material = found;
  keys = canVerify ? await loadJwks(found.jwks) : null;
  revoked = loadRevocations(found.revocations);
  revokedNights = loadRevokedNights(found.revocations); // monthly passes: nights handed back or bumped
}

function serverNow() {
  return Date.now() + (material ? material.skew : 0);
}

async function refreshMaterial() {
  const sent = Date.now();
  const answer = await request(config.urls.material);
  if (!answer.ok || !answer.data) return;
  const received = Date.now();
  const found = answer.data;
  // The device's clock may be wrong: offline decisions use the server's clock as last seen.
  found.skew = Date.parse(found.server_time) - (sent + received) / 2;
  found.fetched_at = received;
  store.set('material', found);
  await useMaterial(found);
}

const queue = () => store.get('queue', []);
const saveQueue = (items) => store.set('queue', items);

function ageText(seconds) {
  if (seconds < 60) return W.under_minute;
  if (seconds < 3600) return fill(W.minutes, { n: Math.floor(seconds / 60) });
  return fill(W.hours, { n: Math.floor(seconds / 3600) });
}

function banner() {
  const box = $('gate-banner');
  box.hidden = false;
  const down = networkDown || !navigator.onLine;
  box.classList.toggle('is-offline', down);
  box.classList.toggle('is-online', !down);
  box.dataset.network = down ? 'offline' : 'online';
  $('gate-net').querySelector('.icon').textContent = down ? '○' : '●';
  $('gate-net').querySelector('.net-word').textContent = down ? W.offline : W.online;
  const waiting = queue().length;
  $('gate-queue').textContent = fill(W.queue, { n: waiting });
  box.dataset.queue = String(waiting);
  const warn = $('gate-warn');
  const warnings = [];
  if (!canVerify) warnings.push(W.no_ed25519);
  if (material) {
    const age = Math.max(0, (serverNow() - Date.parse(material.revocations.generated_at)) / 1000);
    $('gate-age').textContent = fill(W.age, { age: ageText(age) });
    box.dataset.age = String(Math.round(age));
    if (age > config.revocation_max_age) warnings.push(W.stale);
  } else {
    $('gate-age').textContent = '';
    warnings.push(W.age_none);
  }
  warn.textContent = warnings.join(' ');
  warn.hidden = warnings.length === 0;
  box.dataset.stale = warnings.includes(W.stale) ? 'true' : 'false';
}

async function upload() {
  const items = queue();
  if (!items.length) return;
  const batch = items.slice(0, 500);
  const scans = batch.map((item) => {
    const scan = {
      idempotency_key: item.idempotency_key,
      direction: item.direction,
      device_time: item.device_time,
      offline_result: item.offline_result,
    };
    if (item.token) scan.token = item.token;
    else scan.plate = item.plate_scanned;
    return scan;
  });
  const answer = await request(config.urls.upload, { method: 'POST', body: { garage_id: GARAGE, device: deviceId(), scans } });
  if (!answer.ok || !answer.data) return;
  const done = new Set();
  const conflicts = store.get('conflicts', []);
  for (const scan of answer.data.scans) {
    if (scan.recorded || scan.reason === 'idempotency_key_reused') done.add(scan.idempotency_key);
    if (scan.conflict) conflicts.unshift({ plate: scan.plate || '', text: scan.conflict_text || scan.conflict, time: scan.device_time });
  }
  store.set('conflicts', conflicts.slice(0, 50));
  saveQueue(queue().filter((item) => !done.has(item.idempotency_key)));
  store.set('uploaded', store.get('uploaded', 0) + done.size);
  showConflicts();
  $('camera-status').textContent = fill(W.uploaded, { n: done.size });
  if (done.size) await refreshLists(); // the scans just recorded move cars between the lists
}

function showConflicts() {
  const conflicts = store.get('conflicts', []);
  const box = $('gate-conflicts');
  box.hidden = conflicts.length === 0;
  const list = $('conflict-list');
  list.replaceChildren(
    ...conflicts.map((c) => {
      const li = document.createElement('li');
      const plate = document.createElement('strong');
      plate.textContent = c.plate;
      li.append(plate, ` ${c.time} · ${c.text}`);
      return li;
    }),
  );
}

async function offlineScan({ token, plate, direction, key }) {
  if (!token) return errorView(W.network_error); // a plate needs the server's bookings
  if (!canVerify) return errorView(W.no_ed25519);
  if (!material || !keys) return errorView(W.age_none);
  const at = serverNow();
  const decision = await checkOffline(token, keys, {
    garageId: GARAGE,
    at: at / 1000,
    revoked,
    revokedNights,
    direction,
    queue: queue(),
  });
  const claims = decision.claims;
  const trusted = claims && !['malformed', 'unknown_key', 'bad_signature'].includes(decision.reason);
  const items = queue();
  items.push({
    idempotency_key: key,
    token,
    plate_scanned: plate || null,
    direction,
    device_time: new Date(at).toISOString(),
    offline_result: decision.result,
    reason: decision.reason,
    booking: null,
    subscription: null,
    ...(trusted ? holderOf(claims) : {}), // anti-passback: a monthly pass by its subscription
    plate: trusted ? claims.plate : null,
  });
  saveQueue(items);
  let text;
  if (!decision.reason) text = config.reasons[`accepted_${direction}`];
  else if (decision.reason === 'not_yet_valid') {
    // A monthly pass between nights: the start of its next booked night.
    const start = claims.kind === 'subscription' ? nextNightStart(claims, at / 1000) : Number(claims.notBefore);
    const from = new Date((start ?? Number(claims.notBefore)) * 1000).toLocaleTimeString(config.lang, {
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
      timeZone: config.timezone,
    });
    text = fill(config.reasons.not_yet_valid_at, { time: from });
  } else text = config.reasons[decision.reason] || decision.reason;
  const ok = decision.result === 'accepted';
  return {
    state: ok ? 'ok' : 'bad',
    icon: ok ? '✔' : '✖',
    word: ok ? W.accepted : W.rejected,
    reason: decision.reason,
    text,
    line: ok ? text : `${W[direction]} · ${text}`,
    plate: trusted ? claims.plate : '',
    direction_word: W[direction],
    night: W.offline_checked,
    offline: true,
  };
}

// -- scanning -------------------------------------------------------------------------------------------

let lastRead = { value: null, at: 0 };

const direction = () => form.querySelector('input[name="direction"]:checked')?.value || 'in';

async function scan({ token = null, plate = null, dir = direction() }) {
  const key = uuid();
  let view;
  try {
    // After a failure, scans are judged here at once; the background probe finds the network again.
    if (networkDown) throw new NetworkDown('offline');
    const body = { garage_id: GARAGE, direction: dir, idempotency_key: key };
    if (token) body.token = token;
    else body.plate = plate;
    const answer = await request(config.urls.scan, { method: 'POST', body });
    view = answer.ok ? serverView(answer.data) : errorView(answer.data?.message || W.network_error);
    if (answer.ok) setTimeout(refreshLists, 300);
  } catch (e) {
    if (!(e instanceof NetworkDown)) throw e;
    view = await offlineScan({ token, plate, direction: dir, key });
  }
  showResult(view);
  banner();
  return view;
}

/** A token from the scanner field or the camera's own detector; the same token within 2.5 s is a double read. */
function read(value) {
  const text = (value || '').trim();
  if (!text) return null;
  const now = performance.now();
  if (text === lastRead.value && now - lastRead.at < DOUBLE_READ_MS) {
    lastRead.at = now;
    $('camera-status').textContent = W.double_read;
    return null;
  }
  lastRead = { value: text, at: now };
  return scan({ token: text });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = field.value;
  field.value = '';
  field.focus();
  read(value);
});

field.addEventListener('keydown', (event) => {
  if (event.key === 'Tab' && !event.shiftKey) {
    // Scanners end a read with Enter or Tab; a Tab must not carry the focus away.
    event.preventDefault();
    form.requestSubmit();
  }
});

const TYPING = 'input:not([type]), input[type="text"], input[type="search"], input[type="tel"], input[type="number"], select, textarea';
const NAVIGATION = new Set(['Tab', 'Enter', ' ', 'Escape', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Shift', 'Control', 'Alt', 'Meta']);

document.addEventListener(
  'keydown',
  (event) => {
    const active = document.activeElement;
    if (active === field || (active && active.matches && active.matches(TYPING))) return;
    if (NAVIGATION.has(event.key) || event.ctrlKey || event.metaKey || event.altKey) return;
    field.focus(); // a scanner starts typing: the characters land in the scan field
  },
  true,
);

for (const radio of form.querySelectorAll('input[name="direction"]')) {
  radio.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('direction', direction());
    url.searchParams.set('garage_id', GARAGE);
    history.replaceState(null, '', url);
    for (const hidden of document.querySelectorAll('.lookup-form input[name="direction"]')) hidden.value = direction();
    lastRead = { value: null, at: 0 }; // the attendant turned the switch: the next read is meant, not a repeat
    field.focus();
  });
}

field.addEventListener('blur', () => {
  setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) field.focus();
  }, 0);
});

// A plate look-up needs the server's bookings: offline it is said at the top, the page stays.
for (const lookupForm of document.querySelectorAll('form.lookup-form')) {
  lookupForm.addEventListener('submit', (event) => {
    if (!networkDown && navigator.onLine) return;
    event.preventDefault();
    showResult(errorView(W.network_error));
    window.scrollTo({ top: 0 });
  });
}

for (const plateForm of document.querySelectorAll('form.plate-scan')) {
  plateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(plateForm);
    scan({ plate: data.get('plate'), dir: data.get('direction') });
    window.scrollTo({ top: 0 });
    field.focus();
  });
}

$('conflicts-clear').addEventListener('click', () => {
  store.set('conflicts', []);
  showConflicts();
  field.focus();
});

// Signing out: the cached copy of this page goes too (the queue stays until it is uploaded).
for (const logout of document.querySelectorAll('form[action$="/logout"]')) {
  logout.addEventListener('submit', () => {
    if ('caches' in window) caches.delete('gate-pages');
  });
}

// -- lists -----------------------------------------------------------------------------------------------

// Camera reads waiting for the attendant: confirmed or dismissed without leaving the page.
$('gate-lists').addEventListener('submit', async (event) => {
  const target = event.target;
  if (!target.matches('form.plate-event-form')) return;
  event.preventDefault();
  const plate = target.querySelector('input[name="plate"]');
  try {
    const answer = await request(target.action, { method: 'POST', body: plate ? { plate: plate.value } : {} });
    showResult(answer.ok ? serverView(answer.data) : errorView(answer.data?.message || W.network_error));
  } catch (e) {
    if (!(e instanceof NetworkDown)) throw e;
    showResult(errorView(W.network_error));
  }
  window.scrollTo({ top: 0 });
  field.focus();
  refreshLists();
});

async function refreshLists() {
  // Never under the attendant's fingers: a plate being corrected in the list is not wiped.
  if ($('gate-lists').contains(document.activeElement) && document.activeElement.matches(TYPING)) return;
  try {
    const answer = await request(config.urls.lists);
    if (answer.ok && answer.data) {
      $('gate-lists').innerHTML = answer.data.html; // rendered and escaped by the server
      store.set('lists', { html: answer.data.html, at: Date.now() });
      listsFromStore = true; // what is shown is the newest known
    }
  } catch (e) {
    if (!(e instanceof NetworkDown)) throw e;
    // No network: the lists last fetched on this device are newer than the kept copy of the page.
    const kept = store.get('lists', null);
    if (!listsFromStore && kept && kept.html) {
      $('gate-lists').innerHTML = kept.html;
      listsFromStore = true;
    }
  }
  banner();
}
let listsFromStore = false;

// -- camera and photo --------------------------------------------------------------------------------------

const video = $('camera-video');
const cameraButton = $('camera-toggle');
const photo = $('photo-input');
let stream = null;
let detector = null;
let frameKey = null;
let frameTimer = null;
let frameBusy = false;

function imageView(answer) {
  if (answer.ok) return serverView(answer.data);
  if (answer.data && answer.data.error === 'no_code_found') return null;
  return errorView(answer.data?.message || W.network_error);
}

async function sendImage(blob, key) {
  const data = new FormData();
  data.append('garage_id', GARAGE);
  data.append('direction', direction());
  data.append('idempotency_key', key);
  data.append('image', blob, 'pass.jpg');
  return request(config.urls.image, { method: 'POST', form: data });
}

async function frame() {
  if (!stream || frameBusy || video.readyState < 2) return;
  frameBusy = true;
  try {
    if (detector) {
      const codes = await detector.detect(video);
      const found = codes.find((c) => c.rawValue);
      if (found) await read(found.rawValue);
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
    if (!blob || !stream) return;
    frameKey = frameKey || uuid(); // the same key until a code is found: nothing is recorded before
    const view = imageView(await sendImage(blob, frameKey));
    if (view === null) {
      $('camera-status').textContent = W.no_code;
      return;
    }
    frameKey = null;
    showResult(view);
    pauseCamera();
  } catch (e) {
    if (e instanceof NetworkDown) $('camera-status').textContent = W.network_error;
  } finally {
    frameBusy = false;
    banner();
  }
}

function pauseCamera() {
  // A pass held in front of the camera would be read again and again: the next car is a tap away.
  clearInterval(frameTimer);
  frameTimer = null;
  cameraButton.textContent = W.camera_again;
  cameraButton.dataset.state = 'paused';
}

async function startCamera() {
  try {
    if (!stream) {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
    }
    if ('BarcodeDetector' in window && !detector) {
      try {
        const formats = await BarcodeDetector.getSupportedFormats();
        if (formats.includes('qr_code')) detector = new BarcodeDetector({ formats: ['qr_code'] });
      } catch (e) {
        detector = null;
      }
    }
    clearInterval(frameTimer);
    frameTimer = setInterval(frame, detector ? 250 : 500);
    cameraButton.textContent = W.camera_stop;
    cameraButton.dataset.state = 'running';
    $('gate-camera').dataset.decoder = detector ? 'browser' : 'server';
  } catch (e) {
    $('camera-status').textContent = W.camera_failed;
    stopCamera();
  }
}

function stopCamera() {
  clearInterval(frameTimer);
  frameTimer = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  video.hidden = true;
  cameraButton.textContent = W.camera_start;
  cameraButton.dataset.state = 'stopped';
}

if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  cameraButton.hidden = false;
  cameraButton.addEventListener('click', () => {
    if (cameraButton.dataset.state === 'running') stopCamera();
    else startCamera();
    field.focus();
  });
}

$('photo-label').hidden = false;
photo.addEventListener('change', async () => {
  const file = photo.files && photo.files[0];
  photo.value = '';
  if (!file) return;
  try {
    const view = imageView(await sendImage(file, uuid()));
    showResult(view || errorView(W.no_code));
  } catch (e) {
    if (!(e instanceof NetworkDown)) throw e;
    showResult(errorView(W.network_error));
  }
  banner();
  field.focus();
});

// -- start -----------------------------------------------------------------------------------------------

window.addEventListener('online', () => {
  networkDown = false;
  tick();
});
window.addEventListener('offline', () => {
  networkDown = true;
  banner();
});

// The page and its files are kept for a reload without network from this first load on: the worker,
// once ready, fetches and stores them (this load itself did not pass through it).
function keepForOffline() {
  if (!('serviceWorker' in navigator) || !window.MessageChannel) return;
  navigator.serviceWorker
    .register(config.urls.worker, { scope: '/gate' })
    .then(() => navigator.serviceWorker.ready)
    .then(
      (registration) =>
        new Promise((resolve) => {
          const channel = new MessageChannel();
          channel.port1.onmessage = (event) => resolve(event.data);
          registration.active.postMessage({ keep: config.urls.page }, [channel.port2]);
        }),
    )
    .then((answer) => {
      if (answer && answer.kept) document.documentElement.dataset.gateKept = 'true';
    })
    .catch(() => {});
}

let lastTick = 0;

async function tick() {
  lastTick = Date.now();
  try {
    await refreshLists();
    if (!networkDown) {
      await upload();
      if (!material || Date.now() - material.fetched_at > MATERIAL_MS) await refreshMaterial();
    }
  } catch (e) {
    if (!(e instanceof NetworkDown)) console.error(e);
  }
  banner();
}

async function start() {
  canVerify = await ed25519Supported();
  if (material) await useMaterial(material);
  banner();
  showConflicts();
  const lookup = resultBox.dataset.result === 'lookup'; // a plate's answer waits for the attendant
  if (!lookup && !resultBox.classList.contains('is-idle')) {
    resultBox.classList.add('is-counting');
    resultTimer = setTimeout(idle, RESULT_MS);
  }
  field.focus({ preventScroll: lookup });
  if (lookup) window.scrollTo({ top: 0 }); // the answer and its buttons in view, the scanner still ready
  keepForOffline();
  try {
    await refreshMaterial();
  } catch (e) {
    if (!(e instanceof NetworkDown)) console.error(e);
  }
  await tick();
  // Every 20 s; while the network is down, a probe every 5 s so that the queue leaves soon.
  setInterval(() => {
    if (networkDown || Date.now() - lastTick >= LISTS_MS) tick();
  }, 5000);
  document.documentElement.dataset.gateReady = 'true';
}

// For the tests and the curious: what the page holds.
window.gateStation = { queue, material: () => material, banner, tick, upload, refreshMaterial };

start();
