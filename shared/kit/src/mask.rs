//! Personal data as it may appear in logs: enough to correlate, not enough to identify.

use std::fmt;
use std::net::IpAddr;

/// `jane.doe@example.com` logs as `j***@e***.com`.
pub struct Email<'a>(pub &'a str);

impl fmt::Display for Email<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((local, domain)) = self.0.rsplit_once('@') else {
            return f.write_str("***");
        };
        let first = |text: &str| text.chars().next().map(String::from).unwrap_or_default();
        let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
        write!(f, "{}***@{}***", first(local), first(host))?;
        if !tld.is_empty() {
            write!(f, ".{tld}")?;
        }
        Ok(())
    }
}

/// An IPv4 address logs as its /24, an IPv6 address as its /48.
pub struct Ip<'a>(pub &'a str);

impl fmt::Display for Ip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => {
                let [a, b, c, _] = v4.octets();
                write!(f, "{a}.{b}.{c}.0/24")
            }
            Ok(IpAddr::V6(v6)) => {
                let s = v6.segments();
                write!(f, "{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
            Err(_) => f.write_str("***"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_addresses_are_masked() {
        assert_eq!(Email("jane.doe@example.com").to_string(), "j***@e***.com");
        assert_eq!(Email("not-an-email").to_string(), "***");
        assert_eq!(Ip("203.0.113.42").to_string(), "203.0.113.0/24");
        assert_eq!(
            Ip("2001:db8:85a3::8a2e:370:7334").to_string(),
            "2001:db8:85a3::/48"
        );
        assert_eq!(Ip("garbage").to_string(), "***");
    }
}
