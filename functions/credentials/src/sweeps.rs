//! The credential sweeps (SPEC §E), each fired by its schedule with the time it was fired for:
//!
//! - `escalate` (hourly): every review past its 4-hour SLA is escalated once: its reviewers
//!   (every active member Cedar allows `credentials:review`, but its provider) are emailed and
//!   `escalated_at` is set over the version read, which takes it off the review-due index, so a
//!   firing delivered twice, or the next hour's, escalates nothing twice;
//! - `expire` (nightly): verified credentials past their expiry become `expired` (their
//!   provider told); those expiring within [`REMIND_BEFORE`] are reminded once (`reminded_at`).
//!
//! Both read cross-tenant sparse indexes (8 partitions each), whatever the number of tenants.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use jiff::{SignedDuration, Timestamp};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::Guard;
use steward_authz::Permission;
use steward_domain::credential::status::CredentialStatus;
use steward_kit::runtime::{Error, Function};
use steward_store::StoreError;
use steward_store::credentials::{CredentialRecord, CredentialStore, CredentialWriteError};
use steward_store::identity::IdentityStore;
use steward_store::mail::{Email, Mailer};

/// How long before its expiry a provider is reminded.
pub const REMIND_BEFORE: SignedDuration = SignedDuration::from_hours(14 * 24);

/// Credentials handled per partition per firing; the rest wait for the next.
const PER_SHARD: usize = 200;

#[derive(Debug, Deserialize)]
struct Input {
    sweep: String,
}

pub struct CredentialSweeps {
    pub(crate) store: CredentialStore,
    pub(crate) identity: IdentityStore,
    pub(crate) guard: Guard,
    pub(crate) mailer: Mailer,
}

impl Function for CredentialSweeps {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let at = steward_kit::runtime::scheduled_time(&event.payload);
        let input: Input = serde_json::from_value(event.payload)?;
        let done = match input.sweep.as_str() {
            "escalate" => json!({ "escalated": self.escalate(at).await? }),
            "expire" => {
                let (expired, reminded) = self.expire(at).await?;
                json!({ "expired": expired, "reminded": reminded })
            }
            other => return Err(format!("unknown sweep {other:?}").into()),
        };
        tracing::info!(sweep = %input.sweep, %at, %done, "credential sweep");
        Ok(json!({ "sweep": input.sweep, "at": at, "done": done }))
    }
}

impl CredentialSweeps {
    /// Writes `next` over `current`'s version: `false` when another run got there first.
    async fn changed(
        &self,
        current: &CredentialRecord,
        next: &CredentialRecord,
    ) -> Result<bool, StoreError> {
        match self.store.put(next, Some(current.version), None).await {
            Ok(()) => Ok(true),
            Err(CredentialWriteError::Stale) => Ok(false),
            Err(CredentialWriteError::Store(error)) => Err(error),
        }
    }

    async fn escalate(&self, at: Timestamp) -> Result<usize, StoreError> {
        let overdue = self.store.overdue(&at.to_string(), PER_SHARD).await?;
        let mut escalated = 0;
        // Each tenant's reviewers, read once per firing however many of its reviews are late.
        let mut reviewers_of: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for current in overdue {
            if current.status != CredentialStatus::PendingReview || current.escalated_at.is_some() {
                continue;
            }
            let mut next = current.revised(&Timestamp::now().to_string());
            next.escalated_at = Some(at.to_string());
            if !self.changed(&current, &next).await? {
                continue;
            }
            let reviewers = match reviewers_of.entry(current.tenant_id.clone()) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => {
                    let members = self.identity.members(&current.tenant_id, 1_000).await?;
                    let may_review = self
                        .guard
                        .who_may(&current.tenant_id, members, Permission::CredentialsReview)
                        .await?
                        .into_iter()
                        .filter(|user| user.status == "active")
                        .map(|user| (user.user_id, user.email))
                        .collect();
                    slot.insert(may_review)
                }
            };
            // Nobody reviews their own: its provider is not asked.
            let reviewers: Vec<String> = reviewers
                .iter()
                .filter(|(user_id, _)| *user_id != current.provider)
                .map(|(_, email)| email.clone())
                .collect();
            if !reviewers.is_empty() {
                self.mailer
                    .send(&Email {
                        to: reviewers,
                        subject: format!("Overdue review: credential {}", current.credential_id),
                        text: format!(
                            "A credential uploaded at {} was due for review by {} and is still waiting.\n\nSteward\n",
                            current.uploaded_at.as_deref().unwrap_or("-"),
                            current.review_due.as_deref().unwrap_or("-"),
                        ),
                        html: None,
                        attachments: Vec::new(),
                    })
                    .await?;
            }
            escalated += 1;
        }
        Ok(escalated)
    }

    async fn expire(&self, at: Timestamp) -> Result<(usize, usize), StoreError> {
        let soon = self
            .store
            .expiring(&(at + REMIND_BEFORE).to_string(), PER_SHARD)
            .await?;
        let (mut expired, mut reminded) = (0, 0);
        for current in soon {
            let Some(expires_at) = current.expiry() else {
                continue;
            };
            let mut next = current.revised(&Timestamp::now().to_string());
            let (subject, counter) = if expires_at <= at {
                next.status = CredentialStatus::Expired;
                ("has expired", &mut expired)
            } else if current.reminded_at.is_none() {
                next.reminded_at = Some(at.to_string());
                ("expires soon", &mut reminded)
            } else {
                continue;
            };
            if !self.changed(&current, &next).await? {
                continue;
            }
            *counter += 1;
            if let Some(provider) = self
                .identity
                .user(&current.tenant_id, &current.provider)
                .await?
            {
                self.mailer
                    .send(&Email {
                        to: vec![provider.email],
                        subject: format!("Your credential {subject}"),
                        text: format!(
                            "Hello {},\n\nYour credential {} {subject} ({}). Upload a new one to keep booking the rooms that need it.\n\nSteward\n",
                            provider.name, current.credential_id, expires_at
                        ),
                        html: None,
                        attachments: Vec::new(),
                    })
                    .await?;
            }
        }
        Ok((expired, reminded))
    }
}
