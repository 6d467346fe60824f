//! Reading and writing DynamoDB attribute values without repeating the match arms.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn get_s<'i>(item: &'i Item, key: &str, name: &str) -> Result<&'i str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(key, format!("{name} is not a string"))),
    }
}

pub(crate) fn get_i64(item: &Item, key: &str, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| corrupt(key, format!("{name} is not an integer"))),
        _ => Err(corrupt(key, format!("{name} is not a number"))),
    }
}

pub(crate) fn corrupt(key: &str, problem: String) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        problem,
    }
}
