//! What an API action needs: its [`Permission`] (exactly one per action of the API, SPEC §B) and,
//! where the licence gates it, a [`Feature`] (SPEC §F).
//!
//! The mapping from a permission to its feature is [`Permission::required_feature`], an
//! exhaustive `match`: a new permission does not compile until someone decides whether the
//! licence gates it.

use crate::names::string_enum;

string_enum! {
    /// The closed set of permissions, one per action of the API. The wire form is
    /// `"<area>:<verb>"` (`"members:list"`); it is also the id of the Cedar `Permission` entity.
    pub enum Permission ("permission") {
        MeRead => "me:read",
        MeUpdate => "me:update",
        SessionsManageOwn => "sessions:manage_own",
        InvitationsCreate => "invitations:create",
        InvitationsList => "invitations:list",
        InvitationsRevoke => "invitations:revoke",
        MembersList => "members:list",
        MembersSuspend => "members:suspend",
        MembersRemove => "members:remove",
        RolesList => "roles:list",
        RolesCreate => "roles:create",
        RolesUpdate => "roles:update",
        RolesDelete => "roles:delete",
        GrantsCreate => "grants:create",
        GrantsRevoke => "grants:revoke",
        ChangeRequestsList => "change_requests:list",
        ChangeRequestsDecide => "change_requests:decide",
        PolicyRead => "policy:read",
        AuditRead => "audit:read",
        LicenceRead => "licence:read",
        SettingsUpdate => "settings:update",
        RoomsRead => "rooms:read",
        RoomsManage => "rooms:manage",
        BookingsCreate => "bookings:create",
        BookingsRead => "bookings:read",
        BookingsApprove => "bookings:approve",
        SeriesCreate => "series:create",
        FeedsManage => "feeds:manage",
        RoomsImport => "rooms:import",
        BookingsImport => "bookings:import",
        BookingsExport => "bookings:export",
        ReportsRead => "reports:read",
        TerminalsManage => "terminals:manage",
        BookingsCheckIn => "bookings:check_in",
        CredentialTypesManage => "credential_types:manage",
        CredentialsUpload => "credentials:upload",
        CredentialsReview => "credentials:review",
        SsoManage => "sso:manage",
        PlatformManageLicences => "platform:manage_licences",
        PlatformConfigure => "platform:configure",
    }
}

string_enum! {
    /// The licence features of SPEC §F, as the offerings name them.
    pub enum Feature ("feature") {
        RecurringBookings => "recurring_bookings",
        Terminals => "terminals",
        Credentials => "credentials",
        Reports => "reports",
        IcalFeeds => "ical_feeds",
        CsvImport => "csv_import",
        /// Single sign-on with the tenant's OpenID provider, and SCIM provisioning.
        Sso => "sso",
    }
}

// Sets of permissions are folded into a `u64` on the hot path.
const _: () = assert!(Permission::ALL.len() <= 64);

impl Permission {
    /// The licence feature the action of this permission needs, if any.
    ///
    /// Exhaustive on purpose: an issue that adds a feature-gated action adds its arm here.
    pub const fn required_feature(self) -> Option<Feature> {
        match self {
            Self::MeRead
            | Self::MeUpdate
            | Self::SessionsManageOwn
            | Self::InvitationsCreate
            | Self::InvitationsList
            | Self::InvitationsRevoke
            | Self::MembersList
            | Self::MembersSuspend
            | Self::MembersRemove
            | Self::RolesList
            | Self::RolesCreate
            | Self::RolesUpdate
            | Self::RolesDelete
            | Self::GrantsCreate
            | Self::GrantsRevoke
            | Self::ChangeRequestsList
            | Self::ChangeRequestsDecide
            | Self::PolicyRead
            | Self::AuditRead
            | Self::LicenceRead
            | Self::SettingsUpdate
            | Self::RoomsRead
            | Self::RoomsManage
            | Self::BookingsCreate
            | Self::BookingsRead
            | Self::BookingsApprove
            | Self::BookingsExport
            | Self::PlatformManageLicences
            | Self::PlatformConfigure => None,
            Self::SeriesCreate => Some(Feature::RecurringBookings),
            Self::FeedsManage => Some(Feature::IcalFeeds),
            Self::RoomsImport | Self::BookingsImport => Some(Feature::CsvImport),
            Self::ReportsRead => Some(Feature::Reports),
            Self::SsoManage => Some(Feature::Sso),
            Self::TerminalsManage | Self::BookingsCheckIn => Some(Feature::Terminals),
            Self::CredentialTypesManage | Self::CredentialsUpload | Self::CredentialsReview => {
                Some(Feature::Credentials)
            }
        }
    }

    /// Whether this is a platform operator's permission, which no tenant role grants.
    pub const fn is_platform(self) -> bool {
        matches!(self, Self::PlatformManageLicences | Self::PlatformConfigure)
    }

    /// Every permission a tenant role can grant.
    pub fn tenant_permissions() -> impl Iterator<Item = Permission> {
        Self::ALL.iter().copied().filter(|p| !p.is_platform())
    }

    /// This permission's bit in a `u64` set.
    pub(crate) const fn bit(self) -> u64 {
        1 << self as u32
    }
}

/// An API action as the authorizer sees it: the permission it needs and the licence feature it
/// needs, if any.
///
/// Built only from a permission ([`Action::new`]), so the feature always comes from the one
/// mapping, [`Permission::required_feature`], and no caller can leave it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    permission: Permission,
    feature: Option<Feature>,
}

impl Action {
    pub const fn new(permission: Permission) -> Self {
        Self {
            permission,
            feature: permission.required_feature(),
        }
    }

    /// An action gated by a feature no permission requires yet, for tests of the gate.
    #[cfg(test)]
    pub(crate) const fn gated(permission: Permission, feature: Feature) -> Self {
        Self {
            permission,
            feature: Some(feature),
        }
    }

    pub const fn permission(self) -> Permission {
        self.permission
    }

    pub const fn feature(self) -> Option<Feature> {
        self.feature
    }
}

impl From<Permission> for Action {
    fn from(permission: Permission) -> Self {
        Self::new(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_str_and_serde() {
        for &permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
            let json = serde_json::to_string(&permission).unwrap();
            assert_eq!(json, format!("\"{}\"", permission.as_str()));
            assert_eq!(
                serde_json::from_str::<Permission>(&json).unwrap(),
                permission
            );
        }
        for &feature in Feature::ALL {
            assert_eq!(feature.as_str().parse::<Feature>(), Ok(feature));
            let json = serde_json::to_string(&feature).unwrap();
            assert_eq!(serde_json::from_str::<Feature>(&json).unwrap(), feature);
        }
    }

    #[test]
    fn names_are_distinct_and_well_formed() {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
        for name in names {
            let (area, verb) = name.split_once(':').expect("area:verb");
            let ok =
                |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(ok(area) && ok(verb), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        let error = "members:delete".parse::<Permission>().unwrap_err();
        assert_eq!(error.to_string(), "unknown permission \"members:delete\"");
        assert!(serde_json::from_str::<Feature>("\"Terminals\"").is_err());
    }

    #[test]
    fn actions_take_their_feature_from_the_one_mapping() {
        for &permission in Permission::ALL {
            let action = Action::from(permission);
            assert_eq!(action.permission(), permission);
            assert_eq!(action.feature(), permission.required_feature());
        }
    }
}
