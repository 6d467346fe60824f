// The API's problem+json answers, in plain sentences for the person who caused them.
import type { Problem } from "./api/client";
import { t } from "./i18n";

/** What to tell the person: a sentence, and each field's complaint for a 422. */
export interface Told {
  message: string;
  fields: { field: string; message: string }[];
  status: number;
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "status" in value && "title" in value;
}

export function tell(error: unknown, response?: Response): Told {
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
        return t.problems.conflict(detail);
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
