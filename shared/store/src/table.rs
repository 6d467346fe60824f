//! The one DynamoDB table (docs/data-model.md) and the access every entity shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::attributes::{Item, s};
use crate::backoff::Backoff;

/// Tries of a batch read whose keys the service leaves unprocessed.
const UNPROCESSED_TRIES: u32 = 8;

/// Steward's table: a client built once at init and the table's name from configuration.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: Arc<str>,
}

/// Where the next page of a query starts: DynamoDB's `LastEvaluatedKey`, as plain values so that
/// the kit can seal it into an opaque cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageKey(BTreeMap<String, KeyPart>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum KeyPart {
    S(String),
    N(String),
}

impl PageKey {
    fn from_item(item: Item) -> Result<Self, StoreError> {
        let mut parts = BTreeMap::new();
        for (name, value) in item {
            let part = match value {
                AttributeValue::S(text) => KeyPart::S(text),
                AttributeValue::N(number) => KeyPart::N(number),
                _ => {
                    return Err(crate::attributes::corrupt(
                        &name,
                        "a key attribute is neither S nor N".into(),
                    ));
                }
            };
            parts.insert(name, part);
        }
        Ok(Self(parts))
    }

    fn into_item(self) -> Item {
        self.0
            .into_iter()
            .map(|(name, part)| match part {
                KeyPart::S(text) => (name, AttributeValue::S(text)),
                KeyPart::N(number) => (name, AttributeValue::N(number)),
            })
            .collect()
    }

    /// The partition this key belongs to: a cursor must not move a query to another partition.
    pub fn partition(&self, attribute: &str) -> Option<&str> {
        match self.0.get(attribute) {
            Some(KeyPart::S(text)) => Some(text),
            _ => None,
        }
    }
}

/// The table's own key or one of its global secondary indexes (template.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
    Gsi2,
    Gsi3,
    /// Bookings by release deadline (sparse).
    Gsi4,
}

impl Index {
    fn name(self) -> Option<&'static str> {
        match self {
            Self::Primary => None,
            Self::Gsi1 => Some("gsi1"),
            Self::Gsi2 => Some("gsi2"),
            Self::Gsi3 => Some("gsi3"),
            Self::Gsi4 => Some("gsi4"),
        }
    }

    fn key_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Primary => ("pk", "sk"),
            Self::Gsi1 => ("gsi1pk", "gsi1sk"),
            Self::Gsi2 => ("gsi2pk", "gsi2sk"),
            Self::Gsi3 => ("gsi3pk", "gsi3sk"),
            Self::Gsi4 => ("gsi4pk", "gsi4sk"),
        }
    }
}

/// One partition of the table or of an index, optionally narrowed to a sort-key prefix.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub index: Index,
    pub partition: &'a str,
    pub sort_key_prefix: Option<&'a str>,
    /// Sort keys from the first to the second, both included (instead of a prefix).
    pub sort_key_between: Option<(&'a str, &'a str)>,
    /// Newest (highest sort key) first.
    pub descending: bool,
}

impl<'a> Query<'a> {
    pub fn partition(partition: &'a str) -> Self {
        Self {
            index: Index::Primary,
            partition,
            sort_key_prefix: None,
            sort_key_between: None,
            descending: false,
        }
    }

    pub fn between(mut self, first: &'a str, last: &'a str) -> Self {
        self.sort_key_between = Some((first, last));
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn with_prefix(mut self, prefix: &'a str) -> Self {
        self.sort_key_prefix = Some(prefix);
        self
    }

    pub fn on(mut self, index: Index) -> Self {
        self.index = index;
        self
    }
}

impl Table {
    pub fn new(config: &SdkConfig, name: impl Into<String>) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config)
                    .interceptor(crate::requests::RequestCounter)
                    .build(),
            ),
            name: Arc::from(name.into()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// A cheap data-plane read that proves the table answers (used by the health check).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(self.name())
            .key("pk", s("HEALTH"))
            .key("sk", s("HEALTH"))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Writes an item as serde shapes it (its struct must carry `pk` and `sk`).
    pub async fn put<T: Serialize>(&self, item: &T) -> Result<(), StoreError> {
        let item: Item =
            serde_dynamo::to_item(item).map_err(|e| StoreError::Failed(Box::new(e)))?;
        self.client
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// One item as serde shapes it, if it exists.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        let label = format!("{pk}/{sk}");
        let output = self
            .client
            .get_item()
            .table_name(self.name())
            .set_key(Some(crate::write::key(pk, sk)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
                    key: label,
                    problem: e.to_string(),
                })
            })
            .transpose()
    }

    /// The items at `keys` (`(pk, sk)`) that exist, as serde shapes them, consistent reads;
    /// `what` names them in the error of one that does not read.
    pub(crate) async fn get_many<T: DeserializeOwned>(
        &self,
        keys: impl IntoIterator<Item = (String, String)>,
        what: &str,
    ) -> Result<Vec<T>, StoreError> {
        let keys = keys
            .into_iter()
            .map(|(pk, sk)| crate::write::key(pk, sk))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
                    key: what.to_owned(),
                    problem: e.to_string(),
                })
            })
            .collect()
    }

    /// The items of `keys` that exist, consistent reads, 100 keys a call (BatchGetItem's most);
    /// keys the service leaves unprocessed (it is throttling) are asked again after a jittered
    /// backoff, at most [`UNPROCESSED_TRIES`] tries in all: then the store is unavailable.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = chunk.to_vec();
            let mut backoff = Backoff::new(
                UNPROCESSED_TRIES,
                std::time::Duration::from_millis(25),
                std::time::Duration::from_millis(800),
            );
            while !pending.is_empty() {
                if !backoff.next_try().await {
                    return Err(StoreError::Unavailable(
                        format!(
                            "{} keys still unprocessed after {UNPROCESSED_TRIES} tries",
                            pending.len()
                        )
                        .into(),
                    ));
                }
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Failed(Box::new(e)))?;
                let mut output = self
                    .client
                    .batch_get_item()
                    .request_items(self.name(), request)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                if let Some(mut responses) = output.responses.take() {
                    found.extend(responses.remove(self.name()).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .take()
                    .and_then(|mut unprocessed| unprocessed.remove(self.name()))
                    .map(|left| left.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// All of `items` or none of them.
    pub(crate) async fn transact(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), crate::write::TransactError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }

    /// How many items of partition `pk` have a sort key beginning with `prefix` (`Select COUNT`:
    /// read capacity is spent, but no item crosses the network).
    pub async fn count(&self, pk: &str, prefix: &str) -> Result<u32, StoreError> {
        let mut total = 0u32;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(self.name())
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":prefix", s(prefix))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            total += output.count.max(0) as u32;
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }

    /// The items of `query`, in order, at most `cap` of them; and whether more were left
    /// (reads whole windows: feeds, exports, a member's listing).
    pub async fn query_up_to<T: DeserializeOwned>(
        &self,
        query: Query<'_>,
        cap: usize,
    ) -> Result<(Vec<T>, bool), StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next): (Vec<T>, _) = self.query_page(query, 100, start).await?;
            items.extend(page);
            if items.len() > cap {
                items.truncate(cap);
                return Ok((items, true));
            }
            match next {
                Some(next) => start = Some(next),
                None => return Ok((items, false)),
            }
        }
    }

    /// One page of a partition in sort-key order, and where the next page starts.
    ///
    /// A `start` taken from another partition is refused rather than followed.
    pub async fn query_page<T: DeserializeOwned>(
        &self,
        query: Query<'_>,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<T>, Option<PageKey>), StoreError> {
        let (items, next) = self.query_items_page(query, limit, start).await?;
        let items: Vec<T> = serde_dynamo::from_items(items).map_err(|e| StoreError::Corrupt {
            key: query.partition.to_owned(),
            problem: e.to_string(),
        })?;
        Ok((items, next))
    }

    /// [`Self::query_page`] as stored: for a partition holding items of several shapes.
    pub(crate) async fn query_items_page(
        &self,
        query: Query<'_>,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<Item>, Option<PageKey>), StoreError> {
        let (pk, sk) = query.index.key_names();
        if let Some(start) = &start
            && start.partition(pk) != Some(query.partition)
        {
            return Err(StoreError::Corrupt {
                key: query.partition.to_owned(),
                problem: "page key of another partition".into(),
            });
        }
        let mut request = self
            .client
            .query()
            .table_name(self.name())
            .set_index_name(query.index.name().map(str::to_owned))
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(query.partition))
            .limit(limit as i32)
            .scan_index_forward(!query.descending)
            .set_exclusive_start_key(start.map(PageKey::into_item));
        request = match (query.sort_key_prefix, query.sort_key_between) {
            (_, Some((first, last))) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":first", s(first))
                .expression_attribute_values(":last", s(last)),
            (Some(prefix), None) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":prefix", s(prefix)),
            (None, None) => request.key_condition_expression("#pk = :pk"),
        };
        let output = request.send().await.map_err(StoreError::from_sdk)?;
        let next = match output.last_evaluated_key {
            Some(key) if !key.is_empty() => Some(PageKey::from_item(key)?),
            _ => None,
        };
        Ok((output.items.unwrap_or_default(), next))
    }
}
