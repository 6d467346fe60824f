//! Writing objects to the S3 bucket (nightly reports).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use crate::{SdkConfig, StoreError};

#[derive(Clone, Debug)]
pub struct Bucket {
    client: Client,
    name: String,
}

impl Bucket {
    pub fn new(config: &SdkConfig, name: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes `body` at `key`; a second write of the same key replaces it (versioned).
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        Ok(bytes.to_vec())
    }
}
