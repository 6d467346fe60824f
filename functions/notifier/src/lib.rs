//! Notifications (SPEC §C): what booking changes tell people, by email and in the app.
//!
//! - `notifier`: the notifications queue's consumer ([`deliver`]): each notice recorded in its
//!   readers' in-app lists once, and mailed with SES (HTML and text; an .ics with
//!   confirmations); then its outbox entry goes.
//! - `reminders`: a schedule ([`schedule`]) that reminds organisers of bookings about to
//!   start, and sends again any notice still in the outbox (its first send failed).
//! - `notifications`: a member's own list ([`inbox`]), and marking it read.

pub mod deliver;
pub mod inbox;
pub mod render;
pub mod schedule;

use serde::Deserialize;
use steward_access::Guard;
use steward_kit::api::HttpFunction;
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::sqs::SqsFunction;
use steward_store::bookings::BookingStore;
use steward_store::identity::IdentityStore;
use steward_store::mail::Mailer;
use steward_store::notices::{NoticeQueue, NoticeStore};
use steward_store::rooms::RoomStore;
use steward_store::sweep::SweepStore;
use steward_store::{SdkConfig, Table};

/// Where notices come from and go (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct NotifierConfig {
    notifications_queue_url: String,
    notification_sender: String,
    /// How long before a booking starts its organiser is reminded.
    #[serde(default = "default_reminder_minutes")]
    reminder_minutes_before: i64,
    /// How often the reminders' schedule fires: each firing covers that much of start times.
    #[serde(default = "default_reminder_every")]
    reminder_every_minutes: i64,
    /// The queue's `maxReceiveCount`: on that delivery a failing notice leaves the outbox.
    #[serde(default = "default_max_receives")]
    notifications_max_receive_count: u32,
}

fn default_max_receives() -> u32 {
    5
}

fn default_reminder_minutes() -> i64 {
    30
}

fn default_reminder_every() -> i64 {
    5
}

/// Notices a notifier instance delivers at once (each a few requests, mostly waiting).
const NOTIFIER_CONCURRENCY: usize = 4;

pub fn init_notifier(
    env: &Env,
    aws: &SdkConfig,
) -> Result<SqsFunction<deliver::Deliverer>, ConfigError> {
    let common: Common = env.parse()?;
    let config: NotifierConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    Ok(SqsFunction::new(
        deliver::Deliverer {
            guard: Guard::from_env(env, &table)?,
            identity: IdentityStore::new(table.clone()),
            notices: NoticeStore::new(table),
            mailer: Mailer::new(aws, config.notification_sender),
            max_receives: config.notifications_max_receive_count.max(1),
            pins: common.signing_secret.derive("booking-pin"),
        },
        NOTIFIER_CONCURRENCY,
    ))
}

pub fn init_reminders(env: &Env, aws: &SdkConfig) -> Result<schedule::Reminders, ConfigError> {
    let common: Common = env.parse()?;
    let config: NotifierConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    Ok(schedule::Reminders {
        tenants: SweepStore::new(table.clone()),
        bookings: BookingStore::new(table.clone()),
        rooms: RoomStore::new(table.clone()),
        notices: NoticeStore::new(table),
        queue: NoticeQueue::new(aws, config.notifications_queue_url),
        before: jiff::SignedDuration::from_mins(config.reminder_minutes_before.max(1)),
        every: jiff::SignedDuration::from_mins(config.reminder_every_minutes.max(1)),
    })
}

pub fn init_notifications(
    env: &Env,
    aws: &SdkConfig,
) -> Result<HttpFunction<inbox::Inbox>, ConfigError> {
    let instance = steward_access::Instance::new(env, aws)?;
    let inbox = inbox::Inbox {
        guard: instance.guard()?,
        notices: NoticeStore::new(instance.table()),
        auditor: instance.auditor(),
        cursors: instance.cursors(),
    };
    instance.keyed_http(inbox)
}

steward_kit::binaries! {
    "notifier" => init_notifier,
    "reminders" => init_reminders,
    "notifications" => init_notifications,
}
