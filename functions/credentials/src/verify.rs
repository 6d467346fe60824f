//! The verifier: each uploaded credential file is checked once (SPEC §E). Its size must be
//! within its type's limit and the size its upload URL was signed for, its magic bytes those of
//! the declared type; it then waits for review (or is verified where its type needs none), with
//! its SHA-256 recorded. A refused file is deleted and the credential rejected with the reason.
//! S3 may send an event twice: only a credential still awaiting its upload is checked, and the
//! change is written over the version read.

use aws_lambda_events::event::sqs::SqsMessage;
use jiff::Timestamp;
use serde::Deserialize;
use steward_domain::credential::file::{HEAD_BYTES, check};
use steward_domain::credential::status::{CredentialStatus, review_due};
use steward_kit::sqs::RecordHandler;
use steward_store::StoreError;
use steward_store::credentials::{CredentialStore, CredentialWriteError, parse_object_key};
use steward_store::objects::{Bucket, event_key};

/// The part of an S3 event notification the verifier reads. Not `aws_lambda_events`'
/// `S3Event`: it requires every field S3 documents (`userIdentity`, ...), and a record missing
/// one that the verifier does not need should not fail.
#[derive(Debug, Deserialize)]
struct S3Event {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
}

pub struct Verifier {
    pub(crate) credentials: CredentialStore,
    pub(crate) bucket: Bucket,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not an S3 event: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RecordHandler for Verifier {
    type Error = VerifyError;

    async fn handle(&self, record: &SqsMessage) -> Result<(), VerifyError> {
        let body = record.body.as_deref().unwrap_or_default();
        // S3's own test message when a notification is set: nothing to verify.
        if body.contains("\"s3:TestEvent\"") {
            return Ok(());
        }
        let event: S3Event = serde_json::from_str(body)?;
        for record in event.records {
            self.verify(&event_key(&record.s3.object.key)).await?;
        }
        Ok(())
    }
}

impl Verifier {
    #[tracing::instrument(skip(self))]
    async fn verify(&self, key: &str) -> Result<(), VerifyError> {
        let Some((tenant_id, credential_id)) = parse_object_key(key) else {
            tracing::warn!("an object that is no credential's; left alone");
            return Ok(());
        };
        let Some(current) = self.credentials.get(tenant_id, credential_id).await? else {
            tracing::warn!("no credential for this object; left alone");
            return Ok(());
        };
        if current.object_key != key {
            return Ok(());
        }
        match current.status {
            CredentialStatus::AwaitingUpload => {}
            // The verifier refused this key's file and deleted it; another sent through the
            // same URL before it expired is not kept either.
            CredentialStatus::Rejected if current.decided_by.is_none() => {
                self.bucket.delete(key).await?;
                return Ok(());
            }
            // Checked already: S3 sent the event twice.
            _ => return Ok(()),
        }
        let Some(kind) = self
            .credentials
            .credential_type(tenant_id, &current.type_id)
            .await?
        else {
            tracing::warn!(type_id = %current.type_id, "the credential's type is gone; left awaiting");
            return Ok(());
        };
        let Some((size, head)) = self.bucket.head_of(key, HEAD_BYTES).await? else {
            return Ok(());
        };
        let now = Timestamp::now();
        let limit = kind.kind.max_bytes.min(current.declared_bytes);
        let mut next = current.revised(&now.to_string());
        next.uploaded_at = Some(now.to_string());
        match check(current.file_kind, size, limit, &head) {
            Ok(()) => {
                let bytes = self.bucket.get(key).await?;
                next.sha256 = Some(steward_domain::digest::sha256_hex(&bytes));
                next.status = CredentialStatus::after_upload(kind.kind.review_required);
                if next.status == CredentialStatus::PendingReview {
                    next.review_due = Some(review_due(now).to_string());
                }
            }
            Err(refusal) => {
                next.status = CredentialStatus::Rejected;
                next.reason = Some(refusal.to_string());
            }
        }
        match self
            .credentials
            .put(&next, Some(current.version), None)
            .await
        {
            Ok(()) => {}
            // Another delivery of the same event got there first.
            Err(CredentialWriteError::Stale) => return Ok(()),
            Err(CredentialWriteError::Store(error)) => return Err(error.into()),
        }
        if next.status == CredentialStatus::Rejected {
            // Kept no longer than it takes to say why.
            self.bucket.delete(key).await?;
        }
        tracing::info!(
            status = next.status.as_str(),
            size,
            "credential file checked"
        );
        Ok(())
    }
}
