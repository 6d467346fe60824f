// The kiosk page in headless Chromium, driven by a parent process over stdio
// (tests/tests/e2e/kiosk.rs), with the line protocol of harness.mjs.
//
// Environment: KIOSK_URL, PAIRING_CODE, PIN_ONLINE, PIN_OFFLINE, ROOM_NAME, SCREENSHOT (absolute
// path of the PNG to write), TIMEOUT_MS (per step, default 30000). It asks the parent to
// `stop-gateway` and `start-gateway` (answered "ok").

import fs from "node:fs";
import path from "node:path";
import { accessible, ask, browser, env, run, step, timeoutMs } from "./harness.mjs";

/** Asks the parent to do `what` and waits for its "ok". */
async function parent(what) {
  const answer = await ask(what);
  if (answer !== "ok") throw new Error(`the parent answered ${JSON.stringify(answer)} to ${what}, not "ok"`);
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

async function kiosk() {
  const url = env("KIOSK_URL");
  const pairingCode = env("PAIRING_CODE");
  const pinOnline = env("PIN_ONLINE");
  const pinOffline = env("PIN_OFFLINE");
  const roomName = env("ROOM_NAME");
  const screenshot = env("SCREENSHOT");
  if (!path.isAbsolute(screenshot)) throw new Error("SCREENSHOT is not an absolute path");
  for (const [name, pin] of [["PIN_ONLINE", pinOnline], ["PIN_OFFLINE", pinOffline]]) {
    if (!/^[0-9]{1,8}$/.test(pin)) throw new Error(`${name} is not 1 to 8 digits`);
  }
  const page = await browser();

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
  step("paired");
  await accessible(page, "paired");

  // 2. Screenshot.
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true, timeout: timeoutMs });
  step("screenshot");

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
  step("checked-in-online");
  await accessible(page, "checked-in");

  // 4. The parent stops the API.
  await parent("stop-gateway");
  step("gateway-stopped");

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
  step("queued-offline");
  await accessible(page, "offline");

  // 6. The parent starts the API again.
  await parent("start-gateway");
  step("gateway-started");

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
  step("synced");
}

await run(kiosk);
