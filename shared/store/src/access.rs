//! A tenant's access policy in the table: members and custom roles as the policy state, one
//! snapshot per policy version, change requests awaiting a second admin, and invitations.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | policy snapshot | `T#<tenant>` | `POLICY#<version, 20 digits>` |
//! | change request | `T#<tenant>` | `CHANGE#<id>` |
//! | invitation | `T#<tenant>` | `INVITE#<id>` |
//!
//! Every change to roles or members goes through [`AccessStore::commit`]: one transaction that
//! moves the tenant's `policy_version` from `v` to `v + 1` (conditionally, so two concurrent
//! changes cannot both build on `v`), rewrites the member, stores snapshot `v + 1`, writes the
//! audit entry, and does whatever else the change consists of (the change request it
//! approves, the invitation it accepts).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use steward_domain::access::{Change, Member, MemberStatus, PolicySnapshot, PolicyState, RoleRef};

use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::identity::{TenantRecord, UserRecord};
use crate::write::tenant_pk;
use crate::write::{delete, failed_condition, key, put, update};
use crate::{PageKey, Query, StoreError, Table};

fn attribute<T: Serialize>(
    value: &T,
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Failed(Box::new(e)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub pk: String,
    pub sk: String,
    pub version: u64,
    pub at: String,
    pub snapshot: PolicySnapshot,
}

impl SnapshotRecord {
    pub fn new(tenant_id: &str, snapshot: PolicySnapshot, at: &str) -> Self {
        Self {
            pk: tenant_pk(tenant_id),
            sk: Self::sort_key(snapshot.version),
            version: snapshot.version,
            at: at.to_owned(),
            snapshot,
        }
    }

    /// A new tenant's first policy snapshot: its one member, `user_id`, active with `roles`.
    pub fn founding(
        tenant: &TenantRecord,
        user_id: &str,
        roles: BTreeSet<RoleRef>,
        at: &str,
    ) -> Self {
        let state = PolicyState {
            version: tenant.policy_version,
            dual_approval: tenant.dual_approval,
            custom_roles: tenant.custom_roles.clone(),
            members: [(
                user_id.to_owned(),
                Member {
                    roles,
                    status: MemberStatus::Active,
                },
            )]
            .into(),
        };
        Self::new(&tenant.tenant_id, PolicySnapshot::from(&state), at)
    }

    fn sort_key(version: u64) -> String {
        format!("POLICY#{version:020}")
    }
}

/// A change waiting for a second admin (SPEC §B).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequestRecord {
    pub pk: String,
    pub sk: String,
    pub change_request_id: String,
    pub change: Change,
    pub requested_by: String,
    pub created_at: String,
    /// Unix seconds after which it can no longer be approved.
    pub expires_at: i64,
    /// `pending`, `approved` or `rejected`; a pending one past `expires_at` reads as `expired`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

impl ChangeRequestRecord {
    pub fn key(tenant_id: &str, id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("CHANGE#{id}"))
    }

    /// The status as of `now`.
    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "pending" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

/// An invitation to join a tenant; its token is stored as a hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub pk: String,
    pub sk: String,
    pub invitation_id: String,
    pub tenant_id: String,
    pub email: String,
    pub roles: BTreeSet<RoleRef>,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: i64,
    /// `pending`, `accepted`, `revoked` or [`AWAITING_APPROVAL`]; a pending one past
    /// `expires_at` reads as `expired`.
    pub status: String,
    pub token_hash: String,
    pub accepted_by: Option<String>,
}

/// The status of an invitation that waits for a second approver before it is sent (an
/// operator's: the platform's role changes are always dual-approved).
pub const AWAITING_APPROVAL: &str = "awaiting_approval";

impl InvitationRecord {
    pub fn key(tenant_id: &str, id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("INVITE#{id}"))
    }

    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "pending" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

/// What else commits with a policy change.
#[derive(Debug, Clone, Copy)]
pub enum Also<'a> {
    Nothing,
    /// The change request being approved: still pending, unexpired, not the approver's own.
    Approve {
        change_request_id: &'a str,
        approver: &'a str,
        at: &'a str,
        now: i64,
    },
    /// The invitation being accepted (still pending and unexpired), with the new user: the
    /// membership of `account`, made now (its email claimed), or of the user's account, which
    /// exists (`None`).
    Accept {
        invitation_id: &'a str,
        user: &'a UserRecord,
        account: Option<&'a crate::accounts::AccountRecord>,
        /// The tenant's name, kept on the account's membership.
        tenant_name: &'a str,
        now: i64,
    },
    /// A member made by the tenant's identity provider or directory, with no invitation: the
    /// new user and the membership of `account`, made now (its email claimed), or of the
    /// user's account, which exists (`None`). It takes a seat in the commit's update of the
    /// tenant, conditioned on a free one when `enforce_seat_limit`: a commit that finds none
    /// fails as [`CommitError::Moved`], and the retry's read of the tenant sees the seats
    /// taken.
    Provision {
        user: &'a UserRecord,
        account: Option<&'a crate::accounts::AccountRecord>,
        tenant_name: &'a str,
        enforce_seat_limit: bool,
    },
    /// The removed member's membership of their account ended.
    Leave {
        user: &'a UserRecord,
    },
}

/// A policy change ready to commit: `state` is the state after `change`, at the next version.
#[derive(Debug, Clone, Copy)]
pub struct PolicyCommit<'a> {
    pub tenant_id: &'a str,
    pub state: &'a PolicyState,
    pub change: &'a Change,
    pub audit: &'a AuditEntry,
    pub at: &'a str,
    pub also: Also<'a>,
}

/// Why a commit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Another change committed first: load the state again and retry.
    #[error("the policy moved on while this change was prepared")]
    Moved,
    /// The change request is no longer pending (decided, expired) or is the approver's own.
    #[error("the change request cannot be approved")]
    NotApprovable,
    /// The invitation is no longer pending or has expired.
    #[error("the invitation is no longer valid")]
    InvitationSpent,
    #[error("the email is already registered")]
    EmailTaken,
    /// The accepting account is a member of the tenant already.
    #[error("you are a member of this organisation already")]
    AlreadyMember,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an invitation was not created.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// Every seat of the licence is taken (members and pending invitations).
    #[error("no seat is left")]
    NoSeatLeft,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tenant item's seat count moved by `delta` (+1 takes a seat, -1 releases one); taking one
/// is conditioned on a free seat when `enforce_limit`.
fn seat_update(
    table: &str,
    tenant_id: &str,
    delta: i64,
    enforce_limit: bool,
) -> Result<TransactWriteItem, StoreError> {
    let builder = Update::builder()
        .table_name(table)
        .set_key(Some(key(tenant_pk(tenant_id), "TENANT".into())))
        .update_expression("SET #licence.#used = #licence.#used + :delta")
        .expression_attribute_names("#licence", "licence")
        .expression_attribute_names("#used", "seats_used")
        .expression_attribute_values(":delta", n(delta));
    let builder = if delta > 0 && enforce_limit {
        builder
            .condition_expression("#licence.#used < #licence.#limits.#seats")
            .expression_attribute_names("#limits", "limits")
            .expression_attribute_names("#seats", "seats")
    } else {
        builder.condition_expression("attribute_exists(pk)")
    };
    update(builder.build())
}

#[derive(Clone, Debug)]
pub struct AccessStore {
    table: Table,
}

impl AccessStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The tenant and its policy state, read consistently; `None` for an unknown tenant.
    pub async fn load(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(TenantRecord, PolicyState)>, StoreError> {
        let Some(tenant) = self
            .table
            .get::<TenantRecord>(tenant_pk(tenant_id), "TENANT".into(), true)
            .await?
        else {
            return Ok(None);
        };
        let partition = tenant_pk(tenant_id);
        let mut members = std::collections::BTreeMap::new();
        let mut start = None;
        loop {
            let query = Query::partition(&partition).with_prefix("USER#");
            let (page, next) = self
                .table
                .query_page::<UserRecord>(query, 500, start)
                .await?;
            for user in page {
                let member = user.member()?;
                members.insert(user.user_id, member);
            }
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let state = PolicyState {
            version: tenant.policy_version,
            dual_approval: tenant.dual_approval,
            custom_roles: tenant.custom_roles.clone(),
            members,
        };
        Ok(Some((tenant, state)))
    }

    /// Commits a policy change (see the module's documentation).
    pub async fn commit(&self, commit: PolicyCommit<'_>) -> Result<(), CommitError> {
        let table = self.table.name();
        let state = commit.state;
        let tenant_id = commit.tenant_id;
        let previous = state.version - 1;
        // A removed member's seat is released, and a provisioned member's taken, in the same
        // update (a transaction touches the tenant item once).
        let seats_by: i64 = match (commit.change, commit.also) {
            (Change::RemoveMember { .. }, _) => -1,
            (_, Also::Provision { .. }) => 1,
            _ => 0,
        };
        let seat_limited = matches!(
            commit.also,
            Also::Provision {
                enforce_seat_limit: true,
                ..
            }
        );
        let mut tenant = Update::builder()
            .table_name(table)
            .set_key(Some(key(tenant_pk(tenant_id), "TENANT".into())))
            .update_expression(if seats_by == 0 {
                "SET policy_version = :next, custom_roles = :roles, dual_approval = :dual"
            } else {
                "SET policy_version = :next, custom_roles = :roles, dual_approval = :dual, \
                 #licence.#used = #licence.#used + :seats"
            })
            .condition_expression(if seat_limited {
                "policy_version = :previous AND #licence.#used < #licence.#limits.#seats"
            } else {
                "policy_version = :previous"
            })
            .expression_attribute_values(":next", n(state.version))
            .expression_attribute_values(":previous", n(previous))
            .expression_attribute_values(":roles", attribute(&state.custom_roles)?)
            .expression_attribute_values(
                ":dual",
                aws_sdk_dynamodb::types::AttributeValue::Bool(state.dual_approval),
            );
        if seats_by != 0 {
            tenant = tenant
                .expression_attribute_names("#licence", "licence")
                .expression_attribute_names("#used", "seats_used")
                .expression_attribute_values(":seats", n(seats_by));
        }
        if seat_limited {
            tenant = tenant
                .expression_attribute_names("#limits", "limits")
                .expression_attribute_names("#seats", "seats");
        }
        let mut items = vec![
            update(tenant.build())?,
            put(
                &SnapshotRecord::new(tenant_id, PolicySnapshot::from(state), commit.at),
                table,
                Some("attribute_not_exists(pk)"),
            )?,
            put(commit.audit, table, None)?,
        ];
        // Conditions on these and on the member's write fail only when another change got
        // there first.
        items.extend(self.member_write(tenant_id, commit.change, state)?);
        let first_also = items.len();
        items.extend(self.also(tenant_id, commit.also)?);

        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) => match failed_condition(&error) {
                Some(index) if index < first_also => Err(CommitError::Moved),
                Some(index) => Err(match commit.also {
                    Also::Approve { .. } => CommitError::NotApprovable,
                    Also::Accept { .. } if index == first_also => CommitError::InvitationSpent,
                    Also::Accept {
                        account: Some(_), ..
                    } => CommitError::EmailTaken,
                    Also::Accept { account: None, .. } if index == first_also + 1 => {
                        CommitError::AlreadyMember
                    }
                    Also::Accept { account: None, .. } => CommitError::Moved,
                    Also::Provision {
                        account: Some(_), ..
                    } => CommitError::EmailTaken,
                    Also::Provision { account: None, .. } if index == first_also => {
                        CommitError::AlreadyMember
                    }
                    Also::Provision { account: None, .. } => CommitError::Moved,
                    Also::Nothing | Also::Leave { .. } => CommitError::Moved,
                }),
                None => Err(StoreError::from_sdk(error).into()),
            },
        }
    }

    /// The write of the member record a change rewrites.
    fn member_write(
        &self,
        tenant_id: &str,
        change: &Change,
        state: &PolicyState,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let Some(user_id) = change.member() else {
            return Ok(Vec::new());
        };
        let (pk, sk) = UserRecord::key(tenant_id, user_id);
        let table = self.table.name();
        Ok(match (change, state.members.get(user_id)) {
            // The new user's item is written by `Also::Accept`.
            (Change::AddMember { .. }, _) => Vec::new(),
            (_, None) => vec![delete(table, pk, sk, Some("attribute_exists(pk)"))?],
            (_, Some(member)) => vec![update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET #roles = :roles, #status = :status")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#roles", "roles")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":roles", attribute(&member.roles)?)
                    .expression_attribute_values(":status", attribute(&member.status)?)
                    .build(),
            )?],
        })
    }

    fn also(&self, tenant_id: &str, also: Also<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let table = self.table.name();
        Ok(match also {
            Also::Nothing => Vec::new(),
            Also::Approve {
                change_request_id,
                approver,
                at,
                now,
            } => {
                let (pk, sk) = ChangeRequestRecord::key(tenant_id, change_request_id);
                vec![update(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(key(pk, sk)))
                        .update_expression(
                            "SET #status = :approved, decided_by = :by, decided_at = :at",
                        )
                        .condition_expression(
                            "#status = :pending AND expires_at > :now AND requested_by <> :by",
                        )
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":approved", s("approved"))
                        .expression_attribute_values(":pending", s("pending"))
                        .expression_attribute_values(":by", s(approver))
                        .expression_attribute_values(":at", s(at))
                        .expression_attribute_values(":now", n(now))
                        .build(),
                )?]
            }
            Also::Accept {
                invitation_id,
                user,
                account,
                tenant_name,
                now,
            } => {
                let (pk, sk) = InvitationRecord::key(tenant_id, invitation_id);
                let mut items = vec![update(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(key(pk, sk)))
                        .update_expression("SET #status = :accepted, accepted_by = :user")
                        .condition_expression("#status = :pending AND expires_at > :now")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":accepted", s("accepted"))
                        .expression_attribute_values(":pending", s("pending"))
                        .expression_attribute_values(":user", s(&user.user_id))
                        .expression_attribute_values(":now", n(now))
                        .build(),
                )?];
                items.extend(match account {
                    Some(account) => {
                        crate::accounts::new_account(table, account, user, tenant_name)?
                    }
                    None => crate::accounts::join(table, user, tenant_name)?,
                });
                items.push(put(user, table, Some("attribute_not_exists(pk)"))?);
                items
            }
            Also::Provision {
                user,
                account,
                tenant_name,
                ..
            } => {
                let mut items = match account {
                    Some(account) => {
                        crate::accounts::new_account(table, account, user, tenant_name)?
                    }
                    None => crate::accounts::join(table, user, tenant_name)?,
                };
                items.push(put(user, table, Some("attribute_not_exists(pk)"))?);
                items
            }
            Also::Leave { user } => crate::accounts::leave(table, user)?,
        })
    }

    /// A new invitation with its audit entry, holding a seat of the licence until it is
    /// accepted (the seat becomes the member's) or revoked.
    pub async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        audit: &AuditEntry,
        enforce_limit: bool,
    ) -> Result<(), InviteError> {
        let table = self.table.name();
        let items = vec![
            seat_update(table, &invitation.tenant_id, 1, enforce_limit)?,
            put(invitation, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => Err(InviteError::NoSeatLeft),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// Writes a new item (a change request) with its audit entry.
    pub async fn create<T: Serialize>(
        &self,
        item: &T,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let items = vec![
            put(item, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ];
        self.table
            .transact(items)
            .await
            .map_err(StoreError::from_sdk)
    }

    /// Writes a change request with its audit entry unless one of its id exists already (a
    /// directory asking again for the same change): `false` then, nothing written.
    pub async fn request_once(
        &self,
        request: &ChangeRequestRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let items = vec![
            put(request, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Moves a pending, unexpired item (`CHANGE#` or `INVITE#`) to `status`, with its audit
    /// entry and `reason`, releasing the seat a revoked invitation held in `release_seat_of`'s
    /// licence; `false` when it was not pending any more (nothing written).
    #[allow(clippy::too_many_arguments)]
    pub async fn close(
        &self,
        (pk, sk): (String, String),
        status: &str,
        by: &str,
        at: &str,
        reason: Option<&str>,
        now: i64,
        audit: &AuditEntry,
        release_seat_of: Option<&str>,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let mut items = vec![
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression(
                        "SET #status = :status, decided_by = :by, decided_at = :at, reason = :reason",
                    )
                    .condition_expression("#status = :pending AND expires_at > :now")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status))
                    .expression_attribute_values(":pending", s("pending"))
                    .expression_attribute_values(":by", s(by))
                    .expression_attribute_values(":at", s(at))
                    .expression_attribute_values(":reason", attribute(&reason)?)
                    .expression_attribute_values(":now", n(now))
                    .build(),
            )?,
            put(audit, table, None)?,
        ];
        if let Some(tenant_id) = release_seat_of {
            items.push(seat_update(table, tenant_id, -1, false)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// A pending, unexpired invitation's token replaced by `token_hash` and its end moved to
    /// `expires_at` (a resend: the old link stops working), with its audit entry; `false` when
    /// it was not pending any more (nothing written).
    pub async fn renew_invitation(
        &self,
        tenant_id: &str,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let (pk, sk) = InvitationRecord::key(tenant_id, id);
        let items = vec![
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET token_hash = :hash, expires_at = :expires")
                    .condition_expression("#status = :pending AND expires_at > :now")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":hash", s(token_hash))
                    .expression_attribute_values(":expires", n(expires_at))
                    .expression_attribute_values(":pending", s("pending"))
                    .expression_attribute_values(":now", n(now))
                    .build(),
            )?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Decides an invitation awaiting a second approver (an operator's), with its audit
    /// entry, if it still awaits, has not expired and `decider` did not create it: approved,
    /// it becomes pending with the token `token_hash` and runs until `expires_at`; refused
    /// (`None`), it is revoked and its seat released. `false` when nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_awaiting_invitation(
        &self,
        tenant_id: &str,
        id: &str,
        decider: &str,
        approved: Option<(&str, i64)>,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let (pk, sk) = InvitationRecord::key(tenant_id, id);
        let change = Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .condition_expression(
                "#status = :awaiting AND expires_at > :now AND invited_by <> :decider",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":awaiting", s(AWAITING_APPROVAL))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":decider", s(decider));
        let change = match approved {
            Some((token_hash, expires_at)) => change
                .update_expression(
                    "SET #status = :pending, token_hash = :hash, expires_at = :expires",
                )
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":hash", s(token_hash))
                .expression_attribute_values(":expires", n(expires_at)),
            None => change
                .update_expression("SET #status = :revoked")
                .expression_attribute_values(":revoked", s("revoked")),
        };
        let mut items = vec![update(change.build())?, put(audit, table, None)?];
        if approved.is_none() {
            items.push(seat_update(table, tenant_id, -1, false)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    pub async fn change_request(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ChangeRequestRecord>, StoreError> {
        let (pk, sk) = ChangeRequestRecord::key(tenant_id, id);
        self.table.get(pk, sk, true).await
    }

    pub async fn invitation(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        let (pk, sk) = InvitationRecord::key(tenant_id, id);
        self.table.get(pk, sk, true).await
    }

    pub async fn snapshot(
        &self,
        tenant_id: &str,
        version: u64,
    ) -> Result<Option<SnapshotRecord>, StoreError> {
        self.table
            .get(
                tenant_pk(tenant_id),
                SnapshotRecord::sort_key(version),
                false,
            )
            .await
    }

    /// One page of the tenant's items of a kind (`CHANGE#`, `INVITE#`, `POLICY#`, `USER#`),
    /// oldest first.
    pub async fn page<T: serde::de::DeserializeOwned>(
        &self,
        tenant_id: &str,
        prefix: &str,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<T>, Option<PageKey>), StoreError> {
        let partition = tenant_pk(tenant_id);
        self.table
            .query_page(
                Query::partition(&partition).with_prefix(prefix),
                limit,
                start,
            )
            .await
    }
}

impl AccessStore {
    /// One page of any query within the table (the audit log's partitions and indexes).
    pub async fn query<T: serde::de::DeserializeOwned>(
        &self,
        query: Query<'_>,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<T>, Option<PageKey>), StoreError> {
        self.table.query_page(query, limit, start).await
    }
}

impl UserRecord {
    /// The user as access control sees them: their roles parsed, their status.
    pub fn member(&self) -> Result<Member, StoreError> {
        let corrupt = |problem: String| StoreError::Corrupt {
            key: format!("{}/{}", self.pk, self.sk),
            problem,
        };
        let roles = self
            .roles
            .iter()
            .map(|role| RoleRef::parse(role).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        let status = match self.status.as_str() {
            "active" => MemberStatus::Active,
            "suspended" => MemberStatus::Suspended,
            other => return Err(corrupt(format!("unknown status {other:?}"))),
        };
        Ok(Member { roles, status })
    }
}
