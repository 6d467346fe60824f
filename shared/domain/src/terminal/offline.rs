//! Items a terminal captured offline (SPEC §D): their device times corrected by the request's
//! own clock skew, bounded, and put in the order they happened.
//!
//! The bound: a request's signed timestamp is within `MAX_SKEW_SECONDS` of the server clock,
//! so its skew is known to the second; each item's time is its device time plus that skew.
//! An item whose corrected time is after the server's clock, or older than [`MAX_AGE`], is
//! refused.

use jiff::{SignedDuration, Timestamp};

/// A signed timestamp is in whole seconds: a correction can be off by as much.
const RESOLUTION: SignedDuration = SignedDuration::from_secs(1);

/// How long a terminal may hold an item captured offline.
pub const MAX_AGE: SignedDuration = SignedDuration::from_hours(24);

/// Why an item's time is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeRefusal {
    #[error("its time is after the server's clock (device clock skew corrected)")]
    InTheFuture,
    #[error("it was captured more than 24 hours ago")]
    TooOld,
}

/// The server time of an item stamped `device_time` by a terminal whose request was signed at
/// `signed_at` and received at `now`.
pub fn corrected(
    device_time: Timestamp,
    signed_at: Timestamp,
    now: Timestamp,
) -> Result<Timestamp, TimeRefusal> {
    let skew = now.duration_since(signed_at);
    let at = device_time
        .checked_add(skew)
        .map_err(|_| TimeRefusal::InTheFuture)?;
    if at > now + RESOLUTION {
        return Err(TimeRefusal::InTheFuture);
    }
    let at = at.min(now);
    if now.duration_since(at) > MAX_AGE {
        return Err(TimeRefusal::TooOld);
    }
    Ok(at)
}

/// The order items are applied in: by device time, then by position in the upload.
pub fn in_device_order<T>(items: &mut [(Timestamp, usize, T)]) {
    items.sort_by_key(|(at, position, _)| (*at, *position));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        format!("2026-06-01T{text}Z").parse().unwrap()
    }

    #[test]
    fn a_slow_device_clock_is_corrected_and_the_bounds_hold() {
        // The device runs 2 minutes slow: its signed time 09:58 arrives at 10:00.
        let (signed, now) = (at("09:58:00"), at("10:00:00"));
        assert_eq!(corrected(at("09:30:00"), signed, now), Ok(at("09:32:00")));
        assert_eq!(corrected(at("09:58:00"), signed, now), Ok(now));
        // Within the signed timestamp's resolution: now; beyond it, refused.
        assert_eq!(corrected(at("09:58:00.900"), signed, now), Ok(now));
        assert_eq!(
            corrected(at("09:58:01.001"), signed, now),
            Err(TimeRefusal::InTheFuture)
        );
        let long_ago = at("09:57:00") - SignedDuration::from_hours(24);
        assert_eq!(corrected(long_ago, signed, now), Err(TimeRefusal::TooOld));
    }

    #[test]
    fn device_order_then_upload_order() {
        let mut items = vec![
            (at("09:10:00"), 0, "b"),
            (at("09:05:00"), 1, "a"),
            (at("09:10:00"), 2, "c"),
        ];
        in_device_order(&mut items);
        let order: Vec<&str> = items.iter().map(|(_, _, x)| *x).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }
}
