// One EventSource for the whole console, shared by every page: events `parcel`, `line`,
// `gate` (and `resync` when this client fell behind). Reconnects with backoff when the
// browser gives up; pages reload their data on each (re)connection.

const TYPES = ["parcel", "line", "gate", "device", "resync"];
const handlers = new Map(); // type -> Set<fn>
const stateListeners = new Set();
let source = null;
let retryMs = 1000;
let retryTimer = null;
let wanted = false;
let up = false;
let checkSession = async () => true;

function emit(type, data) {
  for (const fn of handlers.get(type) || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(`live ${type} handler`, e);
    }
  }
}

function setUp(next) {
  if (up === next) return;
  up = next;
  for (const fn of stateListeners) fn(up);
}

function connect() {
  clearTimeout(retryTimer);
  if (!wanted) return;
  source = new EventSource("/api/events");
  source.onopen = () => {
    retryMs = 1000;
    setUp(true);
    emit("open", null);
  };
  source.onerror = async () => {
    setUp(false);
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    source.close();
    source = null;
    // Closed for good: maybe the session ended (the API then shows the login form).
    if (!(await checkSession())) return;
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
  for (const type of TYPES) {
    source.addEventListener(type, (ev) => {
      let data = ev.data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        // `resync` carries plain text.
      }
      emit(type, data);
    });
  }
}

/** Subscribe to an event type (`parcel`, `line`, `gate`, `resync`, or `open` on each
 * (re)connection); returns the unsubscribe function. */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

/** Call `fn(up)` whenever the connection goes up or down. */
export function onState(fn) {
  stateListeners.add(fn);
  fn(up);
}

/** Whether the live connection is up. */
export function isUp() {
  return up;
}

/** Open the connection (once). `sessionOk` answers whether to keep retrying. */
export function start(sessionOk) {
  if (sessionOk) checkSession = sessionOk;
  if (wanted) return;
  wanted = true;
  connect();
}

/** Close the connection (logout). */
export function stop() {
  wanted = false;
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  setUp(false);
}
