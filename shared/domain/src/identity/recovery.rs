//! Links sent by email: how long a reset or a sign-up's confirmation works, and how often one
//! address is sent one.

/// How long a password-reset token works after it was sent.
pub const RESET_MINUTES: i64 = 30;

/// Emails of one kind (reset links, sign-up links) one address is sent within any
/// [`LINK_MAIL_WINDOW_SECONDS`]: more asks are dropped without a word, so that nobody can flood
/// a person's inbox through Steward.
pub const LINK_MAILS_PER_WINDOW: usize = 5;

pub const LINK_MAIL_WINDOW_SECONDS: i64 = 3_600;

/// How long a sign-up's confirmation link works.
pub const SIGN_UP_HOURS: i64 = 24;

/// Whether one more link email may go at `now`, given the times (seconds) the address was sent
/// one before: if so, the times to keep, `now` among them. The window slides: at most
/// [`LINK_MAILS_PER_WINDOW`] in any [`LINK_MAIL_WINDOW_SECONDS`], where windows fixed to the
/// clock's hours let twice as many through across an hour's turn.
pub fn admit_link_mail(sent: &[i64], now: i64) -> Option<Vec<i64>> {
    let mut recent: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|&at| at > now - LINK_MAIL_WINDOW_SECONDS)
        .collect();
    (recent.len() < LINK_MAILS_PER_WINDOW).then(|| {
        recent.push(now);
        recent
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the window's allowance at `start`, one email a second.
    fn filled(start: i64) -> Vec<i64> {
        (0..)
            .map(|i| start + i)
            .take(LINK_MAILS_PER_WINDOW)
            .collect()
    }

    #[test]
    fn five_go_and_the_sixth_waits_a_whole_window() {
        let mut sent = Vec::new();
        for second in 0..LINK_MAILS_PER_WINDOW as i64 {
            sent = admit_link_mail(&sent, 1_000 + second).expect("within the allowance");
        }
        assert_eq!(sent, filled(1_000));
        assert_eq!(admit_link_mail(&sent, 1_005), None);
        assert_eq!(
            admit_link_mail(&sent, 1_000 + LINK_MAIL_WINDOW_SECONDS - 1),
            None
        );
        // The first email has left the window: one more may go, and the first is forgotten.
        let later = 1_000 + LINK_MAIL_WINDOW_SECONDS;
        let kept = admit_link_mail(&sent, later).expect("the first left the window");
        assert_eq!(kept.len(), LINK_MAILS_PER_WINDOW);
        assert_eq!(kept.first(), Some(&1_001));
        assert_eq!(kept.last(), Some(&later));
    }

    #[test]
    fn an_hours_turn_lets_nothing_more_through() {
        // Five a second before a clock hour turns; a second after it, still none.
        let turn = 22 * LINK_MAIL_WINDOW_SECONDS;
        let sent = filled(turn - LINK_MAILS_PER_WINDOW as i64);
        assert_eq!(admit_link_mail(&sent, turn + 1), None);
    }
}
