// Debian's chromium and the flags it needs on these machines (no first-run, no background
// traffic to hosts this machine cannot reach): shared by the browser tests and make bench.
export const CHROMIUM = "/usr/bin/chromium";
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
