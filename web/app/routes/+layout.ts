// A single-page app: rendered in the browser only, from the one index.html.
export const ssr = false;
export const prerender = false;
