// Repeating a booking: the choices the app offers as RRULEs the API expands on the room's
// clock, and any rule the API answers said in words.
import { locale, t } from "./i18n";

export const REPEATS = ["never", "daily", "weekdays", "weekly", "fortnightly", "monthly"] as const;
export type Repeat = (typeof REPEATS)[number];

/** The most occurrences the API books in one series. */
export const MOST_OCCURRENCES = 48;

const RULES: Record<Exclude<Repeat, "never">, string> = {
  daily: "FREQ=DAILY",
  weekdays: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
  weekly: "FREQ=WEEKLY",
  fortnightly: "FREQ=WEEKLY;INTERVAL=2",
  monthly: "FREQ=MONTHLY",
};

/** The RRULE for a choice and a number of occurrences; null for a single booking. */
export function rule(repeat: Repeat, count: number): string | null {
  return repeat === "never" ? null : `${RULES[repeat]};COUNT=${count}`;
}

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/** A weekday's name in the browser's language: 2024-01-01 was a Monday. */
function weekday(code: string): string {
  const monday = Date.UTC(2024, 0, 1);
  const at = new Date(monday + WEEKDAYS.indexOf(code) * 86_400_000);
  return new Intl.DateTimeFormat(locale, { weekday: "long", timeZone: "UTC" }).format(at);
}

/** An RRULE in words ("Every 2 weeks on Monday and Wednesday, 6 times"); one this cannot say
 * (a weekday with an ordinal, such as 2TU) is shown as written. */
export function described(text: string): string {
  const parts = new Map(
    text
      .replace(/^RRULE:/, "")
      .split(";")
      .map((part) => part.split("=") as [string, string]),
  );
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month" }[parts.get("FREQ") ?? ""] as
    | "day"
    | "week"
    | "month"
    | undefined;
  const days = parts.get("BYDAY")?.split(",") ?? [];
  if (!unit || days.some((day) => !WEEKDAYS.includes(day))) return text;
  const said = [t.series.every(Number(parts.get("INTERVAL") ?? 1), unit)];
  if (days.length > 0) {
    said.push(t.series.on(new Intl.ListFormat(locale, { type: "conjunction" }).format(days.map(weekday))));
  }
  const count = parts.get("COUNT");
  const until = parts.get("UNTIL");
  if (count) said.push(t.series.times(Number(count)));
  else if (until) {
    const last = Date.UTC(Number(until.slice(0, 4)), Number(until.slice(4, 6)) - 1, Number(until.slice(6, 8)));
    said.push(t.series.until(new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(last)));
  }
  return said.join("");
}
