// Dates, times and durations for the browser's locale, in a room's time zone.
import { locale } from "./i18n";

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${zone}|${JSON.stringify(options)}`;
  let found = cache.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(locale, { timeZone: zone, ...options });
    cache.set(key, found);
  }
  return found;
}

export const viewerZone: string = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function time(at: string | Date, zone: string): string {
  return formatter(zone, { hour: "2-digit", minute: "2-digit" }).format(new Date(at));
}

export function dateTime(at: string | Date, zone: string): string {
  return formatter(zone, { weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit" }).format(
    new Date(at),
  );
}

/** "Mon 4 Dec, 09:00 – 10:00" in `zone`, with the zone's short name. */
export function span(start: string, end: string, zone: string): string {
  const range = formatter(zone, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  });
  return range.formatRange(new Date(start), new Date(end));
}

export function minutes(count: number): string {
  return new Intl.NumberFormat(locale, { style: "unit", unit: "minute", unitDisplay: "long" }).format(count);
}

/** A file's size: "25 MB", "300 kB". */
export function bytes(count: number): string {
  const [unit, size] = count >= 1_000_000 ? ["megabyte", count / 1_000_000] : ["kilobyte", count / 1_000];
  return new Intl.NumberFormat(locale, { style: "unit", unit, maximumFractionDigits: 1 }).format(size);
}

/** A share (0 to 1) as a percentage: "72 %", and "1.1 %" under a tenth (where a whole
 * percentage would round a small figure to nothing). */
export function percent(share: number): string {
  const digits = share > 0 && share < 0.1 ? 1 : 0;
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: digits }).format(share);
}

/** A number with at most one decimal: "93.5". */
export function decimal(value: number): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value);
}
