//! A notice as its reader sees it: the subject, a one-line summary for the in-app list, the
//! email's text and HTML (the `booking_notice` templates of `steward-mail`), and the .ics a
//! confirmation carries. Times are on the room's wall
//! clock, named by zone, since that is where the meeting happens.

use jiff::tz::TimeZone;
use steward_domain::booking::entity::Booking;
use steward_domain::booking::notice::{Notice, NoticeKind};
use steward_ical::{FeedEvent, calendar};
use steward_mail::{BookingNotice, Email as _, TemplateError};

/// Occurrences listed in one email; a longer series says how many more.
const LISTED: usize = 10;

#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub summary: String,
    pub text: String,
    pub html: String,
    /// The bookings as an iCalendar file, for the kinds that carry one.
    pub calendar: Option<String>,
}

/// `notice` as `reader` reads it. `pin_of` gives a booking's check-in PIN: the email (never the
/// stored in-app summary) carries it where the room needs a check-in and the booking holds it.
pub fn render(
    notice: &Notice,
    reader: &str,
    pin_of: Option<&dyn Fn(&Booking) -> String>,
) -> Result<Rendered, TemplateError> {
    let bookings = &notice.bookings;
    let title = bookings
        .first()
        .map(|b| b.title.as_str())
        .unwrap_or("Booking");
    let room = notice
        .room
        .as_ref()
        .map(|room| room.name.clone())
        .unwrap_or_else(|| format!("room {}", notice.room_id));
    let span = match bookings.as_slice() {
        [one] => when(notice, one),
        many => format!("{} bookings", many.len()),
    };
    let subject = format!(
        "{}: {title}, {span}, {room}",
        match notice.kind {
            NoticeKind::Confirmed => "Confirmed",
            NoticeKind::Approved => "Approved",
            NoticeKind::Rejected => "Declined",
            NoticeKind::Changed => "Changed",
            NoticeKind::Cancelled => "Cancelled",
            NoticeKind::ApprovalNeeded => "Approval needed",
            NoticeKind::Reminder => "Starting soon",
            NoticeKind::Released => "Released",
        }
    );
    let lead = match notice.kind {
        NoticeKind::Confirmed => format!("Your booking \"{title}\" in {room} is confirmed."),
        NoticeKind::Approved => format!("Your booking \"{title}\" in {room} was approved."),
        NoticeKind::Rejected => format!("Your booking \"{title}\" in {room} was declined."),
        NoticeKind::Changed => format!("Your booking \"{title}\" in {room} has a new time."),
        NoticeKind::Cancelled => format!("Your booking \"{title}\" in {room} was cancelled."),
        NoticeKind::ApprovalNeeded => {
            format!("\"{title}\" in {room} is waiting for your approval.")
        }
        NoticeKind::Reminder => format!("Your booking \"{title}\" in {room} starts soon."),
        NoticeKind::Released => {
            format!("Nobody checked in to \"{title}\" in {room}, so the room was given back.")
        }
    };
    let mut lines: Vec<String> = bookings
        .iter()
        .take(LISTED)
        .map(|booking| format!("{} (booking {})", when(notice, booking), booking.booking_id))
        .collect();
    if bookings.len() > LISTED {
        lines.push(format!("and {} more", bookings.len() - LISTED));
    }
    let reason = bookings
        .first()
        .and_then(|b| b.status_reason.as_deref())
        .filter(|_| matches!(notice.kind, NoticeKind::Rejected | NoticeKind::Cancelled));
    let needs_check_in = notice
        .room
        .as_ref()
        .is_some_and(|room| room.rules.check_in_required);
    let holds = matches!(
        notice.kind,
        NoticeKind::Confirmed | NoticeKind::Approved | NoticeKind::Changed | NoticeKind::Reminder
    );
    let pins: Vec<String> = match pin_of.filter(|_| needs_check_in && holds) {
        Some(pin_of) => bookings
            .iter()
            .take(LISTED)
            .map(|booking| match bookings.len() {
                1 => format!("Check-in PIN: {}", pin_of(booking)),
                _ => format!(
                    "Check-in PIN for {}: {}",
                    when(notice, booking),
                    pin_of(booking)
                ),
            })
            .collect(),
        None => Vec::new(),
    };
    let composed = BookingNotice {
        subject: &subject,
        reader,
        lead: &lead,
        lines: &lines,
        pins: &pins,
        reason,
    }
    .compose()?;
    let calendar = notice
        .kind
        .attaches_calendar()
        .then_some(notice.room.as_ref())
        .flatten()
        .map(|room| {
            let events: Vec<FeedEvent<'_>> = bookings
                .iter()
                .map(|booking| FeedEvent { booking, room })
                .collect();
            calendar(title, &events)
        });
    Ok(Rendered {
        summary: format!("{lead} {}", lines.first().cloned().unwrap_or_default()),
        subject,
        text: composed.text,
        html: composed.html,
        calendar,
    })
}

/// `Tue 24 Nov 2026, 09:00–10:00 GMT`, on the room's clock (UTC if it is not known).
fn when(notice: &Notice, booking: &Booking) -> String {
    let zone = notice
        .room
        .as_ref()
        .and_then(|room| TimeZone::get(&room.time_zone).ok())
        .unwrap_or(TimeZone::UTC);
    let (start, end) = (
        booking.slot.start.to_zoned(zone.clone()),
        booking.slot.end.to_zoned(zone),
    );
    let end_format = if start.date() == end.date() {
        "%H:%M %Z"
    } else {
        "%a %-d %b %Y, %H:%M %Z"
    };
    format!(
        "{}–{}",
        start.strftime("%a %-d %b %Y, %H:%M"),
        end.strftime(end_format)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use steward_domain::booking::entity::NewBooking;
    use steward_domain::booking::room::Room;
    use steward_domain::booking::rules::Slot;
    use steward_domain::booking::status::BookingStatus;

    fn notice(kind: NoticeKind, count: usize) -> Notice {
        let room: Room = serde_json::from_value(serde_json::json!({
            "name": "Thames <A>", "site": "London", "building": "One", "floor": "2",
            "time_zone": "Europe/London", "capacity": 8, "equipment": [], "bookable": true,
            "rules": {}
        }))
        .unwrap();
        let bookings = (0..count)
            .map(|i| {
                let start: Timestamp = "2026-07-01T08:00:00Z".parse().unwrap();
                let start = start + jiff::SignedDuration::from_hours(24 * i as i64);
                let mut booking = Booking::new(NewBooking {
                    tenant_id: "t1",
                    booking_id: &format!("bk_{i}"),
                    room_id: "rm_1",
                    organiser: "u1",
                    title: "Design & review",
                    slot: Slot::new(start, start + jiff::SignedDuration::from_hours(1)).unwrap(),
                    approval_required: false,
                    at: Timestamp::now(),
                });
                booking.status = BookingStatus::Cancelled;
                booking.status_reason = Some("Room <closed>".into());
                booking
            })
            .collect();
        Notice {
            notice_id: "nt_1".into(),
            tenant_id: "t1".into(),
            kind,
            organiser: "u1".into(),
            actor: "u1".into(),
            at: "2026-06-01T00:00:00Z".parse().unwrap(),
            room_id: "rm_1".into(),
            room: Some(room),
            bookings,
        }
    }

    #[test]
    fn times_are_on_the_rooms_clock_and_html_is_escaped() {
        let rendered = render(&notice(NoticeKind::Cancelled, 1), "Ann <Lee>", None).unwrap();
        assert_eq!(
            rendered.subject,
            "Cancelled: Design & review, Wed 1 Jul 2026, 09:00–10:00 BST, Thames <A>"
        );
        assert!(
            rendered.text.contains("Hello Ann <Lee>,"),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("Reason: Room <closed>"));
        assert!(
            rendered.html.contains("Hello Ann &#60;Lee&#62;,"),
            "{}",
            rendered.html
        );
        assert!(rendered.html.contains("Thames &#60;A&#62;"));
        assert!(rendered.html.contains("Reason: Room &#60;closed&#62;"));
        for raw in ["<A>", "<Lee>", "<closed>"] {
            assert!(!rendered.html.contains(raw), "{raw} unescaped");
        }
        assert!(
            rendered.calendar.is_none(),
            "a cancellation carries no .ics"
        );
    }

    #[test]
    fn a_series_is_one_notice_listing_its_occurrences() {
        let rendered = render(&notice(NoticeKind::Confirmed, 12), "Ann", None).unwrap();
        assert_eq!(
            rendered.subject,
            "Confirmed: Design & review, 12 bookings, Thames <A>"
        );
        assert_eq!(rendered.text.matches("(booking bk_").count(), LISTED);
        assert!(rendered.text.contains("and 2 more"));
        let ics = rendered.calendar.expect("a confirmation carries an .ics");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 12);
        assert!(ics.contains("BEGIN:VTIMEZONE"));
        // A confirmation says nothing of the reason of an earlier state.
        assert!(!rendered.text.contains("Reason"));
    }

    #[test]
    fn the_organiser_is_given_the_pin_where_the_room_needs_a_check_in() {
        let pin_of = |b: &Booking| format!("PIN-{}", b.booking_id);
        let mut confirmed = notice(NoticeKind::Confirmed, 1);
        let no_check_in = render(&confirmed, "Ann", Some(&pin_of)).unwrap();
        assert!(
            !no_check_in.text.contains("PIN"),
            "the room needs no check-in"
        );
        if let Some(room) = confirmed.room.as_mut() {
            room.rules.check_in_required = true;
        }
        let rendered = render(&confirmed, "Ann", Some(&pin_of)).unwrap();
        assert!(
            rendered.text.contains("Check-in PIN: PIN-bk_0"),
            "{}",
            rendered.text
        );
        assert!(rendered.html.contains("Check-in PIN: PIN-bk_0"));
        assert!(
            !rendered.summary.contains("PIN"),
            "the stored summary never holds it"
        );
        let cancelled = Notice {
            kind: NoticeKind::Cancelled,
            ..confirmed.clone()
        };
        assert!(
            !render(&cancelled, "Ann", Some(&pin_of))
                .unwrap()
                .text
                .contains("PIN-")
        );
        assert!(
            !render(&confirmed, "Approver", None)
                .unwrap()
                .text
                .contains("PIN-")
        );
    }
}
