// An import's outcome line by line, against the file as sent: each line's text with what the API
// said of it (imported, refused with its fields' problems, or good but held back when an
// all-or-nothing import refused the file). Lines are the file's physical lines, as the API counts
// them (the header is line 1).
import type { Schemas } from "./api/client";

export type LineOutcome =
  | { kind: "header" }
  | { kind: "imported"; id?: string }
  | { kind: "rejected"; errors: { field: string; message: string }[] }
  | { kind: "held" };

export interface Line {
  number: number;
  text: string;
  outcome: LineOutcome;
}

const ROW_FIELD = /^rows\[(\d+)\]\.?(.*)$/;

/** The file's lines with the report's outcome of each (a 200's report). */
export function reported(file: string, report: Schemas["ImportReport"]): Line[] {
  const byRow = new Map(report.rows.map((row) => [row.row, row]));
  return lines(file).map(({ number, text }) => {
    if (number === 1) return { number, text, outcome: { kind: "header" } };
    const row = byRow.get(number);
    const outcome: LineOutcome =
      row?.status === "imported"
        ? { kind: "imported", id: row.id }
        : { kind: "rejected", errors: (row?.errors ?? []).map((e) => ({ field: e.field ?? "", message: e.message ?? "" })) };
    return { number, text, outcome };
  });
}

/** The file's lines with an all-or-nothing refusal's complaints (`rows[<line>].<field>`). */
export function refused(file: string, fields: { field: string; message: string }[]): Line[] {
  const complaints = new Map<number, { field: string; message: string }[]>();
  for (const { field, message } of fields) {
    const matched = ROW_FIELD.exec(field);
    if (!matched) continue;
    const line = Number(matched[1]);
    complaints.set(line, [...(complaints.get(line) ?? []), { field: matched[2] ?? "", message }]);
  }
  return lines(file).map(({ number, text }) => {
    if (number === 1) return { number, text, outcome: { kind: "header" } };
    const errors = complaints.get(number);
    return { number, text, outcome: errors ? { kind: "rejected", errors } : { kind: "held" } };
  });
}

function lines(file: string): { number: number; text: string }[] {
  return file
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((text, index) => ({ number: index + 1, text }))
    .filter(({ text }) => text.trim() !== "");
}
