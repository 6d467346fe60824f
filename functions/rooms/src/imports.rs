//! CSV imports (SPEC §C) of rooms and bookings, with a report of every row. `mode=all_or_nothing`
//! (the default) imports nothing unless every row is good, and answers 422 naming each bad
//! row's fields (`rows[3].start`); `mode=valid_only` imports the good rows and reports the rest.
//!
//! Imported bookings take the calendar's one write path, so an import can no more double-book
//! than a create can: the rows of each room are written in chunks, each chunk in one
//! transaction with the room's days. All-or-nothing across rooms is a check made first (every
//! row against the rules, each other and the calendars as read), then the writes; a booking
//! made by someone else between the two can still stop the import part way, which the answer
//! then says row by row (docs/architecture.md).

use std::collections::{BTreeMap, HashMap};

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use steward_access::{Caller, Record, new_id};
use steward_authz::Permission;
use steward_calendar::{
    Authority, BookingRequest, Holder, OnConflict, Placement, Plan, RoomAt, Settled, Times,
    bookable, taken_detail,
};
use steward_domain::booking::days::likely_days;
use steward_domain::booking::entity::Booking;
use steward_domain::booking::rules::{Conflict, Slot, Taken, conflicts};
use steward_domain::text::{Reason, Title, restore_cell};
use steward_kit::api::{self, ApiRequest};
use steward_kit::{ApiError, FieldError};
use steward_store::rooms::{RoomRecord, RoomWriteError};

use crate::Rooms;
use crate::bookings::view;
use crate::exports::RoomRow;

/// The most rows one import holds.
const MAX_IMPORT_ROWS: usize = 200;
/// The most bookings of one room written in one transaction (with their days, the room's
/// check and one audit entry, within DynamoDB's 100 items).
const ROWS_PER_WRITE: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    AllOrNothing,
    ValidOnly,
}

fn mode_of(request: &ApiRequest) -> Result<Mode, ApiError> {
    match request.query.get("mode").map(String::as_str) {
        None | Some("all_or_nothing") => Ok(Mode::AllOrNothing),
        Some("valid_only") => Ok(Mode::ValidOnly),
        Some(_) => Err(ApiError::validation("mode", "all_or_nothing or valid_only")),
    }
}

/// A booking as an import reads it.
#[derive(Debug, Clone, Deserialize)]
struct BookingRow {
    room_id: String,
    /// RFC 3339, or a local time on the room's wall clock.
    start: String,
    end: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    override_reason: Option<String>,
}

/// What became of one row: its line in the file (the header is line 1).
#[derive(Debug, Serialize)]
struct RowReport {
    row: u64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

impl RowReport {
    fn imported(row: u64, id: String) -> Self {
        Self {
            row,
            status: "imported",
            id: Some(id),
            errors: Vec::new(),
        }
    }

    fn rejected(row: u64, errors: Vec<FieldError>) -> Self {
        Self {
            row,
            status: "rejected",
            id: None,
            errors,
        }
    }
}

/// One row's own problem, as a field of the row.
fn problem(field: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError::new(field, message)]
}

/// The problems an error names, as fields of a row.
fn problems_of(error: ApiError) -> Vec<FieldError> {
    match error {
        ApiError::Validation(fields) => fields,
        other => problem("row", other.to_string()),
    }
}

/// One data row: its line in the file, and what it says or why it cannot be read.
type Row<T> = (u64, Result<T, Vec<FieldError>>);

/// Each data row of a CSV body.
fn rows<T: DeserializeOwned>(text: &str) -> Result<Vec<Row<T>>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::validation("body", format!("a CSV header row: {e}")))?
        .clone();
    let mut parsed = Vec::new();
    for record in reader.records() {
        if parsed.len() == MAX_IMPORT_ROWS {
            return Err(ApiError::validation(
                "body",
                format!("at most {MAX_IMPORT_ROWS} rows an import"),
            ));
        }
        let line =
            |position: Option<&csv::Position>| position.map(|p| p.line()).unwrap_or_default();
        let row = match record {
            Err(error) => (
                line(error.position()),
                Err(problem("row", error.to_string())),
            ),
            Ok(record) => (
                line(record.position()),
                // A cell an export wrote as text (`'=...`) reads back as it was.
                csv::StringRecord::from_iter(record.iter().map(restore_cell))
                    .deserialize::<T>(Some(&headers))
                    .map_err(|error| {
                        let field = match error.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err
                                .field()
                                .and_then(|i| headers.get(i as usize))
                                .unwrap_or("row"),
                            _ => "row",
                        };
                        let message = match error.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
                            _ => error.to_string(),
                        };
                        problem(field, message)
                    }),
            ),
        };
        parsed.push(row);
    }
    if parsed.is_empty() {
        return Err(ApiError::validation("body", "no rows under the header"));
    }
    Ok(parsed)
}

/// The answer: 200 with every row's outcome, or, all-or-nothing with bad rows, 422 naming each.
fn report(mode: Mode, reports: Vec<RowReport>) -> Result<Response<Body>, ApiError> {
    let rejected = reports.iter().filter(|r| r.status == "rejected").count();
    if mode == Mode::AllOrNothing && rejected > 0 {
        return Err(refusal(&reports));
    }
    api::json(
        StatusCode::OK,
        &json!({
            "mode": if mode == Mode::AllOrNothing { "all_or_nothing" } else { "valid_only" },
            "imported": reports.len() - rejected,
            "rejected": rejected,
            "rows": reports,
        }),
    )
}

/// Every bad row's fields, as `rows[<line>].<field>`.
fn refusal(reports: &[RowReport]) -> ApiError {
    ApiError::Validation(
        reports
            .iter()
            .flat_map(|report| {
                report.errors.iter().map(|error| {
                    FieldError::new(
                        format!("rows[{}].{}", report.row, error.field),
                        &error.message,
                    )
                })
            })
            .collect(),
    )
}

/// What a chunk's write does with rows whose slot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// Writes nothing: only says which rows are taken.
    Look,
    /// Writes the chunk whole, or nothing of it.
    Whole,
    /// Writes the rows that are free.
    Free,
}

/// A row's booking, checked against its room as read: bookable, times on its clock, rules
/// (waived with a manager's reason).
struct Candidate {
    row: u64,
    slot: Slot,
    record: Booking,
}

impl Rooms {
    /// `POST /v1/imports/rooms` (`text/csv`, the columns of a rooms export): new rooms, each
    /// counted against the licence's room limit.
    pub(crate) async fn import_rooms(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsImport).await?;
        self.guard.also(&caller, Permission::RoomsManage)?;
        let mode = mode_of(request)?;
        let parsed = rows::<RoomRow>(request.text("text/csv")?)?;
        let mut reports = Vec::new();
        let mut good = Vec::new();
        for (row, room) in parsed {
            let room = room.and_then(|room| room.parse().map_err(FieldError::all));
            match room {
                Ok(room) => good.push((row, room)),
                Err(errors) => reports.push(RowReport::rejected(row, errors)),
            }
        }
        let limit = caller
            .licence_enforced
            .then_some(caller.tenant.licence.limits.rooms);
        if mode == Mode::AllOrNothing {
            if !reports.is_empty() {
                return Err(refusal(&reports));
            }
            if let Some(limit) = limit
                && caller.tenant.licence.rooms_used + good.len() as u32 > limit
            {
                return Err(ApiError::LicenceLimit {
                    limit: "rooms".into(),
                    allowed: limit,
                });
            }
        }
        let tenant_id = caller.tenant_id();
        let now = Timestamp::now().to_string();
        for (row, room) in good {
            let record = RoomRecord::new(tenant_id, &new_id("rm"), room, &now);
            let audit = self.auditor.entry(
                request,
                Record {
                    tenant_id,
                    actor: caller.user_id(),
                    action: "room.import",
                    target: &format!("room:{}", record.room_id),
                    before: json!(null),
                    after: json!({ "row": row, "room": crate::view(&record) }),
                },
            );
            match self.store.create(&record, limit, &audit).await {
                Ok(()) => reports.push(RowReport::imported(row, record.room_id)),
                Err(RoomWriteError::LimitReached) => reports.push(RowReport::rejected(
                    row,
                    problem(
                        "row",
                        format!(
                            "the licence allows {} rooms; all are in use",
                            limit.unwrap_or(0)
                        ),
                    ),
                )),
                Err(error) => return Err(crate::write_problem(error, &caller)),
            }
        }
        reports.sort_by_key(|report| report.row);
        report(mode, reports)
    }

    /// `POST /v1/imports/bookings` (`text/csv`: `room_id,start,end[,title][,override_reason]`):
    /// bookings organised by the importer, each checked as a create is.
    pub(crate) async fn import_bookings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsImport)
            .await?;
        self.guard.also(&caller, Permission::BookingsCreate)?;
        let mode = mode_of(request)?;
        let parsed = rows::<BookingRow>(request.text("text/csv")?)?;
        // One row giving a reason is enough to ask whether the importer may waive rules.
        let reason = parsed.iter().find_map(|(_, row)| {
            let reason = row.as_ref().ok()?.override_reason.as_deref()?;
            (!reason.trim().is_empty()).then_some(reason)
        });
        let authority = self.authority(&caller, reason);
        let tenant_id = caller.tenant_id();
        let mut room_ids: Vec<&str> = parsed
            .iter()
            .filter_map(|(_, row)| row.as_ref().ok().map(|row| row.room_id.as_str()))
            .collect();
        room_ids.sort_unstable();
        room_ids.dedup();
        let rooms: HashMap<String, RoomRecord> = self
            .store
            .many(tenant_id, &room_ids)
            .await?
            .into_iter()
            .map(|room| (room.room_id.clone(), room))
            .collect();

        // The importer organises every row: their credentials, read once if a room needs any.
        let holdings = if rooms
            .values()
            .any(|room| !room.room.required_credentials.is_empty())
        {
            Some(self.calendar.holdings(tenant_id, caller.user_id()).await?)
        } else {
            None
        };
        let mut short: Vec<(u64, Vec<&str>)> = Vec::new();

        let mut reports = Vec::new();
        // Good rows by room, in file order; what each room's earlier good rows take.
        let mut by_room: BTreeMap<String, Vec<(Candidate, BookingRow)>> = BTreeMap::new();
        let mut row_of_booking: HashMap<String, u64> = HashMap::new();
        for (row, input) in parsed {
            let checked = input.and_then(|input| {
                let candidate = self
                    .candidate(
                        (&caller, &authority),
                        rooms.get(&input.room_id),
                        &input,
                        row,
                    )
                    .map_err(problems_of)?;
                Ok((candidate, input))
            });
            let (candidate, input) = match checked {
                Ok(checked) => checked,
                Err(errors) => {
                    reports.push(RowReport::rejected(row, errors));
                    continue;
                }
            };
            let room = &rooms[&input.room_id];
            if let Some(lacking) = holdings
                .as_ref()
                .map(|held| held.lacking(room, candidate.slot.end))
                .filter(|lacking| !lacking.is_empty())
            {
                short.push((row, lacking));
                continue;
            }
            let earlier: Vec<Taken> = by_room
                .get(&input.room_id)
                .into_iter()
                .flatten()
                .map(|(c, _)| Taken::Booking {
                    booking_id: c.record.booking_id.clone(),
                    slot: c.slot,
                })
                .collect();
            let met = conflicts(&room.room.rules, &candidate.slot, &earlier, None);
            if !met.is_empty() {
                reports.push(RowReport::rejected(
                    row,
                    problem("start", overlaps(&met, &row_of_booking)),
                ));
                continue;
            }
            row_of_booking.insert(candidate.record.booking_id.clone(), row);
            by_room
                .entry(input.room_id.clone())
                .or_default()
                .push((candidate, input));
        }
        if !short.is_empty() {
            let mut ids: Vec<&str> = short
                .iter()
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let names: HashMap<&str, String> = ids
                .iter()
                .copied()
                .zip(self.calendar.credential_names(tenant_id, &ids).await?)
                .collect();
            for (row, lacking) in short {
                let named: Vec<&str> = lacking.iter().map(|id| names[id].as_str()).collect();
                reports.push(RowReport::rejected(
                    row,
                    problem(
                        "room_id",
                        format!(
                            "the room requires credentials the importer does not hold verified \
                             through the booking's end: {}",
                            named.join(", ")
                        ),
                    ),
                ));
            }
        }

        let chunks: Vec<(String, Vec<(Candidate, BookingRow)>)> = by_room
            .into_iter()
            .flat_map(|(room_id, rows)| {
                let mut rows = rows.into_iter().peekable();
                let mut chunks = Vec::new();
                while rows.peek().is_some() {
                    chunks.push((
                        room_id.clone(),
                        rows.by_ref().take(ROWS_PER_WRITE).collect(),
                    ));
                }
                chunks
            })
            .collect();
        if mode == Mode::AllOrNothing {
            // Every chunk against its calendar as it stands, writing nothing, so that the
            // refusal names every bad row at once.
            for (room_id, chunk) in &chunks {
                for (row, met) in self
                    .write_chunk(
                        request,
                        (&caller, &authority),
                        room_id,
                        chunk,
                        Writing::Look,
                    )
                    .await?
                {
                    reports.push(RowReport::rejected(
                        row,
                        problem("start", taken_detail(&met)),
                    ));
                }
            }
            if !reports.is_empty() {
                reports.sort_by_key(|report| report.row);
                return Err(refusal(&reports));
            }
        }
        let mut stopped = false;
        for (room_id, chunk) in &chunks {
            if stopped {
                reports.extend(chunk.iter().map(|(c, _)| {
                    RowReport::rejected(
                        c.row,
                        problem(
                            "row",
                            "not imported: an earlier row met a booking made during the import",
                        ),
                    )
                }));
                continue;
            }
            let writing = match mode {
                Mode::AllOrNothing => Writing::Whole,
                Mode::ValidOnly => Writing::Free,
            };
            let skipped = self
                .write_chunk(request, (&caller, &authority), room_id, chunk, writing)
                .await?;
            if mode == Mode::AllOrNothing && !skipped.is_empty() {
                stopped = true;
            }
            for (candidate, _) in chunk {
                match skipped.iter().find(|(row, _)| *row == candidate.row) {
                    Some((row, met)) => reports.push(RowReport::rejected(*row, problem("start", taken_detail(met)))),
                    None if mode == Mode::AllOrNothing && stopped => reports.push(RowReport::rejected(
                        candidate.row,
                        problem("row", "not imported: another row of its room met a booking made during the import"),
                    )),
                    None => reports.push(RowReport::imported(candidate.row, candidate.record.booking_id.clone())),
                }
            }
        }
        reports.sort_by_key(|report| report.row);
        if stopped {
            let imported: Vec<String> = reports
                .iter()
                .filter(|r| r.status == "imported")
                .map(|r| r.row.to_string())
                .collect();
            let refused: Vec<String> = reports
                .iter()
                .flat_map(|report| {
                    report
                        .errors
                        .iter()
                        .map(move |e| format!("row {} {}: {}", report.row, e.field, e.message))
                })
                .collect();
            return Err(ApiError::Conflict(format!(
                "the calendar changed during the import; rows {} were imported, the rest were \
                 not: {}",
                imported.join(", "),
                refused.join("; ")
            )));
        }
        report(mode, reports)
    }

    /// A row's booking against its room as read.
    fn candidate(
        &self,
        (caller, authority): (&Caller, &Authority),
        room: Option<&RoomRecord>,
        input: &BookingRow,
        row: u64,
    ) -> Result<Candidate, ApiError> {
        // The room is the row's `room_id`: a file names no route to be missing.
        bookable(room, &input.room_id)
            .map_err(|e| ApiError::validation("room_id", ApiError::from(e).to_string()))?;
        let asked = BookingRequest {
            tenant_id: caller.tenant_id(),
            booking_id: &new_id("bkg"),
            room_id: &input.room_id,
            organiser: caller.user_id(),
            title: input.title.trim(),
            times: Times::Given {
                start: &input.start,
                end: &input.end,
            },
            override_reason: input.override_reason.as_deref(),
            started: false,
        };
        let (record, slot) = asked.build(room, authority, Timestamp::now())?;
        // Checked here rather than as the row is read: csv names no field for a type's error.
        Title::parse(input.title.trim())
            .map_err(|e| ApiError::validation("title", e.to_string()))?;
        (input.override_reason.as_deref())
            .map(Reason::parse)
            .transpose()
            .map_err(|e| ApiError::validation("override_reason", e.to_string()))?;
        Ok(Candidate { row, slot, record })
    }

    /// Writes one room's chunk of rows through the calendar as `writing` says, each row checked
    /// again against the room as it is then; answers the rows whose slot was taken.
    async fn write_chunk(
        &self,
        request: &ApiRequest,
        (caller, authority): (&Caller, &Authority),
        room_id: &str,
        chunk: &[(Candidate, BookingRow)],
        writing: Writing,
    ) -> Result<Vec<(u64, Vec<Conflict>)>, ApiError> {
        // The first rows' days, read with the room (each day once: a batch read refuses twins).
        let likely: Vec<_> = chunk
            .iter()
            .take(4)
            .flat_map(|(_, input)| likely_days(&input.start, &input.end))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut taken = Vec::new();
        let at = RoomAt::Read {
            tenant_id: caller.tenant_id(),
            room_id,
            likely: &likely,
        };
        let written = self
            .calendar
            .write(
                at,
                Holder::of(caller, caller.user_id()),
                |room| {
                    let mut placements = Vec::with_capacity(chunk.len());
                    for (candidate, input) in chunk {
                        // The room may have changed since the rows were checked.
                        let fresh =
                            self.candidate((caller, authority), room, input, candidate.row)?;
                        if fresh.slot != candidate.slot {
                            return Err(ApiError::Conflict(
                                "the room changed during the import".into(),
                            ));
                        }
                        let mut record = candidate.record.clone();
                        record.override_reason = fresh.record.override_reason;
                        record.status = fresh.record.status;
                        placements.push(Placement::new(record, candidate.slot));
                    }
                    let after: Vec<_> = placements.iter().map(|p| view(&p.record)).collect();
                    let audit = self.auditor.entry(
                        request,
                        Record {
                            tenant_id: caller.tenant_id(),
                            actor: caller.user_id(),
                            action: "booking.import",
                            target: &format!("room:{room_id}"),
                            before: json!(null),
                            after: json!(after),
                        },
                    );
                    Ok(Plan {
                        placements,
                        series: None,
                        audit: vec![audit],
                        on_conflict: OnConflict::Skip,
                        // Whoever imports asked for the bookings; nobody else is told.
                        announce: false,
                        requires: Vec::new(),
                    })
                },
                |plan, skipped| {
                    taken = skipped
                        .iter()
                        .filter_map(|s| {
                            let row = chunk
                                .iter()
                                .find(|(c, _)| c.record.booking_id == s.booking_id)?
                                .0
                                .row;
                            Some((row, s.met.clone()))
                        })
                        .collect();
                    // Nothing to write, only a look, or not the whole chunk: stop before the
                    // commit.
                    let partial = writing == Writing::Whole && !taken.is_empty();
                    if writing == Writing::Look || partial || plan.placements.is_empty() {
                        return Ok(Settled::Stop);
                    }
                    Ok(Settled::Commit)
                },
            )
            .await;
        written.map(|_| taken)
    }
}

/// What a row meets among the import's own earlier rows, named by their lines.
fn overlaps(met: &[Conflict], row_of_booking: &HashMap<String, u64>) -> String {
    let rows: Vec<String> = met
        .iter()
        .filter_map(|conflict| match conflict {
            Conflict::Booking { booking_id, .. } => row_of_booking
                .get(booking_id)
                .map(|row| format!("row {row}")),
            Conflict::Closure { .. } => None,
        })
        .collect();
    format!(
        "overlaps {} of this import, counting the room's buffers",
        rows.join(", ")
    )
}
