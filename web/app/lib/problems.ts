// The API's problem+json answers, in plain sentences for the person who caused them.
import type { Problem } from "./api/client";
import { time } from "./format";
import { t } from "./i18n";

type Obstacle = NonNullable<Problem["obstacles"]>[number];

/** What holds a slot, in a sentence, with times on the room's clock (`zone`). */
export function obstacle(o: Obstacle, zone: string): string {
  const [from, to] = [time(o.start, zone), time(o.end, zone)];
  switch (o.kind) {
    case "closure":
      return t.problems.closedFor(o.reason ?? "", from, to);
    case "buffer":
      return o.held_by ? t.problems.bufferBy(o.held_by, from, to) : t.problems.heldByUnknown(from, to);
    default:
      return o.held_by ? t.problems.heldBy(o.held_by, from, to) : t.problems.heldByUnknown(from, to);
  }
}

/** What to tell the person: a sentence, and each field's complaint for a 422. */
export interface Told {
  message: string;
  fields: { field: string; message: string }[];
  status: number;
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "status" in value && "title" in value;
}

/** `zone`: the room's time zone, for the times a refusal names. */
export function tell(error: unknown, response?: Response, zone = "UTC"): Told {
  if (!isProblem(error)) {
    return { message: t.problems.network, fields: [], status: response?.status ?? 0 };
  }
  const detail = error.detail ?? error.title;
  const fields = (error.errors ?? []).map((e) => ({ field: e.field ?? "", message: e.message ?? "" }));
  const message = (() => {
    switch (error.status) {
      case 401:
        return t.problems.unauthorized;
      case 403:
        return t.problems.forbidden(detail);
      case 404:
        return t.problems.notFound;
      case 409:
        return error.obstacles?.length
          ? [t.problems.taken, ...error.obstacles.map((o) => obstacle(o, zone))].join(" ")
          : t.problems.conflict(detail);
      case 412:
        return t.problems.changed;
      case 422:
        return fields.length > 0 ? t.problems.invalid : detail;
      case 429:
        return t.problems.tooMany(Number(response?.headers.get("Retry-After") ?? 30));
      case 502:
      case 503:
      case 504:
        return t.problems.unavailable;
      default:
        return t.problems.other(detail);
    }
  })();
  return { message, fields, status: error.status };
}

/** A sentence of the app's own to tell, with the status it answers. */
export function said(message: string, status = 0): Told {
  return { message, fields: [], status };
}
