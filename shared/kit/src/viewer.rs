//! The person's address when the API is reached through the web app's CloudFront distribution
//! (template.yaml, `/v1/*`). API Gateway's `sourceIp` is then CloudFront's edge, shared by
//! everyone near it; the distribution sends the viewer's own as `CloudFront-Viewer-Address` and
//! proves the request came through it with a secret header (`OriginSecret`). Anyone can send
//! either header to API Gateway directly, so the viewer's address counts only beside the secret.

use std::net::IpAddr;

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, Env};

/// The header the distribution adds with the secret.
pub const SECRET_HEADER: &str = "x-steward-origin-secret";
/// CloudFront's `ip:port` of the viewer (IPv6 in brackets or not).
pub const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

/// The distribution's secret, when one is configured (CLOUDFRONT_ORIGIN_SECRET).
#[derive(Clone, Default)]
pub struct Edge {
    secret: Option<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct EdgeConfig {
    #[serde(default)]
    cloudfront_origin_secret: String,
}

impl Edge {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config: EdgeConfig = env.parse()?;
        Ok(Self::with_secret(&config.cloudfront_origin_secret))
    }

    /// An empty secret trusts no request.
    pub fn with_secret(secret: &str) -> Self {
        Self {
            secret: (!secret.is_empty()).then(|| secret.as_bytes().to_vec()),
        }
    }

    /// The address to count and log: the viewer's for a request that carries the secret, else
    /// `gateway`'s. The secret header is taken out of `headers` either way, so that nothing
    /// after this reads, logs or echoes it.
    pub fn source(&self, headers: &mut HeaderMap, gateway: Option<String>) -> Option<String> {
        let presented = headers.remove(SECRET_HEADER);
        let trusted = match (&self.secret, &presented) {
            (Some(secret), Some(presented)) => bool::from(presented.as_bytes().ct_eq(secret)),
            _ => false,
        };
        if !trusted {
            return gateway;
        }
        headers
            .get(VIEWER_ADDRESS)
            .and_then(|value| value.to_str().ok())
            .and_then(viewer_ip)
            .or(gateway)
    }
}

/// `203.0.113.7:46532` or `2001:db8::1:46532` (CloudFront writes IPv6 without brackets; the
/// port is always last).
fn viewer_ip(text: &str) -> Option<String> {
    let (ip, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), value.parse().unwrap()))
            .collect()
    }

    const EDGE: Option<&str> = Some("130.176.1.1");

    fn source(edge: &Edge, pairs: &[(&'static str, &str)]) -> (Option<String>, HeaderMap) {
        let mut headers = headers(pairs);
        let source = edge.source(&mut headers, EDGE.map(str::to_owned));
        (source, headers)
    }

    #[test]
    fn the_viewer_counts_only_beside_the_secret() {
        let edge = Edge::with_secret("s3cret");
        let viewer = (VIEWER_ADDRESS, "203.0.113.7:46532");
        assert_eq!(
            source(&edge, &[(SECRET_HEADER, "s3cret"), viewer])
                .0
                .as_deref(),
            Some("203.0.113.7")
        );
        for refused in [
            &[viewer][..],
            &[(SECRET_HEADER, "wrong"), viewer],
            &[(SECRET_HEADER, "s3cre"), viewer],
        ] {
            assert_eq!(source(&edge, refused).0.as_deref(), EDGE, "{refused:?}");
        }
        // No secret configured: nothing is trusted, an empty header included.
        let unset = Edge::with_secret("");
        assert_eq!(
            source(&unset, &[(SECRET_HEADER, ""), viewer]).0.as_deref(),
            EDGE
        );
    }

    #[test]
    fn viewer_addresses_of_both_families_parse_and_nonsense_keeps_the_edge() {
        let edge = Edge::with_secret("s3cret");
        for (written, ip) in [
            ("2001:db8::1:443", Some("2001:db8::1")),
            ("[2001:db8::2]:443", Some("2001:db8::2")),
            ("203.0.113.7", EDGE),
            ("not an address:80", EDGE),
            ("203.0.113.7:99999", EDGE),
        ] {
            let pairs = [(SECRET_HEADER, "s3cret"), (VIEWER_ADDRESS, written)];
            assert_eq!(source(&edge, &pairs).0.as_deref(), ip, "{written}");
        }
    }

    #[test]
    fn the_secret_never_goes_further() {
        let edge = Edge::with_secret("s3cret");
        let (_, left) = source(&edge, &[(SECRET_HEADER, "s3cret")]);
        assert!(left.get(SECRET_HEADER).is_none());
        let (_, left) = source(&Edge::default(), &[(SECRET_HEADER, "guess")]);
        assert!(left.get(SECRET_HEADER).is_none());
    }
}
