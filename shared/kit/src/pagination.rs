//! Cursor pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`.
//!
//! A cursor is the store's page key sealed with an HMAC over the list's scope (tenant and list),
//! so it cannot be forged, altered, or replayed against another tenant or another list.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use steward_store::PageKey;

use crate::problem::ApiError;
use crate::secret::Secret;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// What a list request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub start: Option<PageKey>,
}

/// A page of a list as the API answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone)]
pub struct Cursors {
    key: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    scope: String,
    key: PageKey,
}

impl Cursors {
    pub fn new(secret: &Secret) -> Self {
        Self {
            key: secret.derive("cursor"),
        }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload);
        mac
    }

    pub fn seal(&self, scope: &str, key: &PageKey) -> String {
        let payload = serde_json::to_vec(&Sealed {
            scope: scope.to_owned(),
            key: key.clone(),
        })
        .expect("serializes");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The page key inside `cursor`, if this service sealed it for this very scope.
    pub fn open(&self, scope: &str, cursor: &str) -> Result<PageKey, ApiError> {
        let (payload, tag) = cursor.split_once('.').ok_or(ApiError::InvalidCursor)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ApiError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ApiError::InvalidCursor)?;
        // verify_slice compares in constant time.
        self.mac(&payload)
            .verify_slice(&tag)
            .map_err(|_| ApiError::InvalidCursor)?;
        let sealed: Sealed =
            serde_json::from_slice(&payload).map_err(|_| ApiError::InvalidCursor)?;
        if sealed.scope != scope {
            return Err(ApiError::InvalidCursor);
        }
        Ok(sealed.key)
    }

    /// Reads `limit` and `cursor` from a query string's parameters.
    pub fn page_request(
        &self,
        scope: &str,
        query: &HashMap<String, String>,
    ) -> Result<PageRequest, ApiError> {
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(limit @ 1..=MAX_LIMIT) => limit,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let start = query
            .get("cursor")
            .map(|cursor| self.open(scope, cursor))
            .transpose()?;
        Ok(PageRequest { limit, start })
    }

    /// The answer's page: the items and, when there is more, the next cursor.
    pub fn page<T>(&self, scope: &str, items: Vec<T>, next: Option<PageKey>) -> Page<T> {
        Page {
            items,
            next_cursor: next.map(|key| self.seal(scope, &key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cursors() -> Cursors {
        Cursors::new(&Secret::new("k".repeat(40)).unwrap())
    }

    fn key(pk: &str) -> PageKey {
        serde_json::from_value(serde_json::json!({ "pk": { "S": pk }, "sk": { "S": "ITEM#0042" } }))
            .unwrap()
    }

    #[test]
    fn a_sealed_cursor_opens_in_its_scope_only() {
        let c = cursors();
        let sealed = c.seal("T#a|audit", &key("T#a#AUDIT"));
        assert_eq!(c.open("T#a|audit", &sealed).unwrap(), key("T#a#AUDIT"));
        assert!(matches!(
            c.open("T#b|audit", &sealed),
            Err(ApiError::InvalidCursor)
        ));
        assert!(matches!(
            c.open("T#a|rooms", &sealed),
            Err(ApiError::InvalidCursor)
        ));
        let other_secret = Cursors::new(&Secret::new("z".repeat(40)).unwrap());
        assert!(matches!(
            other_secret.open("T#a|audit", &sealed),
            Err(ApiError::InvalidCursor)
        ));
    }

    #[test]
    fn a_rewritten_payload_with_the_old_tag_is_refused() {
        let c = cursors();
        let sealed = c.seal("T#a|audit", &key("T#a#AUDIT"));
        let (_, tag) = sealed.split_once('.').unwrap();
        let forged_payload = serde_json::to_vec(
            &serde_json::json!({"scope":"T#a|audit","key":{"pk":{"S":"T#b#AUDIT"},"sk":{"S":"x"}}}),
        )
        .unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged_payload));
        assert!(matches!(
            c.open("T#a|audit", &forged),
            Err(ApiError::InvalidCursor)
        ));
    }

    #[test]
    fn limits_default_cap_and_refuse() {
        let c = cursors();
        let query = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(c.page_request("s", &query(&[])).unwrap().limit, 50);
        assert_eq!(
            c.page_request("s", &query(&[("limit", "200")]))
                .unwrap()
                .limit,
            200
        );
        for bad in ["0", "201", "-1", "ten"] {
            assert!(
                matches!(
                    c.page_request("s", &query(&[("limit", bad)])),
                    Err(ApiError::Validation(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            c.page_request("s", &query(&[("cursor", "garbage")])),
            Err(ApiError::InvalidCursor)
        ));
    }

    proptest! {
        #[test]
        fn no_random_string_opens(cursor in "\\PC{0,120}") {
            prop_assert!(cursors().open("T#a|audit", &cursor).is_err());
        }

        #[test]
        fn any_single_byte_flip_is_refused(position in 0usize..200, bit in 0u8..8) {
            let c = cursors();
            let sealed = c.seal("T#a|audit", &key("T#a#AUDIT"));
            let mut bytes = sealed.into_bytes();
            let i = position % bytes.len();
            bytes[i] ^= 1 << bit;
            if let Ok(text) = String::from_utf8(bytes) {
                prop_assert!(c.open("T#a|audit", &text).is_err());
            }
        }
    }
}
