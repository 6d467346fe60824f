//! The tenant's per-member quota (SPEC §C): `GET` and `PUT /v1/settings/booking-quota`. Every
//! booking write checks it in the calendar loop (`calendar::Holder`), over the member's ledger.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::Record;
use steward_authz::Permission;
use steward_domain::booking::quota::Quota;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::identity::QuotaSetting;

use crate::Rooms;

const MAX_ACTIVE_BOOKINGS: u32 = 1_000;
const HOURS_IN_A_WEEK: u32 = 168;

/// The body of a `PUT`: each limit a whole number, or `null` for none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaInput {
    active_bookings: Option<u32>,
    hours_per_week: Option<u32>,
}

impl QuotaInput {
    fn parse(self) -> Result<Quota, ApiError> {
        let mut problems = Vec::new();
        if self
            .active_bookings
            .is_some_and(|n| !(1..=MAX_ACTIVE_BOOKINGS).contains(&n))
        {
            problems.push((
                "active_bookings".to_owned(),
                format!("from 1 to {MAX_ACTIVE_BOOKINGS}, or null for no limit"),
            ));
        }
        if self
            .hours_per_week
            .is_some_and(|n| !(1..=HOURS_IN_A_WEEK).contains(&n))
        {
            problems.push((
                "hours_per_week".to_owned(),
                format!("from 1 to {HOURS_IN_A_WEEK}, or null for no limit"),
            ));
        }
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems));
        }
        Ok(Quota {
            active_bookings: self.active_bookings,
            hours_per_week: self.hours_per_week,
        })
    }
}

fn view(setting: Option<&QuotaSetting>) -> Value {
    match setting {
        Some(setting) => json!({
            "active_bookings": setting.quota.active_bookings,
            "hours_per_week": setting.quota.hours_per_week,
            "set_at": setting.set_at,
        }),
        None => json!({ "active_bookings": null, "hours_per_week": null, "set_at": null }),
    }
}

impl Rooms {
    pub(crate) async fn booking_quota(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        api::json(StatusCode::OK, &view(caller.tenant.booking_quota.as_ref()))
    }

    pub(crate) async fn set_booking_quota(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        let quota = request.json::<QuotaInput>()?.parse()?;
        let setting = (!quota.is_unlimited()).then(|| QuotaSetting {
            quota,
            set_at: Timestamp::now().to_string(),
        });
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "settings.booking_quota",
                target: &format!("tenant:{}", caller.tenant_id()),
                before: view(caller.tenant.booking_quota.as_ref()),
                after: view(setting.as_ref()),
            },
        );
        self.identity
            .set_booking_quota(caller.tenant_id(), setting.as_ref(), &audit)
            .await?;
        self.guard.forget_tenant(caller.tenant_id());
        api::json(StatusCode::OK, &view(setting.as_ref()))
    }
}
