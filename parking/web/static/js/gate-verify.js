// The offline pass verifier of the gate page: the rules of parking/passes/offline.py, in the
// browser, with WebCrypto Ed25519. It must give the same answer as the Python verifier on every
// token (tests/browser/test_gate_page.py holds it to one shared table). Pure functions, no page.
//
// Token: "P1." + base64url(payload) + "." + base64url(signature), no padding. The payload is the
// canonical CBOR array [version, kid, booking_id, garage_id, plate, not_before, not_after, nonce].
// A monthly pass: "M1." + the same envelope, the payload [version, kid, subscription_id, garage_id,
// plate, not_before, not_after, nonce, span, nights]; night j is valid in
// [not_before + j*86400, ... + span) when bit j of the mask `nights` is set (offline.py).

export const PREFIX = 'P1.';
export const SUBSCRIPTION_PREFIX = 'M1.';
export const DAY = 86400;
export const MAX_NIGHTS = 31;
export const MAX_TOKEN_LENGTH = 400;
export const MALFORMED = 'malformed';
export const BAD_SIGNATURE = 'bad_signature';
export const UNKNOWN_KEY = 'unknown_key';
export const WRONG_GARAGE = 'wrong_garage';
export const NOT_YET_VALID = 'not_yet_valid';
export const EXPIRED = 'expired';
export const REVOKED = 'revoked';
export const PLATE_MISMATCH = 'plate_mismatch';
export const ALREADY_INSIDE = 'already_inside';
export const NOT_INSIDE = 'not_inside';
export const NOT_TONIGHT = 'not_tonight';

const MAX_INT = (1n << 63n) - 1n;
const B64_ALPHABET = /^[A-Za-z0-9_-]+$/;

class TokenError extends Error {}

// -- base64url, strict like offline.b64decode ------------------------------------------------------

export function b64encode(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function b64decode(text) {
  if (typeof text !== 'string' || !text || !B64_ALPHABET.test(text) || text.length % 4 === 1) {
    throw new TokenError('not base64url');
  }
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary;
  try {
    binary = atob(padded);
  } catch (e) {
    throw new TokenError('not base64url');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (b64encode(bytes) !== text) throw new TokenError('not canonical base64url'); // stray trailing bits
  return bytes;
}

// -- the CBOR of a pass payload -------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a BOM, as Python does
const utf8Encode = new TextEncoder();

function readHead(buf, pos) {
  if (pos >= buf.length) throw new TokenError('truncated');
  const initial = buf[pos];
  const major = initial >> 5;
  const info = initial & 31;
  let value;
  let next = pos + 1;
  if (info < 24) {
    value = BigInt(info);
  } else if (info <= 27) {
    const size = 1 << (info - 24);
    if (next + size > buf.length) throw new TokenError('truncated');
    value = 0n;
    for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(buf[next + i]);
    next += size;
  } else {
    throw new TokenError('indefinite or reserved'); // offline.py decodes with allow_indefinite=False
  }
  return { major, value, next };
}

function readItem(buf, pos) {
  const head = readHead(buf, pos);
  if (head.major === 0) return { value: head.value, next: head.next }; // unsigned integer
  if (head.major === 2 || head.major === 3) {
    if (head.value > BigInt(buf.length - head.next)) throw new TokenError('truncated');
    const end = head.next + Number(head.value);
    const raw = buf.slice(head.next, end);
    if (head.major === 2) return { value: raw, next: end };
    try {
      return { value: utf8.decode(raw), next: end };
    } catch (e) {
      throw new TokenError('bad utf-8');
    }
  }
  // Negative integers, arrays, maps, tags, floats, booleans: no field of a pass is one of them.
  throw new TokenError('unexpected item');
}

function head(major, value) {
  const v = BigInt(value);
  const m = major << 5;
  if (v < 24n) return [m | Number(v)];
  const sizes = [
    [0x100n, 24, 1],
    [0x10000n, 25, 2],
    [0x100000000n, 26, 4],
    [1n << 64n, 27, 8],
  ];
  for (const [limit, info, size] of sizes) {
    if (v < limit) {
      const out = [m | info];
      for (let i = size - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
      return out;
    }
  }
  throw new TokenError('integer too large');
}

export function encodePayload(items) {
  const out = head(4, items.length);
  for (const item of items) {
    if (typeof item === 'bigint') out.push(...head(0, item));
    else if (typeof item === 'string') {
      const bytes = utf8Encode.encode(item);
      out.push(...head(3, bytes.length), ...bytes);
    } else if (item instanceof Uint8Array) out.push(...head(2, item.length), ...item);
    else throw new TokenError('cannot encode');
  }
  return new Uint8Array(out);
}

const codePoints = (s) => [...s].length;
const isInt = (v, low = 0n, high = MAX_INT) => typeof v === 'bigint' && v >= low && v <= high;

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The CBOR items, payload and signature of a token with `prefix` and `length` items (offline._envelope). */
function envelope(token, prefix, length) {
  if (typeof token !== 'string' || codePoints(token) > MAX_TOKEN_LENGTH || !token.startsWith(prefix)) {
    throw new TokenError('not a pass');
  }
  const parts = token.slice(prefix.length).split('.');
  if (parts.length !== 2) throw new TokenError('not two parts');
  const payload = b64decode(parts[0]);
  const signature = b64decode(parts[1]);
  if (signature.length !== 64) throw new TokenError('signature length');
  const top = readHead(payload, 0);
  if (top.major !== 4 || top.value !== BigInt(length)) throw new TokenError('not a pass payload');
  const items = [];
  let pos = top.next;
  for (let i = 0; i < length; i++) {
    const item = readItem(payload, pos);
    items.push(item.value);
    pos = item.next;
  }
  // One byte string per pass: anything that is not exactly what the server writes is not a pass.
  if (!sameBytes(encodePayload(items), payload)) throw new TokenError('not canonical CBOR');
  return { items, payload, signature };
}

const goodHead = (version, kid, id, garageId, plate, notBefore, notAfter, nonce) =>
  isInt(version, 1n, 1n) &&
  typeof kid === 'string' &&
  codePoints(kid) >= 1 &&
  codePoints(kid) <= 32 &&
  isInt(id, 1n) &&
  isInt(garageId, 1n) &&
  typeof plate === 'string' &&
  codePoints(plate) >= 1 &&
  codePoints(plate) <= 16 &&
  isInt(notBefore) &&
  isInt(notAfter) &&
  notBefore < notAfter &&
  nonce instanceof Uint8Array &&
  nonce.length === 8;

/** {claims, payload, signature} of a well-formed token; throws TokenError otherwise. */
export function parse(token) {
  const { items, payload, signature } = envelope(token, PREFIX, 8);
  const [version, kid, bookingId, garageId, plate, notBefore, notAfter, nonce] = items;
  if (!goodHead(version, kid, bookingId, garageId, plate, notBefore, notAfter, nonce)) {
    throw new TokenError('bad payload fields');
  }
  const claims = { version, kid, bookingId, garageId, plate, notBefore, notAfter, nonce };
  return { claims, payload, signature };
}

/** As parse(), for a monthly pass: claims carry subscriptionId, span and the nights mask. */
export function parseSubscription(token) {
  const { items, payload, signature } = envelope(token, SUBSCRIPTION_PREFIX, 10);
  const [version, kid, subscriptionId, garageId, plate, notBefore, notAfter, nonce, span, nights] = items;
  if (
    !(
      goodHead(version, kid, subscriptionId, garageId, plate, notBefore, notAfter, nonce) &&
      isInt(span, 1n, BigInt(2 * DAY)) &&
      isInt(nights, 1n, (1n << BigInt(MAX_NIGHTS)) - 1n)
    )
  ) {
    throw new TokenError('bad payload fields');
  }
  const claims = { version, kid, subscriptionId, garageId, plate, notBefore, notAfter, nonce, span, nights };
  return { claims, payload, signature };
}

export const isSubscriptionToken = (token) => typeof token === 'string' && token.startsWith(SUBSCRIPTION_PREFIX);

/** The night (days after the first) whose validity holds `at`, booked or not; null between nights. */
export function nightAt(claims, at) {
  const offset = at - Number(claims.notBefore);
  if (offset < 0) return null;
  const day = Math.floor(offset / DAY);
  for (const j of [day, day - 1]) {
    if (j >= 0 && j < MAX_NIGHTS && offset - j * DAY < Number(claims.span)) return j;
  }
  return null;
}

export const admits = (claims, night) => ((claims.nights >> BigInt(night)) & 1n) === 1n;

/** Unix seconds of the next booked night's start after `at` (for "come back at ..."), or null. */
export function nextNightStart(claims, at) {
  const day = Math.max(0, Math.floor((at - Number(claims.notBefore)) / DAY));
  for (let j = day; j < MAX_NIGHTS; j++) {
    const start = Number(claims.notBefore) + j * DAY;
    if (admits(claims, j) && start > at) return start;
  }
  return null;
}

// -- keys ------------------------------------------------------------------------------------------

// The public test key and signature of RFC 8032 (test 1, empty message): a browser that verifies
// it really has Ed25519 in WebCrypto.
const RFC8032_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC8032_SIG =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
const hex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));

let supported = null;

/** True when this browser verifies Ed25519 in WebCrypto (never guessed: a real test vector). */
export async function ed25519Supported() {
  if (supported !== null) return supported;
  try {
    if (!globalThis.crypto || !crypto.subtle) return (supported = false); // plain http on a LAN
    const key = await crypto.subtle.importKey('raw', hex(RFC8032_KEY), { name: 'Ed25519' }, false, ['verify']);
    supported = await crypto.subtle.verify({ name: 'Ed25519' }, key, hex(RFC8032_SIG), new Uint8Array(0));
  } catch (e) {
    supported = false;
  }
  return supported;
}

const toGarageId = (v) => (Number.isInteger(v) && v >= 1 ? BigInt(v) : null);

/** The public keys of a JWKS document ({garage_id, keys: [...]}), as offline.load_jwks reads it. */
export async function loadJwks(document) {
  if (!document || typeof document !== 'object' || !Array.isArray(document.keys)) {
    throw new Error("not a JWKS document: no 'keys' list");
  }
  const garageId = toGarageId(document.garage_id);
  const keys = new Map();
  for (const jwk of document.keys) {
    if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') continue;
    if (typeof jwk.kid !== 'string' || typeof jwk.x !== 'string') continue;
    try {
      const raw = b64decode(jwk.x);
      if (raw.length !== 32) continue;
      const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
      keys.set(jwk.kid, { kid: jwk.kid, garageId, key });
    } catch (e) {
      continue;
    }
  }
  return keys;
}

/** The booking ids of a revocation list, as BigInts. */
export function loadRevocations(document) {
  if (!document || !Array.isArray(document.booking_ids)) throw new Error('not a revocation list');
  return new Set(document.booking_ids.filter((i) => Number.isInteger(i) && i >= 1).map((i) => BigInt(i)));
}

/** Unix seconds of an ISO instant with an offset (offline.parse_instant), else null. */
function instant(text) {
  if (typeof text !== 'string' || !/(Z|[+-]\d\d:?\d\d)$/i.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Subscription id (BigInt) → [[start, end], ...] of its revoked nights, from a revocation list. */
export function loadRevokedNights(document) {
  const nights = new Map();
  const entries = document && Array.isArray(document.subscription_nights) ? document.subscription_nights : [];
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object' || !Number.isInteger(entry.subscription_id) || entry.subscription_id < 1) continue;
    const start = instant(entry.not_before);
    const end = instant(entry.not_after);
    if (start === null || end === null) continue;
    const id = BigInt(entry.subscription_id);
    if (!nights.has(id)) nights.set(id, []);
    nights.get(id).push([start, end]);
  }
  return nights;
}

// -- deciding --------------------------------------------------------------------------------------

const decision = (reason, claims = null) => ({ result: reason ? 'rejected' : 'accepted', reason, claims });

async function genuine(key, signature, payload) {
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, key.key, signature, payload);
  } catch (e) {
    return false;
  }
}

/**
 * What a day pass and a monthly pass check alike, in this order: a key of this garage, a genuine
 * signature, this garage, and not before its start. The refusal, or null when all hold.
 */
async function signedHere({ claims, payload, signature }, keys, garageId, at) {
  const key = keys.get(claims.kid);
  if (!key || (key.garageId !== null && key.garageId !== claims.garageId)) return decision(UNKNOWN_KEY, claims);
  if (!(await genuine(key, signature, payload))) return decision(BAD_SIGNATURE, claims);
  if (garageId !== null && garageId !== undefined && claims.garageId !== BigInt(garageId)) {
    return decision(WRONG_GARAGE, claims);
  }
  if (Number(at) < Number(claims.notBefore)) return decision(NOT_YET_VALID, claims);
  return null;
}

/** Entry checks of a night's pass beyond the shared ones: its booking is not revoked. */
function nightEntry(claims, now, { revoked }) {
  return revoked.has(claims.bookingId) ? REVOKED : null;
}

/**
 * Entry checks of a monthly pass beyond the shared ones: the time of a night it booked
 * (`not_tonight` when the night is not one of them, `not_yet_valid` between nights), and that night
 * not revoked (`revokedNights`: subscription id → [start, end) pairs).
 */
function monthEntry(claims, now, { revokedNights }) {
  const night = nightAt(claims, now);
  if (night === null) {
    const shift = BigInt(Math.floor((now - Number(claims.notBefore)) / DAY) + 1);
    return claims.nights >> shift ? NOT_YET_VALID : EXPIRED;
  }
  if (!admits(claims, night)) return NOT_TONIGHT;
  for (const [start, end] of revokedNights.get(claims.subscriptionId) || []) {
    if (start <= now && now < end) return REVOKED;
  }
  return null;
}

/** The pass kinds, by token prefix, as offline.TOKEN_KINDS: a night (P1) and a month (M1). */
const TOKEN_KINDS = new Map([
  [PREFIX, { parse, entry: nightEntry, kind: 'booking' }],
  [SUBSCRIPTION_PREFIX, { parse: parseSubscription, entry: monthEntry, kind: 'subscription' }],
]);

/**
 * The gate's decision on a token of any kind from public material, as offline.verify: format, key,
 * signature, garage, time window, revocation, plate. `at` is unix seconds; `revoked` a Set of
 * BigInt booking ids; `revokedNights` the monthly passes' revoked nights.
 */
export async function verify(
  token,
  keys,
  { garageId, at, revoked = new Set(), direction = 'in', plateSeen = null, revokedNights = new Map() },
) {
  const prefix = typeof token === 'string' ? token.slice(0, PREFIX.length) : '';
  const kind = TOKEN_KINDS.get(prefix) || TOKEN_KINDS.get(PREFIX);
  let parsed;
  try {
    parsed = kind.parse(token);
  } catch (e) {
    if (e instanceof TokenError) return decision(MALFORMED);
    throw e;
  }
  const { claims } = parsed;
  if (kind.kind === 'subscription') claims.kind = 'subscription';
  const refused = await signedHere(parsed, keys, garageId, at);
  if (refused) return refused;
  const now = Number(at);
  if (direction === 'in') {
    if (now >= Number(claims.notAfter)) return decision(EXPIRED, claims);
    const reason = kind.entry(claims, now, { revoked, revokedNights });
    if (reason) return decision(reason, claims);
  }
  if (plateSeen !== null && plateSeen !== undefined && plateSeen !== claims.plate) {
    return decision(PLATE_MISMATCH, claims);
  }
  return decision(null, claims);
}

/** A monthly pass: judged by the one verify(); the name stays for callers that say which. */
export const verifySubscription = (token, keys, options) => verify(token, keys, options);

/** The queue key of a pass's claims: its booking, or its subscription for a monthly pass. */
export const holderOf = (claims) =>
  claims.kind === 'subscription' ? { subscription: claims.subscriptionId.toString() } : { booking: claims.bookingId.toString() };

/**
 * Anti-passback against this device's own queued scans: the last scan it let through for the
 * booking says whether the car is inside. Without one, the device does not know and lets it pass
 * (the server judges the queue again when it is uploaded).
 */
export function passback(holder, direction, queue) {
  // `holder` is {booking: id} or {subscription: id} (holderOf), or a bare booking id.
  const [field, id] = typeof holder === 'object' && holder !== null ? Object.entries(holder)[0] : ['booking', holder];
  let last = null;
  for (const item of queue) {
    if (item[field] != null && String(item[field]) === String(id) && item.offline_result === 'accepted') last = item;
  }
  if (!last) return null;
  if (direction === 'in' && last.direction === 'in') return ALREADY_INSIDE;
  if (direction === 'out' && last.direction === 'out') return NOT_INSIDE;
  return null;
}

/** verify() and then passback(): the whole offline decision of the page. */
export async function checkOffline(
  token,
  keys,
  { garageId, at, revoked, revokedNights, direction, queue = [], plateSeen = null },
) {
  const found = await verify(token, keys, { garageId, at, revoked, revokedNights, direction, plateSeen });
  if (found.result !== 'accepted') return found;
  const reason = passback(holderOf(found.claims), direction, queue);
  return reason ? decision(reason, found.claims) : found;
}
