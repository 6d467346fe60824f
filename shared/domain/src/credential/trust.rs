//! A provider's trust score (SPEC §E): the weights of the tenant's credential types the provider
//! holds verified and unexpired, over the weights of all types, as 0 to 100, with the breakdown
//! that explains it (each type, its weight, the credential counted and when it expires).

use jiff::Timestamp;
use serde::Serialize;

use super::Held;
use super::status::CredentialStatus;

/// One of the tenant's credential types, as the score weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighed<'a> {
    pub type_id: &'a str,
    pub name: &'a str,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub type_id: String,
    pub name: String,
    pub weight: u32,
    /// The credential that counts for it, if one does.
    pub credential_id: Option<String>,
    pub status: Option<CredentialStatus>,
    pub expires_at: Option<Timestamp>,
    pub counted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustScore {
    /// 0 to 100; 0 when the tenant weighs no type.
    pub score: u32,
    pub breakdown: Vec<Line>,
}

/// The score at `now` of a provider holding `holdings` among the tenant's `types`.
pub fn trust_score(types: &[Weighed<'_>], holdings: &[Held<'_>], now: Timestamp) -> TrustScore {
    let valid = |h: &Held<'_>| h.valid_through(now);
    let breakdown: Vec<Line> = types
        .iter()
        .map(|t| {
            let theirs: Vec<&Held<'_>> =
                holdings.iter().filter(|h| h.type_id == t.type_id).collect();
            // The best of theirs: a valid one (the latest expiry), else the latest of any.
            let best = theirs
                .iter()
                .filter(|h| valid(h))
                .max_by_key(|h| h.expires_at.unwrap_or(Timestamp::MAX))
                .or_else(|| theirs.last())
                .copied();
            Line {
                type_id: t.type_id.to_owned(),
                name: t.name.to_owned(),
                weight: t.weight,
                credential_id: best.map(|h| h.credential_id.to_owned()),
                status: best.map(|h| h.status),
                expires_at: best.and_then(|h| h.expires_at),
                counted: best.is_some_and(valid),
            }
        })
        .collect();
    let total: u32 = breakdown.iter().map(|l| l.weight).sum();
    let earned: u32 = breakdown
        .iter()
        .filter(|l| l.counted)
        .map(|l| l.weight)
        .sum();
    TrustScore {
        // Rounded to the nearest point; no weighed type scores 0.
        score: (earned * 100 + total / 2).checked_div(total).unwrap_or(0),
        breakdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_weighs_valid_credentials_and_explains_itself() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let types = [
            Weighed {
                type_id: "a",
                name: "First aid",
                weight: 30,
            },
            Weighed {
                type_id: "b",
                name: "DBS",
                weight: 60,
            },
            Weighed {
                type_id: "c",
                name: "Insurance",
                weight: 10,
            },
        ];
        let holdings = [
            Held {
                credential_id: "cr1",
                type_id: "a",
                status: CredentialStatus::Verified,
                expires_at: None,
            },
            Held {
                credential_id: "cr2",
                type_id: "b",
                status: CredentialStatus::Verified,
                expires_at: Some("2026-05-01T00:00:00Z".parse().unwrap()),
            },
            Held {
                credential_id: "cr3",
                type_id: "c",
                status: CredentialStatus::PendingReview,
                expires_at: None,
            },
        ];
        let score = trust_score(&types, &holdings, now);
        assert_eq!(score.score, 30);
        let counted: Vec<bool> = score.breakdown.iter().map(|l| l.counted).collect();
        assert_eq!(counted, [true, false, false]);
        assert_eq!(
            score.breakdown[1].credential_id.as_deref(),
            Some("cr2"),
            "shown, expired"
        );
        assert_eq!(trust_score(&[], &holdings, now).score, 0);
    }
}
