//! The notifications queue's consumer. Each notice is recorded in every reader's in-app list
//! (once: the item's key is the notice's), then mailed, then marked mailed; a redelivery finds
//! what was done and does only the rest. SQS may deliver twice and the outbox may send again:
//! neither makes a second notification, and an email goes twice only if SES accepted it and
//! the mark after it failed.

use aws_lambda_events::event::sqs::SqsMessage;
use steward_access::Guard;
use steward_authz::Permission;
use steward_domain::booking::notice::Audience;
use steward_domain::booking::notice::{Notice, NoticeMessage};
use steward_kit::sqs::{RecordHandler, is_last_delivery};
use steward_store::StoreError;
use steward_store::identity::{IdentityStore, UserRecord};
use steward_store::mail::{Attachment, Email, Mailer};
use steward_store::notices::{NoticeStore, NotificationRecord, Recorded};

use crate::render::render;

/// More approvers than this are not all told (and the tenant's settings deserve a look).
const MAX_APPROVERS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("not a notice: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("rendering the notice: {0}")]
    Template(#[from] steward_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Deliverer {
    pub(crate) guard: Guard,
    pub(crate) identity: IdentityStore,
    pub(crate) notices: NoticeStore,
    pub(crate) mailer: Mailer,
    pub(crate) max_receives: u32,
    /// The key booking PINs are derived under.
    pub(crate) pins: [u8; 32],
}

impl RecordHandler for Deliverer {
    type Error = NotifyError;

    async fn handle(&self, record: &SqsMessage) -> Result<(), NotifyError> {
        let message: NoticeMessage =
            serde_json::from_str(record.body.as_deref().unwrap_or_default())?;
        let notice = message.into_notice();
        let delivered = self.deliver(&notice).await;
        if let Err(error) = &delivered
            && is_last_delivery(record, self.max_receives)
        {
            // The dead-letter queue holds it from here: left in the outbox, the schedule would
            // send it round again every few minutes for as long as it cannot be delivered.
            tracing::error!(notice = %notice.notice_id, %error, "last delivery failed; the notice goes to the dead-letter queue");
            self.notices.remove_from_outbox(&notice).await?;
        }
        delivered
    }
}

impl Deliverer {
    #[tracing::instrument(skip_all, fields(notice = %notice.notice_id, kind = %notice.kind))]
    pub async fn deliver(&self, notice: &Notice) -> Result<(), NotifyError> {
        for reader in self.readers(notice).await? {
            self.tell(notice, &reader).await?;
        }
        self.notices.remove_from_outbox(notice).await?;
        Ok(())
    }

    /// Who reads it: the organiser, or the approvers (not the one who asked); members who are
    /// suspended or gone are not told.
    async fn readers(&self, notice: &Notice) -> Result<Vec<UserRecord>, StoreError> {
        let readers = match notice.kind.audience() {
            Audience::Organiser => self
                .identity
                .user(&notice.tenant_id, &notice.organiser)
                .await?
                .into_iter()
                .collect(),
            Audience::Approvers => {
                let members = self
                    .identity
                    .members(&notice.tenant_id, 10_000)
                    .await?
                    .into_iter()
                    .filter(|member| member.user_id != notice.actor)
                    .collect();
                let mut approvers = self
                    .guard
                    .who_may(&notice.tenant_id, members, Permission::BookingsApprove)
                    .await?;
                if approvers.len() > MAX_APPROVERS {
                    tracing::warn!(
                        approvers = approvers.len(),
                        "more approvers than are told; the first {MAX_APPROVERS} are"
                    );
                    approvers.truncate(MAX_APPROVERS);
                }
                approvers
            }
        };
        Ok(readers
            .into_iter()
            .filter(|reader| reader.status == "active")
            .collect())
    }

    async fn tell(&self, notice: &Notice, reader: &UserRecord) -> Result<(), NotifyError> {
        let pin_of = |booking: &steward_domain::booking::entity::Booking| {
            steward_domain::terminal::pin::booking_pin(
                &self.pins,
                &booking.tenant_id,
                &booking.booking_id,
            )
        };
        // Only the organiser is given the PIN (approvers are told of the booking, not its door).
        let organiser = reader.user_id == notice.organiser;
        let rendered = render(
            notice,
            &reader.name,
            organiser
                .then_some(&pin_of as &dyn Fn(&steward_domain::booking::entity::Booking) -> String),
        )?;
        let notification = NotificationRecord::new(
            &notice.tenant_id,
            &reader.user_id,
            notice,
            rendered.subject.clone(),
            rendered.summary.clone(),
        );
        if self.notices.record(&notification).await? == Recorded::Done {
            return Ok(());
        }
        let attachments = rendered
            .calendar
            .map(|ics| Attachment {
                content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
                file_name: "booking.ics".into(),
                bytes: ics.into_bytes(),
            })
            .into_iter()
            .collect();
        self.mailer
            .send(&Email {
                to: vec![reader.email.clone()],
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments,
            })
            .await?;
        self.notices
            .mailed(&notification, &jiff::Timestamp::now().to_string())
            .await?;
        tracing::info!(reader = %reader.user_id, "notice delivered");
        Ok(())
    }
}
