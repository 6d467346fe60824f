// After `vite build`: moves the one inline script SvelteKit writes into index.html (the app's
// start-up) into a file of its own, named by its content's hash, so that the
// Content-Security-Policy can say `script-src 'self'` with no hash to carry from each build into
// the deployment. SvelteKit has no option for it: its CSP support hashes the inline script instead.
// A classic (not module) script, run in place, so that `document.currentScript` still finds the
// element the app starts in.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const build = path.resolve(import.meta.dirname, "../build/app");
const page = path.join(build, "index.html");
const html = fs.readFileSync(page, "utf8");
const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
if (inline.length !== 1) throw new Error(`index.html has ${inline.length} inline scripts, not 1`);
const [whole, code] = inline[0];
const name = `start.${createHash("sha256").update(code).digest("hex").slice(0, 12)}.js`;
fs.writeFileSync(path.join(build, "_app/immutable", name), code.trim() + "\n");
fs.writeFileSync(page, html.replace(whole, `<script src="/app/_app/immutable/${name}"></script>`));
