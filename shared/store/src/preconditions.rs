//! What a write requires of items it does not change, held in the write's own transaction: a
//! record an instance kept from an earlier request (a terminal, the roles that grant a
//! permission) is proven current when it counts, so it need not be read first.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use crate::StoreError;
use crate::attributes::{n, s};
use crate::identity::UserRecord;
use crate::terminals::{TerminalRecord, nonce_item};
use crate::write::key;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// The terminal's nonce was never used: this write uses it up (kept until `expires_at`,
    /// unix seconds).
    NonceUnused {
        tenant_id: String,
        terminal_id: String,
        nonce: String,
        expires_at: i64,
    },
    /// The terminal is still registered, paired at `paired_at` (so its secret is the one a
    /// request was checked with), and, for a write a PIN made, not refusing PINs at
    /// `pins_open_at` (unix seconds).
    TerminalPaired {
        tenant_id: String,
        terminal_id: String,
        paired_at: String,
        pins_open_at: Option<i64>,
    },
    /// The member is still active and holds one of `roles` (none: never holds).
    MemberHolds {
        tenant_id: String,
        user_id: String,
        roles: Vec<String>,
    },
}

impl Precondition {
    pub(crate) fn item(&self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let failed = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(Box::new(e));
        match self {
            Self::NonceUnused {
                tenant_id,
                terminal_id,
                nonce,
                expires_at,
            } => {
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(nonce_item(tenant_id, terminal_id, nonce, *expires_at)))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(failed)?;
                Ok(TransactWriteItem::builder().put(put).build())
            }
            Self::TerminalPaired {
                tenant_id,
                terminal_id,
                paired_at,
                pins_open_at,
            } => {
                let (pk, sk) = TerminalRecord::key(tenant_id, terminal_id);
                let check = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .expression_attribute_values(":paired_at", s(paired_at));
                let check = match pins_open_at {
                    Some(now) => check
                        .condition_expression(
                            "paired_at = :paired_at AND \
                             (attribute_not_exists(pin_locked_until) OR pin_locked_until <= :now)",
                        )
                        .expression_attribute_values(":now", n(*now)),
                    None => check.condition_expression("paired_at = :paired_at"),
                };
                let check = check.build().map_err(failed)?;
                Ok(TransactWriteItem::builder().condition_check(check).build())
            }
            Self::MemberHolds {
                tenant_id,
                user_id,
                roles,
            } => {
                let (pk, sk) = UserRecord::key(tenant_id, user_id);
                let held: Vec<String> = (0..roles.len())
                    .map(|i| format!("contains(#roles, :role{i})"))
                    .collect();
                let condition = if held.is_empty() {
                    "attribute_exists(pk) AND attribute_not_exists(pk)".to_owned()
                } else {
                    format!("#status = :active AND ({})", held.join(" OR "))
                };
                let mut check = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .condition_expression(condition);
                if !roles.is_empty() {
                    check = check
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_names("#roles", "roles")
                        .expression_attribute_values(":active", s("active"));
                }
                for (i, role) in roles.iter().enumerate() {
                    check = check.expression_attribute_values(format!(":role{i}"), s(role));
                }
                Ok(TransactWriteItem::builder()
                    .condition_check(check.build().map_err(failed)?)
                    .build())
            }
        }
    }
}
