//! The onboarding checklist (SPEC §F, ONBOARDING_WIZARD_ENABLED): read by any member with the
//! licence permission, advanced by admins (a step marked done or skipped); steps the tenant's
//! data shows are done on their own.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_access::Record;
use steward_authz::Permission;
use steward_domain::onboarding::{Mark, Step, checklist};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::onboarding::MarkRecord;

use crate::Access;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    status: Mark,
}

impl Access {
    fn onboarding_enabled(&self) -> Result<(), ApiError> {
        if self.onboarding.enabled {
            Ok(())
        } else {
            Err(ApiError::NotFound(
                "the onboarding checklist (ONBOARDING_WIZARD_ENABLED is off)".into(),
            ))
        }
    }

    async fn checklist_of(&self, tenant_id: &str) -> Result<serde_json::Value, ApiError> {
        let (evidence, marks) = tokio::try_join!(
            self.onboarding.store.evidence(tenant_id),
            self.onboarding.store.marks(tenant_id),
        )?;
        let list = checklist(
            evidence,
            &marks
                .iter()
                .map(|(step, mark)| (*step, mark.status))
                .collect(),
        );
        Ok(json!({
            "steps": list.steps.iter().map(|state| json!({
                "step": state.step,
                "status": state.status,
                "marked": marks.get(&state.step),
            })).collect::<Vec<_>>(),
            "completed": list.completed,
            "total": list.total,
            "percent": list.percent,
            "complete": list.is_complete(),
        }))
    }

    pub(crate) async fn onboarding(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::LicenceRead).await?;
        self.onboarding_enabled()?;
        api::json(
            StatusCode::OK,
            &self.checklist_of(caller.tenant_id()).await?,
        )
    }

    pub(crate) async fn advance_onboarding(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        self.onboarding_enabled()?;
        let name = request.path_param("step")?;
        let step = Step::parse(name)
            .ok_or_else(|| ApiError::NotFound(format!("onboarding step {name}")))?;
        let body: Advance = request.json()?;
        let tenant_id = caller.tenant_id();
        let mark = MarkRecord {
            status: body.status,
            at: Timestamp::now().to_string(),
            by: caller.user_id().to_owned(),
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "onboarding.mark",
                target: &format!("onboarding:{}", step.as_str()),
                before: json!(null),
                after: json!(mark),
            },
        );
        self.onboarding
            .store
            .mark(tenant_id, step, &mark, &audit)
            .await?;
        api::json(StatusCode::OK, &self.checklist_of(tenant_id).await?)
    }
}
