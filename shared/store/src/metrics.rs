//! Recorded latencies, one item per instance and interval: `METRICS#<UTC hour>` /
//! `<unix minute>#<instance>`, kept 7 days. The performance endpoint reads the hours it needs
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
    /// Unix seconds at the end of the interval.
    pub at: i64,
    pub snapshot: S,
    pub expires_at: i64,
}

fn hour_partition(at: i64) -> String {
    format!("METRICS#{}", at.div_euclid(3600))
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
        at: i64,
        snapshot: &S,
    ) -> Result<(), StoreError> {
        self.table
            .put(&MetricsRecord {
                pk: hour_partition(at),
                sk: format!("{at:012}#{instance}"),
                function: function.into(),
                instance: instance.into(),
                at,
                snapshot,
                expires_at: at + KEEP_DAYS * 86_400,
            })
            .await
    }

    /// Every record from `since` to `until` (Unix seconds).
    pub async fn since<S: serde::de::DeserializeOwned>(
        &self,
        since: i64,
        until: i64,
    ) -> Result<Vec<MetricsRecord<S>>, StoreError> {
        let mut records = Vec::new();
        let first = format!("{since:012}");
        let last = format!("{until:012}~");
        for hour in since.div_euclid(3600)..=until.div_euclid(3600) {
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
