// The slot a person asks about: a date and a start on the browser's clock, and a duration.

export interface SlotAsked {
  date: string; // yyyy-mm-dd
  start: string; // hh:mm
  minutes: number;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** The next half hour from now, on the browser's clock. */
export function nextHalfHour(now = new Date()): SlotAsked {
  const at = new Date(now);
  at.setSeconds(0, 0);
  at.setMinutes(at.getMinutes() < 30 ? 30 : 60);
  return {
    date: `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`,
    start: `${pad(at.getHours())}:${pad(at.getMinutes())}`,
    minutes: 30,
  };
}

/** The slot's instants, RFC 3339 in UTC. */
export function instants(slot: SlotAsked): { start: string; end: string } {
  const start = new Date(`${slot.date}T${slot.start}`);
  const end = new Date(start.getTime() + slot.minutes * 60_000);
  return { start: start.toISOString().replace(/\.000Z$/, "Z"), end: end.toISOString().replace(/\.000Z$/, "Z") };
}
