// What every browser test shares: Debian's chromium launched headless with a fresh profile,
// axe-core on a page's state, and the line protocol with the Rust test that runs the script.
//
// Protocol on stdout, one line each (everything else goes to stderr):
//   @@step <name>        a step passed
//   @@axe <state> <rules passed> <violations>   axe-core's figures (none serious or critical)
//   @@ask <what>         the parent does something (stops the gateway…), then answers one line
//   @@done               all passed (exit 0)
//   @@failed <reason>    a step failed (exit 1)

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { CHROMIUM, FLAGS } from "../chromium.mjs";

export const log = (...args) => console.error(`[${path.basename(process.argv[1] ?? "test")}]`, ...args);
export const say = (line) => process.stdout.write(`${line}\n`);
export const step = (name) => say(`@@step ${name}`);

export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

/** The per-step timeout (TIMEOUT_MS, default 30 s). */
export const timeoutMs = (() => {
  const value = Number.parseInt(process.env.TIMEOUT_MS ?? "30000", 10);
  if (!Number.isFinite(value) || value <= 0) throw new Error("TIMEOUT_MS is not a positive number");
  return value;
})();

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

function nextLine() {
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

/** Asks the parent to do `what` and answers its one-line reply. */
export async function ask(what) {
  say(`@@ask ${what}`);
  return nextLine();
}

const profiles = [];
const contexts = [];
// What the page's Content-Security-Policy refused, in any browser of the script: a violation
// fails the next accessibility check (every state a script looks at has one).
const refused = [];

/** A browser of its own (a fresh profile): its first page, logging to stderr. */
export async function browser({ viewport = { width: 1280, height: 800 }, locale, timezoneId } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "steward-browser-"));
  profiles.push(userDataDir);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport,
    timeout: timeoutMs,
    ...(locale ? { locale } : {}),
    ...(timezoneId ? { timezoneId } : {}),
  });
  contexts.push(context);
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    log(`console.${message.type()}:`, message.text());
    if (message.text().includes("Content Security Policy")) refused.push(message.text());
  });
  page.on("pageerror", (error) => log("page error:", error.message));
  page.on("requestfailed", (request) => log("request failed:", request.method(), request.url(), request.failure()?.errorText));
  return page;
}

// axe-core in the page as it stands: any serious or critical violation of WCAG 2.1 A and AA
// fails the test. Prints "@@axe <state> <rules passed> <violations>" for the figures.
// Evaluated through the DevTools protocol rather than added as a script tag, which the app's
// Content-Security-Policy (script-src 'self') rightly refuses: the page is tested as served.
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export async function accessible(page, state) {
  if (refused.length > 0) throw new Error(`${state}: the Content-Security-Policy refused: ${refused.join(" | ")}`);
  await page.evaluate(AXE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  for (const v of results.violations) log(`axe ${state}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (blocking.length > 0) {
    throw new Error(
      `${state}: ${blocking.map((v) => `${v.impact} ${v.id} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`).join("; ")}`,
    );
  }
  say(`@@axe ${state} ${results.passes.length} ${results.violations.length}`);
  step(`accessible-${state}`);
}

/** A screenshot of the page as it stands, `<name>.png` in SCREENSHOTS (the Rust test's folder,
 * which `make screenshots` copies into docs/screenshots). */
export async function screenshot(page, name) {
  const folder = env("SCREENSHOTS");
  fs.mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: path.join(folder, `${name}.png`), fullPage: false });
  step(`screenshot-${name}`);
}

/** Throws unless `actual` equals `expected`, saying what was seen. */
export function same(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, saw ${JSON.stringify(actual)}`);
  }
}

async function cleanup() {
  for (const context of contexts.splice(0)) {
    const closing = context.close().catch((error) => log("closing the browser:", error.message));
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  for (const dir of profiles.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 });
    } catch (error) {
      log("removing the profile:", error.message);
    }
  }
}

/** Runs `test`, and stops by itself after `limitMs` whatever happens. */
export async function run(test, limitMs = 120_000) {
  let finished = false;
  const finish = async (code, line) => {
    if (finished) return;
    finished = true;
    clearTimeout(killer);
    say(line);
    await cleanup();
    input.close();
    process.exit(code);
  };
  const killer = setTimeout(() => {
    void finish(1, `@@failed global timeout of ${limitMs / 1000} s`);
    setTimeout(() => process.exit(1), 15_000).unref();
  }, limitMs);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => void finish(1, `@@failed ${signal}`));
  }
  try {
    await test();
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
