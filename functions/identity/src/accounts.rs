//! What the identity routes share about accounts: a person's memberships as they are shown,
//! the sessions an account-wide change ends, the audit entry it leaves in each tenant, and
//! switching to another of one's organisations.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::accounts::{AccountRecord, Membership, MembershipRecord, OpenSessions};
use steward_store::audit::AuditEntry;
use steward_store::identity::{OpenedFor, UserRecord};

use crate::handlers::{Identity, Tokens};

/// One membership, as sign-in, switching and `GET /v1/me` answer it.
#[derive(Debug, Serialize)]
pub(crate) struct MembershipView {
    tenant_id: String,
    tenant_name: String,
    user_id: String,
    roles: Vec<String>,
    status: String,
}

impl From<Membership> for MembershipView {
    fn from(membership: Membership) -> Self {
        Self {
            tenant_id: membership.user.tenant_id,
            tenant_name: membership.tenant_name,
            user_id: membership.user.user_id,
            roles: membership.user.roles,
            status: membership.user.status,
        }
    }
}

/// A signed-in answer: the tokens of one membership, and every membership to switch to.
#[derive(Debug, Serialize)]
pub(crate) struct SignedInView {
    status: &'static str,
    tenant_id: String,
    /// Whether the session was opened with a second factor.
    second_factor: bool,
    #[serde(flatten)]
    tokens: Tokens,
    memberships: Vec<MembershipView>,
}

impl SignedInView {
    pub(crate) fn new(
        tenant_id: &str,
        tokens: Tokens,
        second_factor: bool,
        memberships: Vec<Membership>,
    ) -> Self {
        Self {
            status: "signed_in",
            tenant_id: tenant_id.to_owned(),
            second_factor,
            tokens,
            memberships: memberships.into_iter().map(MembershipView::from).collect(),
        }
    }
}

/// Which membership a sign-in opens: the one `wanted` names, or the only active one.
pub(crate) enum Chosen {
    Member(Box<UserRecord>),
    /// Several are active and none was named.
    Ask,
}

fn suspended() -> ApiError {
    ApiError::Forbidden {
        detail: "your membership of this organisation is suspended".into(),
        permission: None,
        feature: None,
    }
}

/// The active membership of tenant `wanted`.
pub(crate) fn named(memberships: &[Membership], wanted: &str) -> Result<UserRecord, ApiError> {
    let membership = memberships
        .iter()
        .find(|membership| membership.user.tenant_id == wanted)
        .ok_or_else(|| ApiError::Forbidden {
            detail: "you are not a member of that organisation".into(),
            permission: None,
            feature: None,
        })?;
    if membership.user.status != "active" {
        return Err(suspended());
    }
    Ok(membership.user.clone())
}

pub(crate) fn choose(memberships: &[Membership], wanted: Option<&str>) -> Result<Chosen, ApiError> {
    if let Some(wanted) = wanted {
        return named(memberships, wanted).map(|user| Chosen::Member(Box::new(user)));
    }
    let mut active = memberships
        .iter()
        .filter(|membership| membership.user.status == "active");
    match (active.next(), active.next()) {
        (Some(only), None) => Ok(Chosen::Member(Box::new(only.user.clone()))),
        (Some(_), Some(_)) => Ok(Chosen::Ask),
        (None, _) if memberships.is_empty() => Err(ApiError::Forbidden {
            detail: "this account belongs to no organisation".into(),
            permission: None,
            feature: None,
        }),
        (None, _) => Err(suspended()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    tenant_id: String,
}

impl Identity {
    /// The account `user` is a membership of.
    pub(crate) async fn account_of(&self, user: &UserRecord) -> Result<AccountRecord, ApiError> {
        if user.account_id.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        self.store
            .account(&user.account_id)
            .await?
            .ok_or(ApiError::Unauthorized)
    }

    /// The account `user` is a membership of, with every membership of it: one read.
    pub(crate) async fn account_partition_of(
        &self,
        user: &UserRecord,
    ) -> Result<(AccountRecord, Vec<MembershipRecord>), ApiError> {
        if user.account_id.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        match self.store.account_partition(&user.account_id).await? {
            (Some(account), links) => Ok((account, links)),
            (None, _) => Err(ApiError::Unauthorized),
        }
    }

    /// What a change of the account's password ends: its live sessions (`None`: no account).
    pub(crate) async fn open_sessions(
        &self,
        account_id: &str,
    ) -> Result<Option<OpenSessions>, ApiError> {
        Ok(self
            .store
            .open_sessions(account_id, Timestamp::now().as_second())
            .await?)
    }

    /// The audit entry of an account-wide change in each tenant the account is a member of,
    /// each with the sessions it ended there.
    pub(crate) fn audit_each(
        &self,
        request: &ApiRequest,
        sessions: &OpenSessions,
        action: &str,
        after: &Value,
    ) -> Vec<AuditEntry> {
        sessions
            .by_membership
            .iter()
            .map(|(membership, ended)| {
                let mut after = after.clone();
                after["sessions_revoked"] = json!(ended);
                self.audit_in(request, membership, action, after)
            })
            .collect()
    }

    /// The audit entry of an account-wide change in each tenant of `memberships`.
    pub(crate) fn audit_in_each(
        &self,
        request: &ApiRequest,
        memberships: &[MembershipRecord],
        action: &str,
        after: &Value,
    ) -> Vec<AuditEntry> {
        memberships
            .iter()
            .map(|membership| self.audit_in(request, membership, action, after.clone()))
            .collect()
    }

    fn audit_in(
        &self,
        request: &ApiRequest,
        membership: &MembershipRecord,
        action: &str,
        after: Value,
    ) -> AuditEntry {
        self.audit(
            request,
            &membership.tenant_id,
            &membership.user_id,
            action,
            &format!("user:{}", membership.user_id),
            after,
        )
    }

    /// `POST /v1/auth/switch`: a session in another of the caller's organisations, the one
    /// they are in now left as it is.
    pub(crate) async fn switch_tenant(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeRead).await?;
        let body: Switch = request.json()?;
        let account_id = caller.user.account_id.as_str();
        let memberships = self.store.memberships(account_id).await?;
        let user = named(&memberships, &body.tenant_id)?;
        let now = Timestamp::now();
        let (mut session, refresh) = self.prepare_session(request, &user, now);
        // The account proved what the session it switches from proved.
        session.second_factor = caller.principal.second_factor;
        let audit = self.audit(
            request,
            &user.tenant_id,
            &user.user_id,
            "session.create",
            &format!("session:{}", session.session_id),
            json!({
                "session_id": session.session_id,
                "switched_from": caller.tenant_id(),
            }),
        );
        let opened = OpenedFor {
            account_id,
            proven: None,
        };
        if !self
            .store
            .create_session(&session, Some(&audit), None, Some(opened))
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        let tokens = self.tokens_for(&user, &session.session_id, refresh, now);
        api::json(
            StatusCode::OK,
            &SignedInView::new(&user.tenant_id, tokens, session.second_factor, memberships),
        )
    }
}
