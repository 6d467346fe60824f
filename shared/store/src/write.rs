//! The pieces of a write every entity shares: items as serde shapes them, keys, transactions
//! and reading back which of their conditions failed.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::Serialize;

use crate::StoreError;
use crate::attributes::{Item, s};

pub(crate) type TransactError =
    SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>;

pub(crate) fn put<T: Serialize>(
    item: &T,
    table: &str,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let item: Item = serde_dynamo::to_item(item).map_err(|e| StoreError::Failed(Box::new(e)))?;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(|e| StoreError::Failed(Box::new(e)))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An expression's values, `:name` → value.
pub(crate) fn expression_values(
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

/// A put whose `condition` uses `values` (`:name` → value).
pub(crate) fn put_if<T: Serialize>(
    item: &T,
    table: &str,
    condition: &str,
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<TransactWriteItem, StoreError> {
    let item: Item = serde_dynamo::to_item(item).map_err(|e| StoreError::Failed(Box::new(e)))?;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values(Some(expression_values(values)))
        .build()
        .map_err(|e| StoreError::Failed(Box::new(e)))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A put conditioned on the version the item must still be at, or (`None`) on its absence.
pub(crate) fn versioned_put<T: Serialize>(
    item: &T,
    table: &str,
    expected: Option<u64>,
) -> Result<TransactWriteItem, StoreError> {
    match expected {
        None => put(item, table, Some("attribute_not_exists(pk)")),
        Some(version) => put_if(
            item,
            table,
            "version = :version",
            &[(":version", crate::attributes::n(version))],
        ),
    }
}

/// The partition of a tenant's own items: `T#<tenant>`.
pub(crate) fn tenant_pk(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}

pub(crate) fn key(pk: String, sk: String) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(crate) fn cancelled_by_condition(
    error: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
    index: usize,
) -> bool {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled
                .cancellation_reasons()
                .get(index)
                .and_then(|reason| reason.code())
                .is_some_and(|code| code == "ConditionalCheckFailed"),
            _ => false,
        },
        _ => false,
    }
}

/// The tenant item's licence counter `counter` (`rooms_used`, `terminals_used`) taking one more
/// place: conditioned on staying under `limit` when the licence is enforced, else on the tenant
/// existing. Its condition failing means the limit is reached.
pub(crate) fn take_licence_place(
    table: &str,
    tenant_pk: &str,
    counter: &str,
    limit: Option<u32>,
) -> Result<TransactWriteItem, StoreError> {
    let count = Update::builder()
        .table_name(table)
        .set_key(Some(key(tenant_pk.to_owned(), "TENANT".into())))
        .update_expression("SET #l.#c = if_not_exists(#l.#c, :zero) + :one")
        .expression_attribute_names("#l", "licence")
        .expression_attribute_names("#c", counter)
        .expression_attribute_values(":zero", crate::attributes::n(0))
        .expression_attribute_values(":one", crate::attributes::n(1));
    let count = match limit {
        Some(limit) => count
            .condition_expression("attribute_not_exists(#l.#c) OR #l.#c < :limit")
            .expression_attribute_values(":limit", crate::attributes::n(limit)),
        None => count.condition_expression("attribute_exists(pk)"),
    };
    update(count.build())
}

/// A transaction's update of one item.
pub(crate) fn update(
    update: Result<Update, aws_sdk_dynamodb::error::BuildError>,
) -> Result<TransactWriteItem, StoreError> {
    let update = update.map_err(|e| StoreError::Failed(Box::new(e)))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A transaction's delete of one item, if `condition` holds.
pub(crate) fn delete(
    table: &str,
    pk: String,
    sk: String,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(|e| StoreError::Failed(Box::new(e)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A transaction's delete of one item, if `condition` (using `values`) holds.
pub(crate) fn delete_if(
    table: &str,
    pk: String,
    sk: String,
    condition: &str,
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .condition_expression(condition)
        .set_expression_attribute_values(Some(expression_values(values)))
        .build()
        .map_err(|e| StoreError::Failed(Box::new(e)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The index of the first transaction item whose condition failed.
pub(crate) fn failed_condition(error: &TransactError) -> Option<usize> {
    cancellation_codes(error)?
        .iter()
        .position(|code| code.as_deref() == Some("ConditionalCheckFailed"))
}

/// Why each item of a cancelled transaction was cancelled (`None` for an item that was not
/// the cause, `"ConditionalCheckFailed"`, `"TransactionConflict"`, ...); `None` when the
/// transaction was not cancelled.
pub(crate) fn cancellation_codes(error: &TransactError) -> Option<Vec<Option<String>>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().filter(|c| *c != "None").map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// Which of `partitions` a cross-tenant sparse index keeps the item `id` in: a cheap, stable
/// spread of its bytes (ids are random, so no digest is needed to spread them evenly).
pub(crate) fn spread(id: &str, partitions: u32) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % partitions
}
