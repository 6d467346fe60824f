//! The Cedar engine behind [`Authorizer::decide`].
//!
//! The schema and policies are compiled into the binary (`include_str!`), parsed and validated
//! once by [`Authorizer::new`], at cold start; a request only builds its few entities. Each
//! policy's id is its `@id` annotation, and `new` refuses a policy whose `@id` the code does not
//! know, so the policy file and the deny reasons cannot drift apart.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use cedar_policy::{
    AuthorizationError, Context, Decision as CedarDecision, Effect, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicyId, PolicySet, Request as CedarRequest, Response,
    RestrictedExpression, Schema,
};

use crate::permission::{Action, Permission};
use crate::{Decision, DenyReason, Request};

/// The Cedar schema: entity types `Tenant`, `Permission`, `Role`, `User`, `Resource`, and the
/// action `call`.
pub const SCHEMA: &str = include_str!("../policies/steward.cedarschema");
/// The policies: one generic permit and the global forbids.
pub const POLICIES: &str = include_str!("../policies/policies.cedar");

/// The `@id` of the one permit: a role of the principal grants the action's permission.
pub const PERMIT_ID: &str = "role-permission";

/// The global forbids, in the order their reasons take precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Forbid {
    TenantIsolation,
    SuspendedUser,
    LicenceInactive,
    FeatureMissing,
}

impl Forbid {
    const ALL: [Self; 4] = [
        Self::TenantIsolation,
        Self::SuspendedUser,
        Self::LicenceInactive,
        Self::FeatureMissing,
    ];

    pub(crate) const fn id(self) -> &'static str {
        match self {
            Self::TenantIsolation => "tenant-isolation",
            Self::SuspendedUser => "suspended-user",
            Self::LicenceInactive => "licence-inactive",
            Self::FeatureMissing => "feature-missing",
        }
    }

    fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|forbid| forbid.id() == id)
    }
}

/// Why the authorizer could not be built: the policy files are broken. Fails the cold start.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error("policies/steward.cedarschema is invalid: {0}")]
    Schema(String),
    #[error("policies/policies.cedar does not parse: {0}")]
    Policies(String),
    #[error("policies/policies.cedar: policy {policy}: {problem}")]
    Policy { policy: String, problem: String },
    #[error("policies/policies.cedar lacks the policy @id({0:?})")]
    MissingPolicy(&'static str),
}

/// Which role → permission edges a request's entities carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edges {
    /// Only the requested permission's: the policies name a permission only as
    /// `context.permission` (checked by [`Authorizer::new`]), so no other edge can change the
    /// answer, and Cedar's transitive closure over a full owner role is most of a request's
    /// cost. This is Cedar's "entity slicing".
    Requested,
    /// Every edge: the whole entity data, for the tests that the slice decides the same.
    #[cfg_attr(not(test), allow(dead_code))]
    All,
}

/// Decides every request of the API. Build it once per process ([`Authorizer::new`] at cold
/// start) and share it: it is immutable, `Send` and `Sync`.
pub struct Authorizer {
    engine: cedar_policy::Authorizer,
    policies: PolicySet,
    types: Types,
    action: EntityUid,
    resource: EntityUid,
    /// The uid of each permission, indexed by its discriminant.
    permissions: Vec<EntityUid>,
}

struct Types {
    tenant: EntityTypeName,
    role: EntityTypeName,
    user: EntityTypeName,
}

impl Authorizer {
    /// Parses the policies and checks that every policy has a known `@id`. Two checks are
    /// tests instead, since both files are compiled in and a test vouches for every binary:
    /// strict validation against the schema (`the_policies_validate_against_the_schema`,
    /// about 3.5 ms of cold start), and that no policy names a permission
    /// (`no_policy_names_a_permission`, about 0.7 ms: its JSON form is Cedar code that runs
    /// nowhere else at init). See docs/performance-notes.md.
    pub fn new() -> Result<Self, AuthzError> {
        let policies = Self::load_policies(POLICIES)?;
        let name = |s: &str| {
            EntityTypeName::from_str(s).map_err(|e| AuthzError::Schema(format!("{s}: {e}")))
        };
        let permission = name("Steward::Permission")?;
        let uid = |ty: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
        };
        Ok(Self {
            engine: cedar_policy::Authorizer::new(),
            action: uid(&name("Steward::Action")?, "call"),
            resource: uid(&name("Steward::Resource")?, "resource"),
            permissions: Permission::ALL
                .iter()
                .map(|p| uid(&permission, p.as_str()))
                .collect(),
            types: Types {
                tenant: name("Steward::Tenant")?,
                role: name("Steward::Role")?,
                user: name("Steward::User")?,
            },
            policies,
        })
    }

    /// The policy set, each policy renamed to its `@id`, after checking each `@id` is known
    /// and has the right effect, and that none is missing.
    fn load_policies(text: &str) -> Result<PolicySet, AuthzError> {
        let parsed = PolicySet::from_str(text).map_err(|e| AuthzError::Policies(e.to_string()))?;
        if parsed.templates().next().is_some() {
            return Err(AuthzError::Policies("templates are not used".into()));
        }
        let mut policies = PolicySet::new();
        for policy in parsed.policies() {
            let problem = |problem: String| AuthzError::Policy {
                policy: policy.id().to_string(),
                problem,
            };
            let id = policy
                .annotation("id")
                .ok_or_else(|| problem("it has no @id".into()))?;
            let expected = match (id, Forbid::from_id(id)) {
                (PERMIT_ID, _) => Effect::Permit,
                (_, Some(_)) => Effect::Forbid,
                (_, None) => return Err(problem(format!("@id({id:?}) is unknown to the code"))),
            };
            if policy.effect() != expected {
                return Err(problem(format!("@id({id:?}) must be a {expected}")));
            }
            policies
                .add(policy.new_id(PolicyId::new(id)))
                .map_err(|e| problem(e.to_string()))?;
        }
        for id in std::iter::once(PERMIT_ID).chain(Forbid::ALL.map(Forbid::id)) {
            if policies.policy(&PolicyId::new(id)).is_none() {
                return Err(AuthzError::MissingPolicy(id));
            }
        }
        Ok(policies)
    }

    /// Whether `policy` names a `Permission` entity. The per-request entities carry only the
    /// requested permission (`Edges`), so such a policy would see edges that are not there; a
    /// policy may refer to a permission only as `context.permission`.
    #[cfg(test)]
    fn names_a_permission(policy: &cedar_policy::Policy) -> bool {
        let json = policy.to_json().expect("a policy has a JSON form");
        json.to_string().contains("\"Steward::Permission\"")
    }

    /// The decision for one request, with its reason when denied.
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        self.decide_with(request, Edges::Requested)
    }

    fn decide_with(&self, request: &Request<'_>, edges: Edges) -> Decision {
        // The licence handed in must be the principal's own tenant's: refuse another tenant's
        // data rather than let the licence forbids read a tenant entity that is not there.
        if request.tenant.tenant_id != request.principal.tenant_id {
            return Decision::Deny(DenyReason::OtherTenant);
        }
        // Cedar refuses to work with under 100 KiB of stack left ("recursion limit reached"),
        // which fails a forbid closed and denies. Deep async call chains (debug builds above
        // all) can leave less: give the decision a fresh segment of stack when they do.
        stacker::maybe_grow(512 * 1024, 2 * 1024 * 1024, || {
            let Some((cedar_request, entities)) = self.cedar_input(request, edges, None) else {
                return fail_closed(request.action);
            };
            let response = self
                .engine
                .is_authorized(&cedar_request, &self.policies, &entities);
            interpret(&response, request)
        })
    }

    /// The Cedar request and entities for `request`: the user (parents: its roles), its roles
    /// (parents: their permissions, all or only the requested one), the principal's tenant and
    /// the resource. With `schema`, both are checked against it (tests); the hot path passes
    /// `None`, since the shapes are fixed by this code.
    fn cedar_input(
        &self,
        request: &Request<'_>,
        edges: Edges,
        schema: Option<&Schema>,
    ) -> Option<(CedarRequest, Entities)> {
        let Request {
            principal,
            action,
            resource_tenant,
            tenant,
        } = *request;
        let uid = |ty: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
        };
        let tenant_uid = uid(&self.types.tenant, &tenant.tenant_id);
        let tenant_ref = || RestrictedExpression::new_entity_uid(tenant_uid.clone());

        // Roles of the same id are one entity with the union of their permissions.
        let mut roles: Vec<(&str, u64)> = Vec::with_capacity(principal.roles.len());
        for role in &principal.roles {
            let set = role.permissions.iter().fold(0, |set, p| set | p.bit());
            match roles.iter_mut().find(|(id, _)| *id == role.id) {
                Some((_, existing)) => *existing |= set,
                None => roles.push((&role.id, set)),
            }
        }
        let kept = match edges {
            Edges::Requested => action.permission().bit(),
            Edges::All => u64::MAX,
        };
        let permissions_in = |set: u64| {
            let set = set & kept;
            Permission::ALL
                .iter()
                .filter(move |p| set & p.bit() != 0)
                .map(|&p| self.permissions[p as usize].clone())
        };

        // Permissions are only referenced, as the roles' parents: a `Permission` has no
        // attributes and no parents, so its entity would change no answer.
        let mut entities = Vec::with_capacity(roles.len() + 3);
        let mut role_uids = HashSet::with_capacity(roles.len());
        for (id, set) in roles {
            let role_uid = uid(&self.types.role, id);
            role_uids.insert(role_uid.clone());
            entities.push(
                Entity::new(
                    role_uid,
                    HashMap::from([("tenant".to_owned(), tenant_ref())]),
                    permissions_in(set).collect(),
                )
                .ok()?,
            );
        }
        let user_uid = uid(&self.types.user, &principal.user_id);
        entities.push(
            Entity::new(
                user_uid.clone(),
                HashMap::from([
                    ("tenant".to_owned(), tenant_ref()),
                    (
                        "suspended".to_owned(),
                        RestrictedExpression::new_bool(principal.suspended),
                    ),
                ]),
                role_uids,
            )
            .ok()?,
        );
        let features = tenant
            .features
            .iter()
            .map(|f| RestrictedExpression::new_string(f.as_str().to_owned()));
        entities.push(
            Entity::new(
                tenant_uid.clone(),
                HashMap::from([
                    (
                        "licence_status".to_owned(),
                        RestrictedExpression::new_string(tenant.licence_status.as_str().to_owned()),
                    ),
                    (
                        "licence_enforced".to_owned(),
                        RestrictedExpression::new_bool(tenant.licence_enforced),
                    ),
                    (
                        "features".to_owned(),
                        RestrictedExpression::new_set(features),
                    ),
                ]),
                HashSet::new(),
            )
            .ok()?,
        );
        // Another tenant is only ever compared by uid, so its entity is not needed.
        entities.push(
            Entity::new(
                self.resource.clone(),
                HashMap::from([(
                    "tenant".to_owned(),
                    RestrictedExpression::new_entity_uid(uid(&self.types.tenant, resource_tenant)),
                )]),
                HashSet::new(),
            )
            .ok()?,
        );
        let entities = Entities::from_entities(entities, schema).ok()?;

        let mut context = vec![(
            "permission".to_owned(),
            RestrictedExpression::new_entity_uid(
                self.permissions[action.permission() as usize].clone(),
            ),
        )];
        if let Some(feature) = action.feature() {
            context.push((
                "feature".to_owned(),
                RestrictedExpression::new_string(feature.as_str().to_owned()),
            ));
        }
        let context = Context::from_pairs(context).ok()?;
        let cedar_request = CedarRequest::new(
            user_uid,
            self.action.clone(),
            self.resource.clone(),
            context,
            schema,
        )
        .ok()?;
        Some((cedar_request, entities))
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("policies", &self.policies.policies().count())
            .finish_non_exhaustive()
    }
}

/// The decision Cedar's response stands for, with the reason from the `@id`s that decided it.
fn interpret(response: &Response, request: &Request<'_>) -> Decision {
    let diagnostics = response.diagnostics();
    // A forbid that cannot be evaluated counts as holding: Cedar skips an erroring policy, which
    // for a forbid means failing open. (Unreachable with the entities built here; a net.)
    let fired = diagnostics
        .reason()
        .chain(diagnostics.errors().map(|error| match error {
            AuthorizationError::PolicyEvaluationError(e) => e.policy_id(),
        }))
        .filter_map(|id| Forbid::from_id(id.as_ref()))
        .min();
    match (fired, response.decision()) {
        (Some(forbid), _) => Decision::Deny(reason(forbid, request)),
        (None, CedarDecision::Allow) => Decision::Allow,
        (None, CedarDecision::Deny) => {
            Decision::Deny(DenyReason::MissingPermission(request.action.permission()))
        }
    }
}

/// The reason a holding forbid gives.
fn reason(forbid: Forbid, request: &Request<'_>) -> DenyReason {
    match forbid {
        Forbid::TenantIsolation => DenyReason::OtherTenant,
        Forbid::SuspendedUser => DenyReason::SuspendedUser,
        Forbid::LicenceInactive => DenyReason::LicenceInactive {
            status: request.tenant.licence_status,
        },
        Forbid::FeatureMissing => match request.action.feature() {
            Some(feature) => DenyReason::FeatureNotLicensed(feature),
            None => DenyReason::MissingPermission(request.action.permission()),
        },
    }
}

/// Building the Cedar input failed, which the fixed shapes above make unreachable: deny.
fn fail_closed(action: Action) -> Decision {
    if cfg!(debug_assertions) {
        panic!("building the Cedar input for {action:?} failed");
    }
    Decision::Deny(DenyReason::MissingPermission(action.permission()))
}

#[cfg(test)]
mod tests;
