// The door-terminal kiosk (docs/terminals.md): pairs once, then shows its room's state, checks
// bookings in by PIN, sends heartbeats, and keeps check-ins made while the API cannot be reached
// in a queue that it uploads to /v1/terminal/sync when the network is back.

import { apiBase, signedFetch, REQUEST_TIMEOUT_MS } from "./signer.js";

const CREDENTIALS_KEY = "steward.kiosk.credentials";
const QUEUE_KEY = "steward.kiosk.queue";
const APP_VERSION = "kiosk-1";

const STATUS_EVERY_MS = 15_000;
const HEARTBEAT_EVERY_MS = 60_000;
const SYNC_EVERY_MS = 5_000;
const MAX_SYNC_ITEMS = 100;
const MAX_PIN_DIGITS = 8;
const PIN_IDLE_CLEAR_MS = 30_000;
const MESSAGE_CLEAR_MS = 60_000;

const STATE_LABELS = {
  free: "Available",
  busy: "In use",
  awaiting_check_in: "Check-in required",
};

const $ = (id) => document.getElementById(id);

const ui = {
  app: $("app"),
  pairing: $("pairing"),
  pairForm: $("pair-form"),
  pairInput: $("pairing-code"),
  pairButton: $("pair-button"),
  pairMessage: $("pair-message"),
  terminal: $("terminal"),
  roomName: $("room-name"),
  clockTime: $("clock-time"),
  clockDate: $("clock-date"),
  connection: $("connection"),
  roomState: $("room-state"),
  stateLabel: $("state-label"),
  stateDetail: $("state-detail"),
  current: $("current-booking"),
  next: $("next-booking"),
  window: $("check-in-window"),
  pinDisplay: $("pin-display"),
  pad: $("pad"),
  clearButton: $("clear-button"),
  deleteButton: $("delete-button"),
  checkInButton: $("check-in-button"),
  message: $("message"),
  queueCount: $("queue-count"),
};

const app = {
  creds: null,
  status: null,
  timeZone: undefined,
  pin: "",
  pinTimer: 0,
  messageTimer: 0,
  checkingIn: false,
  syncing: false,
  statusTimer: 0,
  statusInFlight: null,
};

// ---------------------------------------------------------------------------------------------
// Storage

function loadCredentials() {
  try {
    const c = JSON.parse(localStorage.getItem(CREDENTIALS_KEY) ?? "null");
    if (c && typeof c.tenant_id === "string" && typeof c.terminal_id === "string" && typeof c.secret === "string") {
      return c;
    }
  } catch {
    // Unreadable: pair again.
  }
  return null;
}

function saveCredentials({ tenant_id, terminal_id, room_id, secret }) {
  const creds = { tenant_id, terminal_id, room_id, secret };
  localStorage.setItem(CREDENTIALS_KEY, JSON.stringify(creds));
  return creds;
}

function loadQueue() {
  try {
    const q = JSON.parse(localStorage.getItem(QUEUE_KEY) ?? "[]");
    return Array.isArray(q) ? q : [];
  } catch {
    return [];
  }
}

function saveQueue(queue) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
  renderQueue();
}

function enqueue(item) {
  const queue = loadQueue();
  queue.push(item);
  saveQueue(queue);
}

// ---------------------------------------------------------------------------------------------
// Formatting in the room's time zone

function formatter(options) {
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: app.timeZone });
  } catch {
    // An unknown time zone: the device's own.
    return new Intl.DateTimeFormat(undefined, options);
  }
}

const formats = {};
function refreshFormats() {
  formats.time = formatter({ hour: "numeric", minute: "2-digit" });
  formats.day = formatter({ weekday: "short", day: "numeric", month: "short" });
  formats.date = formatter({ weekday: "long", day: "numeric", month: "long" });
  formats.dayKey = formatter({ year: "numeric", month: "2-digit", day: "2-digit" });
}
refreshFormats();

function parseTime(text) {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "10:30", or "Tue 24 Nov, 10:30" when it is not today in the room. */
function formatTime(text, now = new Date()) {
  const d = parseTime(text);
  if (!d) return "";
  const time = formats.time.format(d);
  return formats.dayKey.format(d) === formats.dayKey.format(now) ? time : `${formats.day.format(d)}, ${time}`;
}

function formatRange(start, end, now = new Date()) {
  const s = parseTime(start);
  const e = parseTime(end);
  if (!s || !e) return "";
  const sameDay = formats.dayKey.format(s) === formats.dayKey.format(e);
  return `${formatTime(start, now)} – ${sameDay ? formats.time.format(e) : formatTime(end, now)}`;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function showScreen(name) {
  ui.app.dataset.screen = name;
  ui.pairing.hidden = name !== "pairing";
  ui.terminal.hidden = name !== "terminal";
}

/** Shows an outcome for the person at the door; it goes after a minute, for the next person. */
function setMessage(text, kind = "info") {
  clearTimeout(app.messageTimer);
  ui.message.textContent = text;
  ui.message.dataset.kind = kind;
  if (text) app.messageTimer = setTimeout(() => setMessage(""), MESSAGE_CLEAR_MS);
}

function setOnline(online) {
  ui.connection.dataset.online = String(online);
  ui.connection.textContent = online ? "Online" : "Offline";
}

function renderQueue() {
  ui.queueCount.textContent = String(loadQueue().length);
}

function renderPin() {
  ui.pinDisplay.textContent = "●".repeat(app.pin.length);
  const n = app.pin.length;
  ui.pinDisplay.setAttribute(
    "aria-label",
    n === 0 ? "PIN, no digits entered" : `PIN, ${n} ${n === 1 ? "digit" : "digits"} entered`,
  );
  ui.pinDisplay.dataset.empty = String(n === 0);
}

function renderClock() {
  const now = new Date();
  ui.clockTime.textContent = formats.time.format(now);
  ui.clockDate.textContent = formats.date.format(now);
}

function bookingBlock(booking, now) {
  const box = document.createDocumentFragment();
  const title = document.createElement("p");
  title.className = "booking-title";
  title.textContent = booking.title || "Booked";
  const when = document.createElement("p");
  when.className = "booking-time";
  when.textContent = formatRange(booking.start, booking.end, now);
  box.append(title, when);
  if (booking.organiser_name) {
    const who = document.createElement("p");
    who.className = "booking-organiser";
    who.textContent = booking.organiser_name;
    box.append(who);
  }
  if (booking.status === "checked_in") {
    const badge = document.createElement("p");
    badge.className = "booking-badge";
    badge.textContent = "Checked in";
    box.append(badge);
  }
  return box;
}

function renderBooking(container, booking, emptyText, now) {
  container.replaceChildren();
  if (booking) {
    container.append(bookingBlock(booking, now));
  } else {
    const p = document.createElement("p");
    p.className = "booking-empty";
    p.textContent = emptyText;
    container.append(p);
  }
}

function stateDetail(status, now) {
  switch (status.state) {
    case "free":
      return status.free_until ? `Free until ${formatTime(status.free_until, now)}` : "Free for the rest of the day";
    case "busy":
      return status.current ? `Until ${formatTime(status.current.end, now)}` : "";
    case "awaiting_check_in": {
      // The window is the current booking's, or the next one's when the current is checked in
      // (or there is none).
      const booking = status.current && status.current.status !== "checked_in" ? status.current : status.next;
      const what = booking?.title ? `“${booking.title}”` : "this booking";
      return status.check_in_window
        ? `Check in ${what} by ${formatTime(status.check_in_window.closes, now)} or the room is released`
        : `Check in ${what} to keep the room`;
    }
    default:
      return "";
  }
}

function renderStatus(status) {
  app.status = status;
  const zone = status.room?.time_zone || undefined;
  if (zone !== app.timeZone) {
    app.timeZone = zone;
    refreshFormats();
  }
  const now = parseTime(status.now) ?? new Date();
  ui.roomName.textContent = status.room?.name ?? "";
  document.title = `${status.room?.name ?? "Room"} · Steward`;
  ui.roomState.dataset.state = status.state ?? "";
  ui.stateLabel.textContent = STATE_LABELS[status.state] ?? status.state ?? "";
  ui.stateDetail.textContent = stateDetail(status, now);
  renderBooking(ui.current, status.current, "No booking", now);
  renderBooking(ui.next, status.next, "Nothing else booked", now);
  if (status.check_in_window) {
    ui.window.hidden = false;
    ui.window.textContent = `Check-in open ${formatRange(status.check_in_window.opens, status.check_in_window.closes, now)}`;
  } else {
    ui.window.hidden = true;
    ui.window.textContent = "";
  }
  renderClock();
}

// ---------------------------------------------------------------------------------------------
// API

/** The problem of an error answer, whatever its body. */
async function problemOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON.
  }
  const problem = body && typeof body === "object" ? body : {};
  if (!problem.detail) {
    problem.detail = problem.message || problem.title || `The server answered ${response.status}.`;
  }
  return problem;
}

function isProblemType(problem, slug) {
  return problem.type === `urn:steward:problem:${slug}`;
}

/** A signed request; marks the connection online or offline by how it went. */
async function call(method, path, body) {
  try {
    const response = await signedFetch(app.creds, method, path, body);
    setOnline(true);
    return response;
  } catch (error) {
    setOnline(false);
    throw error;
  }
}

async function refreshStatus() {
  if (!app.creds) return;
  if (app.statusInFlight) return app.statusInFlight;
  app.statusInFlight = (async () => {
    try {
      const response = await call("GET", "/v1/terminal/status");
      if (response.ok) {
        renderStatus(await response.json());
        if (loadQueue().length > 0) void syncQueue();
      } else {
        const problem = await problemOf(response);
        if (response.status === 401) setMessage(`This terminal was refused: ${problem.detail}`, "error");
        console.warn("status", response.status, problem);
      }
    } catch (error) {
      console.warn("status failed", error);
    } finally {
      app.statusInFlight = null;
    }
  })();
  return app.statusInFlight;
}

function scheduleStatus() {
  clearTimeout(app.statusTimer);
  app.statusTimer = setTimeout(async () => {
    await refreshStatus();
    scheduleStatus();
  }, STATUS_EVERY_MS);
}

/** Refreshes now and restarts the 15 s rhythm from here. */
async function refreshSoon() {
  await refreshStatus();
  scheduleStatus();
}

async function heartbeat() {
  if (!app.creds) return;
  try {
    const response = await call("POST", "/v1/terminal/heartbeat", { app_version: APP_VERSION });
    if (!response.ok && response.status !== 204) console.warn("heartbeat", response.status);
  } catch (error) {
    console.warn("heartbeat failed", error);
  }
}

// ---------------------------------------------------------------------------------------------
// Pairing

async function pair(event) {
  event.preventDefault();
  const code = ui.pairInput.value.trim();
  if (code === "") {
    ui.pairMessage.textContent = "Enter the pairing code.";
    ui.pairInput.focus();
    return;
  }
  ui.pairButton.disabled = true;
  ui.pairMessage.textContent = "Pairing…";
  try {
    const response = await fetch(`${apiBase()}/v1/terminals/pair`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, application/problem+json" },
      body: JSON.stringify({ pairing_code: code }),
      cache: "no-store",
      credentials: "omit",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) {
      ui.pairMessage.textContent = (await problemOf(response)).detail;
      return;
    }
    const answer = await response.json();
    ui.pairInput.value = "";
    ui.pairMessage.textContent = "";
    start(saveCredentials(answer));
  } catch (error) {
    console.warn("pair failed", error);
    ui.pairMessage.textContent = "The server cannot be reached. Check the network and try again.";
  } finally {
    ui.pairButton.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// PIN pad and check-in

function touchPin() {
  clearTimeout(app.pinTimer);
  if (app.pin) {
    app.pinTimer = setTimeout(() => {
      app.pin = "";
      renderPin();
    }, PIN_IDLE_CLEAR_MS);
  }
}

function addDigit(digit) {
  if (app.pin.length >= MAX_PIN_DIGITS) return;
  app.pin += digit;
  renderPin();
  touchPin();
}

function clearPin() {
  app.pin = "";
  renderPin();
  touchPin();
}

function deleteDigit() {
  app.pin = app.pin.slice(0, -1);
  renderPin();
  touchPin();
}

/** The detail of an outside-check-in-window problem with its times in the room's time zone. */
function windowDetail(detail, window) {
  if (!window?.opens || !window?.closes) return sentence(detail);
  const opens = formatTime(window.opens);
  const closes = formatTime(window.closes);
  if (detail.includes(window.opens) && detail.includes(window.closes)) {
    return sentence(detail.replace(window.opens, opens).replace(window.closes, closes));
  }
  return `${sentence(detail)} Check-in is open ${formatRange(window.opens, window.closes)}.`;
}

function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

async function checkIn() {
  if (app.checkingIn) return;
  const pin = app.pin;
  if (pin === "") {
    setMessage("Enter your booking PIN first.", "error");
    return;
  }
  app.checkingIn = true;
  ui.checkInButton.disabled = true;
  clearPin();
  setMessage("Checking in…", "info");
  try {
    let response;
    try {
      response = await call("POST", "/v1/terminal/check-in", { pin });
    } catch (error) {
      console.warn("check-in failed at the network level", error);
      response = null;
    }
    if (response === null || [502, 503, 504].includes(response.status)) {
      enqueue({ id: crypto.randomUUID(), kind: "check_in", device_time: new Date().toISOString(), pin });
      setMessage("Saved offline; will sync when the network is back", "offline");
      return;
    }
    if (response.ok) {
      const booking = await response.json().catch(() => ({}));
      setMessage(`Checked in: ${booking.title || "your booking"}`, "success");
    } else {
      const problem = await problemOf(response);
      let text = sentence(problem.detail);
      if (isProblemType(problem, "outside-check-in-window")) {
        text = windowDetail(String(problem.detail), problem.check_in_window);
      } else if (isProblemType(problem, "pin-locked")) {
        const after = Number.parseInt(response.headers.get("retry-after") ?? problem.retry_after ?? "", 10);
        if (Number.isFinite(after)) {
          const minutes = Math.ceil(after / 60);
          text += after >= 120 ? ` Try again in ${minutes} minutes.` : ` Try again in ${after} seconds.`;
        }
      } else if (response.status === 404 && !problem.type?.startsWith("urn:steward:problem:")) {
        text = "There is no booking to check in to.";
      }
      setMessage(text, "error");
    }
  } finally {
    app.checkingIn = false;
    ui.checkInButton.disabled = false;
  }
  await refreshSoon();
}

// ---------------------------------------------------------------------------------------------
// Offline queue

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

async function syncQueue() {
  if (!app.creds || app.syncing) return;
  const batch = loadQueue()
    .slice()
    .sort((a, b) => String(a.device_time).localeCompare(String(b.device_time)))
    .slice(0, MAX_SYNC_ITEMS);
  if (batch.length === 0) return;
  app.syncing = true;
  try {
    let response;
    try {
      response = await call("POST", "/v1/terminal/sync", { items: batch });
    } catch (error) {
      console.warn("sync failed at the network level", error);
      return;
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      console.warn("sync refused", response.status, problem);
      if (![502, 503, 504].includes(response.status)) {
        setMessage(`Offline check-ins not synced yet: ${problem.detail}`, "error");
      }
      return;
    }
    const { results = [] } = await response.json();
    const done = new Set(results.map((r) => r.id));
    // Re-read: a check-in may have been queued while the upload was under way.
    saveQueue(loadQueue().filter((item) => !done.has(item.id)));
    const outcomes = results.map((r) => (r.detail ? `${r.outcome} (${r.detail})` : r.outcome));
    if (results.length > 0) {
      const good = results.every((r) => ["checked_in", "reinstated", "already_applied"].includes(r.outcome));
      setMessage(`Synced ${plural(results.length, "offline check-in", "offline check-ins")}: ${outcomes.join(", ")}`, good ? "success" : "error");
      await refreshSoon();
    }
  } finally {
    app.syncing = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function onKey(event) {
  if (app.creds === null || ui.terminal.hidden) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const onButton = event.target instanceof HTMLButtonElement;
  if (/^[0-9]$/.test(event.key)) {
    event.preventDefault();
    addDigit(event.key);
  } else if (event.key === "Backspace") {
    event.preventDefault();
    deleteDigit();
  } else if (event.key === "Escape") {
    clearPin();
  } else if (event.key === "Enter" && !onButton) {
    // On a focused button, Enter presses that button instead.
    event.preventDefault();
    void checkIn();
  }
}

let started = false;
function start(creds) {
  app.creds = creds;
  showScreen("terminal");
  renderPin();
  renderQueue();
  if (!started) {
    started = true;
    setInterval(renderClock, 1_000);
    setInterval(heartbeat, HEARTBEAT_EVERY_MS);
    setInterval(() => {
      if (loadQueue().length > 0) void syncQueue();
    }, SYNC_EVERY_MS);
  }
  renderClock();
  void heartbeat();
  void refreshSoon();
  if (loadQueue().length > 0) void syncQueue();
}

function init() {
  ui.pairForm.addEventListener("submit", pair);
  ui.pad.addEventListener("click", (event) => {
    const key = event.target.closest("button[data-digit]");
    if (key) addDigit(key.dataset.digit);
  });
  // A tap must not move the focus onto a pad key: a physical keyboard's Enter would then press
  // that key instead of checking in. Keyboard users still reach every key with Tab.
  for (const button of document.querySelectorAll(".pad button, #check-in-button")) {
    button.addEventListener("mousedown", (event) => event.preventDefault());
  }
  ui.clearButton.addEventListener("click", clearPin);
  ui.deleteButton.addEventListener("click", deleteDigit);
  ui.checkInButton.addEventListener("click", () => void checkIn());
  document.addEventListener("keydown", onKey);
  window.addEventListener("online", () => void syncQueue());
  window.addEventListener("offline", () => setOnline(false));
  // Another tab of the same kiosk changed the queue.
  window.addEventListener("storage", (event) => {
    if (event.key === QUEUE_KEY) renderQueue();
  });

  const creds = loadCredentials();
  if (creds) {
    start(creds);
  } else {
    showScreen("pairing");
    ui.pairInput.focus();
  }
}

init();
