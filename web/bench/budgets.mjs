// make bench's measures of the web app against a running local stack with the demo data:
// the JavaScript and CSS the first page loads, gzipped, against the 150 kB budget; and
// Lighthouse 12.2.3's performance and accessibility scores with Largest Contentful Paint on the
// sign-in, find-a-room and my-bookings pages (its default: a mid-range phone on a slow 4G
// network, simulated), against the targets 90, 100 and 2.5 s. Prints a line per measure and
// writes them as JSON for infra/bench/report.py.
//
//   node budgets.mjs <base URL> <out.json>
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import puppeteer from "puppeteer-core";
import { startFlow } from "lighthouse";
import { CHROMIUM, FLAGS } from "../chromium.mjs";

const [base, out] = process.argv.slice(2);
if (!base || !out) throw new Error("usage: node budgets.mjs <base URL> <out.json>");
// The demo's owner: one organisation, so the sign-in goes straight to the app.
const MEMBER = { email: "owner@demo.steward.test", password: "demo owner passphrase 2026" };
const BUDGET_KB = 150;

/** The scripts and styles the sign-in page loads in a browser (those it names and those they
 * import), gzipped. */
async function firstPage() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "steward-first-page-"));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, userDataDir: profile, args: FLAGS });
  const files = new Set();
  try {
    const page = await browser.newPage();
    page.on("response", (response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith("/app/") && /\.(js|css)$/.test(url.pathname)) files.add(url.pathname);
    });
    await page.goto(`${base}/app/sign-in`, { waitUntil: "networkidle0" });
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  const sizes = await Promise.all(
    [...files].map(async (file) => {
      const bytes = Buffer.from(await (await fetch(`${base}${file}`)).arrayBuffer());
      return { file, bytes: bytes.length, gzipped: gzipSync(bytes).length, js: file.endsWith(".js") };
    }),
  );
  const kb = (n) => Math.round(n / 100) / 10;
  const js = sizes.filter((s) => s.js).reduce((sum, s) => sum + s.gzipped, 0);
  const css = sizes.filter((s) => !s.js).reduce((sum, s) => sum + s.gzipped, 0);
  return { files: sizes, js_gzipped_kb: kb(js), css_gzipped_kb: kb(css), budget_kb: BUDGET_KB, ratio: js / 1000 / BUDGET_KB };
}

async function lighthouse() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "steward-lighthouse-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: FLAGS,
  });
  try {
    const page = await browser.newPage();
    const flow = await startFlow(page, {
      // The session's refresh cookie must survive each navigation.
      flags: { disableStorageReset: true, onlyCategories: ["performance", "accessibility"] },
    });
    await flow.navigate(`${base}/app/sign-in`, { name: "sign-in" });
    await page.type("#email", MEMBER.email);
    await page.type("#password", MEMBER.password);
    await Promise.all([page.waitForSelector("form.filters"), page.click("button[type=submit]")]);
    await flow.navigate(`${base}/app/find`, { name: "find-a-room" });
    await flow.navigate(`${base}/app/bookings`, { name: "my-bookings" });
    const result = await flow.createFlowResult();
    return result.steps.map((step) => ({
      page: step.name,
      performance: Math.round((step.lhr.categories.performance?.score ?? 0) * 100),
      accessibility: Math.round((step.lhr.categories.accessibility?.score ?? 0) * 100),
      lcp_ms: Math.round(step.lhr.audits["largest-contentful-paint"]?.numericValue ?? 0),
      cls: step.lhr.audits["cumulative-layout-shift"]?.numericValue ?? 0,
      // What moved, when something did: the elements Lighthouse blames, most first.
      shifted: (step.lhr.audits["layout-shifts"]?.details?.items ?? []).map((item) => ({
        element: item.node?.selector ?? item.node?.snippet ?? "",
        score: item.score,
      })),
      url: step.lhr.finalDisplayedUrl,
    }));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const size = await firstPage();
console.log(
  `first page: ${size.js_gzipped_kb} kB of JavaScript gzipped (${(size.ratio * 100).toFixed(0)} % of the ${BUDGET_KB} kB budget), ${size.css_gzipped_kb} kB of CSS`,
);
const pages = await lighthouse();
for (const p of pages) {
  console.log(`${p.page}: performance ${p.performance}, accessibility ${p.accessibility}, LCP ${p.lcp_ms} ms, CLS ${p.cls.toFixed(3)} (${p.url})`);
  for (const shift of p.shifted) console.log(`  shifted: ${shift.element} (${shift.score.toFixed(3)})`);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), size, pages }, null, 2));
