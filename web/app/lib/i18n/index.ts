import { en } from "./en";

/** The strings of the browser's language; English is the only catalogue so far. */
export const t = en;

/** The browser's locale, for dates, times and numbers. */
export const locale: string =
  typeof navigator === "undefined" ? "en" : (navigator.languages?.[0] ?? navigator.language ?? "en");
