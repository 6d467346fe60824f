// The kiosk page in headless Chromium, driven by a parent process over stdio (tests/tests/kiosk.rs).
//
// Environment: KIOSK_URL, PAIRING_CODE, PIN_ONLINE, PIN_OFFLINE, ROOM_NAME, SCREENSHOT (absolute
// path of the PNG to write), TIMEOUT_MS (per step, default 30000).
//
// Protocol on stdout, one line each (everything else goes to stderr):
//   @@step <name>      a step passed
//   @@stop-gateway     the parent stops the API, then answers "ok" on stdin
//   @@start-gateway    the parent starts the API again, then answers "ok" on stdin
//   @@done             all passed (exit 0)
//   @@failed <reason>  a step failed (exit 1)

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const GLOBAL_TIMEOUT_MS = 120_000;
const CHROMIUM = "/usr/bin/chromium";

const log = (...args) => console.error("[kiosk.test]", ...args);
const say = (line) => process.stdout.write(`${line}\n`);

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

// Lines from the parent, read as they come.
const stdinLines = [];
const stdinWaiters = [];
let stdinClosed = false;
const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  const waiter = stdinWaiters.shift();
  if (waiter) waiter.resolve(line.trim());
  else stdinLines.push(line.trim());
});
input.on("close", () => {
  stdinClosed = true;
  for (const waiter of stdinWaiters.splice(0)) waiter.reject(new Error("stdin closed while waiting for the parent"));
});

function nextLine(timeoutMs) {
  if (stdinLines.length > 0) return Promise.resolve(stdinLines.shift());
  if (stdinClosed) return Promise.reject(new Error("stdin closed while waiting for the parent"));
  return new Promise((resolve, reject) => {
    const waiter = {};
    const timer = setTimeout(() => {
      stdinWaiters.splice(stdinWaiters.indexOf(waiter), 1);
      reject(new Error(`no answer from the parent within ${timeoutMs} ms`));
    }, timeoutMs);
    waiter.resolve = (line) => {
      clearTimeout(timer);
      resolve(line);
    };
    waiter.reject = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    stdinWaiters.push(waiter);
  });
}

/** Prints `signal` and waits for the parent's "ok". */
async function askParent(signal, timeoutMs) {
  say(signal);
  const line = await nextLine(timeoutMs);
  if (line !== "ok") throw new Error(`the parent answered ${JSON.stringify(line)} to ${signal}, not "ok"`);
}

/** What the page shows, for failure messages. */
async function snapshot(page) {
  try {
    return await page.evaluate(() => {
      const get = (id) => document.querySelector(`[data-testid="${id}"]`);
      return {
        room: get("room-name")?.textContent?.trim(),
        state: get("room-state")?.dataset.state,
        message: get("message")?.textContent?.trim(),
        pair_message: get("pair-message")?.textContent?.trim(),
        queue: get("queue-count")?.textContent?.trim(),
        online: get("connection")?.dataset.online,
      };
    });
  } catch (error) {
    return { unreadable: String(error) };
  }
}

/** Waits until `predicate(arg)`, evaluated in the page, holds. */
// axe-core in the page as it stands: any serious or critical violation of WCAG 2.1 A and AA
// fails the test. Prints "@@axe <state> <rules passed> <violations>" for the figures.
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
async function accessible(page, state) {
  await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  for (const v of results.violations) log(`axe ${state}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (blocking.length > 0) {
    throw new Error(`${state}: ${blocking.map((v) => `${v.impact} ${v.id} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`).join("; ")}`);
  }
  say(`@@axe ${state} ${results.passes.length} ${results.violations.length}`);
  say(`@@step accessible-${state}`);
}

async function waitFor(page, description, predicate, arg, timeoutMs) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: timeoutMs, polling: 100 });
  } catch (error) {
    const seen = await snapshot(page);
    throw new Error(`${description}: not within ${timeoutMs} ms; page shows ${JSON.stringify(seen)} (${error.message.split("\n")[0]})`);
  }
}

async function typePin(page, pin) {
  for (const digit of pin) {
    await page.getByRole("button", { name: digit, exact: true }).click();
  }
  const shown = await page.getByTestId("pin-display").textContent();
  if ([...(shown ?? "")].length !== pin.length) {
    throw new Error(`the PIN display shows ${JSON.stringify(shown)} after ${pin.length} digits`);
  }
}

async function run(state) {
  const url = env("KIOSK_URL");
  const pairingCode = env("PAIRING_CODE");
  const pinOnline = env("PIN_ONLINE");
  const pinOffline = env("PIN_OFFLINE");
  const roomName = env("ROOM_NAME");
  const screenshot = env("SCREENSHOT");
  const timeoutMs = Number.parseInt(env("TIMEOUT_MS", "30000"), 10);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error("TIMEOUT_MS is not a positive number");
  if (!path.isAbsolute(screenshot)) throw new Error("SCREENSHOT is not an absolute path");
  for (const [name, pin] of [["PIN_ONLINE", pinOnline], ["PIN_OFFLINE", pinOffline]]) {
    if (!/^[0-9]{1,8}$/.test(pin)) throw new Error(`${name} is not 1 to 8 digits`);
  }

  state.userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "steward-kiosk-"));
  state.context = await chromium.launchPersistentContext(state.userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 800 },
    timeout: timeoutMs,
  });
  state.context.setDefaultTimeout(timeoutMs);
  const page = state.context.pages()[0] ?? (await state.context.newPage());
  page.on("console", (message) => log(`console.${message.type()}:`, message.text()));
  page.on("pageerror", (error) => log("page error:", error.message));
  page.on("requestfailed", (request) => log("request failed:", request.method(), request.url(), request.failure()?.errorText));

  // 1. Pair.
  await page.goto(url, { waitUntil: "load" });
  await accessible(page, "unpaired");
  await page.getByLabel("Pairing code").fill(pairingCode);
  await page.getByRole("button", { name: "Pair", exact: true }).click();
  await waitFor(
    page,
    `the room ${JSON.stringify(roomName)} awaiting its check-in`,
    (name) =>
      document.querySelector('[data-testid="room-name"]')?.textContent?.trim() === name &&
      document.querySelector('[data-testid="room-state"]')?.dataset.state === "awaiting_check_in",
    roomName,
    timeoutMs,
  );
  say("@@step paired");
  await accessible(page, "paired");

  // 2. Screenshot.
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true, timeout: timeoutMs });
  say("@@step screenshot");

  // 3. Check in online.
  await typePin(page, pinOnline);
  await page.getByRole("button", { name: "Check in", exact: true }).click();
  await waitFor(
    page,
    'the message "Checked in"',
    () => document.querySelector('[data-testid="message"]')?.textContent?.includes("Checked in"),
    undefined,
    timeoutMs,
  );
  say("@@step checked-in-online");
  await accessible(page, "checked-in");

  // 4. The parent stops the API.
  await askParent("@@stop-gateway", timeoutMs);
  say("@@step gateway-stopped");

  // 5. Check in offline: queued.
  await typePin(page, pinOffline);
  await page.getByRole("button", { name: "Check in", exact: true }).click();
  await waitFor(
    page,
    "one check-in queued offline",
    () =>
      document.querySelector('[data-testid="queue-count"]')?.textContent?.trim() === "1" &&
      /offline/i.test(document.querySelector('[data-testid="message"]')?.textContent ?? ""),
    undefined,
    timeoutMs,
  );
  say("@@step queued-offline");
  await accessible(page, "offline");

  // 6. The parent starts the API again.
  await askParent("@@start-gateway", timeoutMs);
  say("@@step gateway-started");

  // 7. The queue syncs by itself.
  await waitFor(
    page,
    "the offline check-in synced as checked_in",
    () =>
      document.querySelector('[data-testid="queue-count"]')?.textContent?.trim() === "0" &&
      (document.querySelector('[data-testid="message"]')?.textContent ?? "").includes("checked_in"),
    undefined,
    timeoutMs,
  );
  say("@@step synced");
}

async function cleanup(state) {
  if (state.context) {
    const closing = state.context.close().catch((error) => log("closing the browser:", error.message));
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    state.context = null;
  }
  if (state.userDataDir) {
    try {
      fs.rmSync(state.userDataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 });
    } catch (error) {
      log("removing the profile:", error.message);
    }
    state.userDataDir = null;
  }
}

async function main() {
  const state = { context: null, userDataDir: null };
  let finished = false;
  const finish = async (code, line) => {
    if (finished) return;
    finished = true;
    clearTimeout(killer);
    say(line);
    await cleanup(state);
    input.close();
    process.exit(code);
  };
  const killer = setTimeout(() => {
    void finish(1, `@@failed global timeout of ${GLOBAL_TIMEOUT_MS / 1000} s`);
    // Whatever happens while closing, stop.
    setTimeout(() => process.exit(1), 15_000).unref();
  }, GLOBAL_TIMEOUT_MS);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => void finish(1, `@@failed ${signal}`));
  }
  try {
    await run(state);
    await finish(0, "@@done");
  } catch (error) {
    log(error?.stack ?? String(error));
    const reason = String(error?.message ?? error)
      .replace(/\u001b\[[0-9;]*[A-Za-z]/g, "") // Playwright's call logs are coloured
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 1000);
    await finish(1, `@@failed ${reason}`);
  }
}

await main();
