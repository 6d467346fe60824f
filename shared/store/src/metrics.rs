//! Recorded latencies, one item per instance and interval: `METRICS#<UTC hour>` /
//! `<unix milliseconds>#<instance>`, kept 7 days. The performance endpoint reads the hours it needs
//! and merges them.

use serde::{Deserialize, Serialize};

use crate::{Query, StoreError, Table};

const KEEP_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsRecord<S> {
    pub pk: String,
    pub sk: String,
    pub function: String,
    pub instance: String,
    /// Unix milliseconds at the end of the interval.
    pub at_ms: i64,
    pub snapshot: S,
    pub expires_at: i64,
}

const HOUR_MS: i64 = 3_600_000;

fn hour_partition(at_ms: i64) -> String {
    format!("METRICS#{}", at_ms.div_euclid(HOUR_MS))
}

#[derive(Clone, Debug)]
pub struct MetricsStore {
    table: Table,
}

impl MetricsStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn save<S: Serialize>(
        &self,
        function: &str,
        instance: &str,
        at_ms: i64,
        snapshot: &S,
    ) -> Result<(), StoreError> {
        self.table
            .put(&MetricsRecord {
                pk: hour_partition(at_ms),
                sk: format!("{at_ms:015}#{instance}"),
                function: function.into(),
                instance: instance.into(),
                at_ms,
                snapshot,
                expires_at: at_ms / 1000 + KEEP_DAYS * 86_400,
            })
            .await
    }

    /// Every record from `since_ms` to `until_ms` (Unix milliseconds).
    pub async fn since<S: serde::de::DeserializeOwned>(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<MetricsRecord<S>>, StoreError> {
        let mut records = Vec::new();
        let first = format!("{since_ms:015}");
        let last = format!("{until_ms:015}~");
        for hour in since_ms.div_euclid(HOUR_MS)..=until_ms.div_euclid(HOUR_MS) {
            let partition = format!("METRICS#{hour}");
            let mut start = None;
            loop {
                let query = Query::partition(&partition).between(&first, &last);
                let (page, next) = self.table.query_page(query, 500, start).await?;
                records.extend(page);
                match next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
        }
        Ok(records)
    }
}
