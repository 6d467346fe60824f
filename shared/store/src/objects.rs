//! The S3 bucket: nightly reports written and read; credential files uploaded and downloaded by
//! clients through presigned URLs, read back in part by the verifier, deleted when refused.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
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

    /// A URL that lets its holder `PUT` exactly one object at `key` for `valid`: its content
    /// type and length are signed, so S3 refuses another type or size (the Rust SDK has no
    /// presigned POST with a size range; a signed `Content-Length` is the limit).
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        valid: Duration,
    ) -> Result<Presigned, StoreError> {
        let config =
            PresigningConfig::expires_in(valid).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let length = i64::try_from(content_length).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            // Signed, so S3 refuses a second PUT to the key: a file is never swapped for
            // another after the verifier checked it.
            .if_none_match("*")
            .presigned(config)
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(Presigned::of(&request))
    }

    /// A URL that lets its holder `GET` the object at `key` for `valid`, answered as an
    /// attachment named `file_name` (signed, so that a browser saves the file rather than
    /// showing it, whatever it holds).
    pub async fn presign_download(
        &self,
        key: &str,
        file_name: &str,
        valid: Duration,
    ) -> Result<Presigned, StoreError> {
        let config =
            PresigningConfig::expires_in(valid).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .response_content_disposition(attachment(file_name))
            .presigned(config)
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(Presigned::of(&request))
    }

    /// The object's size and its first `head` bytes (`None`: no such object).
    pub async fn head_of(
        &self,
        key: &str,
        head: usize,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let range = format!("bytes=0-{}", head.saturating_sub(1));
        let output = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .range(range)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(error) => return Err(StoreError::from_sdk(error)),
        };
        // `Content-Range: bytes 0-N/SIZE` holds the whole size; without it the object is whole.
        let size = output
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|s| s.parse().ok());
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Failed(Box::new(e)))?
            .to_vec();
        let size = size.unwrap_or(bytes.len() as u64);
        Ok(Some((size, bytes)))
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

/// An object key as an S3 event notification gives it (URL-encoded, spaces as `+`), decoded.
pub fn event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// A presigned request: where to send it, how, and the headers it must carry as signed.
/// `Content-Disposition: attachment` naming `file_name`: a plain ASCII `filename` (quotes,
/// backslashes and anything outside printable ASCII replaced) and the exact name in RFC 8187's
/// `filename*` for the clients that read it.
pub fn attachment(file_name: &str) -> String {
    let plain: String = file_name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Presigned {
    pub url: String,
    pub method: String,
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Presigned {
    fn of(request: &aws_sdk_s3::presigning::PresignedRequest) -> Self {
        Self {
            url: request.uri().to_owned(),
            method: request.method().to_owned(),
            headers: request
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> Bucket {
        let config = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Bucket::new(&config, "steward-files")
    }

    fn query(url: &str, name: &str) -> Option<String> {
        url.split_once('?')?
            .1
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    #[tokio::test]
    async fn an_upload_url_pins_its_key_type_length_and_expiry() {
        let key = "tenants/t_1/credentials/cr_1.pdf";
        let presigned = bucket()
            .presign_upload(key, "application/pdf", 1_234, Duration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(presigned.method, "PUT");
        assert!(
            presigned.url.contains("/tenants/t_1/credentials/cr_1.pdf?"),
            "{}",
            presigned.url
        );
        assert_eq!(
            query(&presigned.url, "X-Amz-Expires").as_deref(),
            Some("300")
        );
        let signed = query(&presigned.url, "X-Amz-SignedHeaders").unwrap();
        assert!(
            signed.contains("content-type")
                && signed.contains("content-length")
                && signed.contains("if-none-match"),
            "{signed}"
        );
        assert_eq!(
            presigned.headers.get("if-none-match").map(String::as_str),
            Some("*"),
            "written once"
        );
        assert_eq!(
            presigned.headers.get("content-type").map(String::as_str),
            Some("application/pdf")
        );
        assert_eq!(
            presigned.headers.get("content-length").map(String::as_str),
            Some("1234")
        );
    }

    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(event_key("tenants%2Ft_1%2Fa+b.pdf"), "tenants/t_1/a b.pdf");
        assert_eq!(event_key("tenants/t_1/c.pdf"), "tenants/t_1/c.pdf");
    }

    #[tokio::test]
    async fn a_download_url_expires_and_names_its_attachment() {
        let presigned = bucket()
            .presign_download(
                "tenants/t_1/credentials/cr_1.pdf",
                "Jo's \"first aid\".pdf",
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(presigned.method, "GET");
        assert_eq!(
            query(&presigned.url, "X-Amz-Expires").as_deref(),
            Some("60")
        );
        let disposition = query(&presigned.url, "response-content-disposition").unwrap();
        let disposition = percent_encoding::percent_decode_str(&disposition).decode_utf8_lossy();
        assert!(
            disposition.starts_with("attachment; filename=\"Jo's _first aid_.pdf\""),
            "{disposition}"
        );
    }

    #[test]
    fn an_attachment_name_cannot_break_its_header() {
        assert_eq!(
            attachment("bookings.csv"),
            "attachment; filename=\"bookings.csv\"; filename*=UTF-8''bookings%2Ecsv"
        );
        let odd = attachment("a\"b\\c\r\nSet-Cookie: x=1 é.pdf");
        assert!(!odd.contains('\r') && !odd.contains('\n'), "{odd}");
        assert!(
            odd.starts_with("attachment; filename=\"a_b_c__Set-Cookie: x=1 _.pdf\""),
            "{odd}"
        );
    }
}
