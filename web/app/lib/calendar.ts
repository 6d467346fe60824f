// Days on a room's wall clock: where they start and end as instants, and their hours, which
// are 23 or 25 on the days the clocks change (date-fns with @date-fns/tz does the zone's rules).
import { TZDate, tz } from "@date-fns/tz";
import { addDays, addHours, startOfWeek } from "date-fns";

export interface Day {
  date: string; // yyyy-mm-dd on the room's clock
  start: Date;
  end: Date;
  /** The instants the day's hours start at: 24, or 23 or 25 on a change of the clocks. */
  hours: Date[];
}

/** The day `date` (yyyy-mm-dd) in `zone`. */
export function day(date: string, zone: string): Day {
  const [year, month, dayOfMonth] = date.split("-").map(Number) as [number, number, number];
  const start = new TZDate(year, month - 1, dayOfMonth, zone);
  const end = addDays(start, 1);
  const hours: Date[] = [];
  for (let at: Date = start; at < end; at = addHours(at, 1)) hours.push(new Date(at.getTime()));
  return { date, start: new Date(start.getTime()), end: new Date(end.getTime()), hours };
}

/** The seven days of the week (from Monday) holding `date`, in `zone`. */
export function week(date: string, zone: string): Day[] {
  const first = startOfWeek(day(date, zone).start, { weekStartsOn: 1, in: tz(zone) });
  return Array.from({ length: 7 }, (_, i) => day(isoDate(addDays(first, i), zone), zone));
}

/** The date (yyyy-mm-dd) of `at` on `zone`'s clock. */
export function isoDate(at: Date, zone: string): string {
  const local = new TZDate(at.getTime(), zone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())}`;
}

/** `date` moved by `days` (yyyy-mm-dd, calendar arithmetic). */
export function shift(date: string, days: number): string {
  return isoDate(addDays(day(date, "UTC").start, days), "UTC");
}

/** Where an interval sits in `day`, as fractions of its real length (clipped to it). */
export function placement(d: Day, start: string, end: string): { top: number; height: number } | null {
  const from = Math.max(Date.parse(start), d.start.getTime());
  const to = Math.min(Date.parse(end), d.end.getTime());
  if (to <= from) return null;
  const length = d.end.getTime() - d.start.getTime();
  return { top: (from - d.start.getTime()) / length, height: (to - from) / length };
}

/** `at` on `zone`'s clock as an `<input type="time">` value (HH:MM, 24 hours), whatever the
 * browser's locale. */
export function wallClock(at: Date, zone: string): string {
  const local = new TZDate(at.getTime(), zone);
  return `${String(local.getHours()).padStart(2, "0")}:${String(local.getMinutes()).padStart(2, "0")}`;
}
