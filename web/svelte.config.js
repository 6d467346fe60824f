import adapter from "@sveltejs/adapter-static";
import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: every page is rendered in the browser, so one index.html answers every
    // path under /app/ (the gateway locally, CloudFront's error response when deployed).
    adapter: adapter({ pages: "build/app", assets: "build/app", fallback: "index.html", strict: true }),
    paths: { base: "/app" },
    files: {
      src: "app",
      routes: "app/routes",
      lib: "app/lib",
      appTemplate: "app/app.html",
      assets: "app/static",
    },
    // A chunk per page (kit's default): a first load fetches the shared code and its own page,
    // not the console's and every other page's. The start-up script is moved out of index.html
    // after the build (scripts/external-start.mjs), so the Content-Security-Policy allows 'self'
    // only.
    output: { bundleStrategy: "split" },
  },
};
