//! API Gateway HTTP API route keys and how a request path selects one.
//!
//! Matching follows API Gateway's rules: the most specific route wins (literal segments before
//! `{param}`, and both before a greedy `{proxy+}`); a request no route matches goes to `$default`.

use std::collections::BTreeMap;
use std::fmt;

/// An HTTP method as a route names it; `Any` is SAM's `ANY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

impl Method {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_uppercase().as_str() {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            "ANY" => Self::Any,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Any => "ANY",
        }
    }

    fn accepts(self, requested: Method) -> bool {
        self == Self::Any || self == requested
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// A route's path, such as `/v1/rooms/{roomId}` or `/files/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoutePattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("route path {0:?} must start with '/'")]
    NotAbsolute(String),
    #[error("route path {0:?}: a greedy {{name+}} segment must be the last one")]
    GreedyNotLast(String),
    #[error("route key {0:?} is not '$default' nor 'METHOD /path'")]
    BadKey(String),
}

impl RoutePattern {
    pub fn parse(text: &str) -> Result<Self, RouteError> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| RouteError::NotAbsolute(text.to_owned()))?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut segments = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if index + 1 == parts.len() => Segment::Greedy(greedy.to_owned()),
                    Some(_) => return Err(RouteError::GreedyNotLast(text.to_owned())),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal((*part).to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path parameters when `path` matches, by name.
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut params = BTreeMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(index) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let value = parts.get(index).filter(|value| !value.is_empty())?;
                    params.insert(name.clone(), (*value).to_owned());
                }
                Segment::Greedy(name) => {
                    let tail = parts.get(index..).filter(|tail| !tail.is_empty())?;
                    params.insert(name.clone(), tail.join("/"));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Orders candidates as API Gateway does: literals beat parameters, which beat greedy.
    fn specificity(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 0,
                Segment::Param(_) => 1,
                Segment::Greedy(_) => 2,
            })
            .collect()
    }
}

/// An API Gateway route key: `$default`, or a method and a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKey {
    Default,
    Route { method: Method, path: RoutePattern },
}

impl RouteKey {
    pub fn parse(text: &str) -> Result<Self, RouteError> {
        if text == "$default" {
            return Ok(Self::Default);
        }
        let (method, path) = text
            .split_once(' ')
            .ok_or_else(|| RouteError::BadKey(text.to_owned()))?;
        let method = Method::parse(method).ok_or_else(|| RouteError::BadKey(text.to_owned()))?;
        Ok(Self::Route {
            method,
            path: RoutePattern::parse(path)?,
        })
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("$default"),
            Self::Route { method, path } => write!(f, "{method} {}", path.as_str()),
        }
    }
}

/// The routes of one API and what a request selects among them.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Method, RoutePattern)>,
    has_default: bool,
}

/// What a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    Route {
        key: RouteKey,
        params: BTreeMap<String, String>,
    },
    Default,
    None,
}

impl RouteTable {
    pub fn new(keys: impl IntoIterator<Item = RouteKey>) -> Self {
        let mut table = Self::default();
        for key in keys {
            match key {
                RouteKey::Default => table.has_default = true,
                RouteKey::Route { method, path } => table.routes.push((method, path)),
            }
        }
        table
            .routes
            .sort_by(|a, b| a.1.specificity().cmp(&b.1.specificity()).then(a.cmp(b)));
        table
    }

    /// The route for a request, API Gateway's way: the most specific matching path whose method
    /// accepts the request's; then `$default` where there is one.
    pub fn select(&self, method: Method, path: &str) -> Selected {
        for (route_method, pattern) in &self.routes {
            if !route_method.accepts(method) {
                continue;
            }
            if let Some(params) = pattern.matches(path) {
                let key = RouteKey::Route {
                    method: *route_method,
                    path: pattern.clone(),
                };
                return Selected::Route { key, params };
            }
        }
        if self.has_default {
            Selected::Default
        } else {
            Selected::None
        }
    }

    /// The methods of the resource at `path`, the `Allow` of a 405 answer: those of the most
    /// specific path that matches it. `/v1/invitations/accept` allows POST only, though
    /// `DELETE /v1/invitations/{id}` would take it as an id: that is another resource.
    pub fn methods_at(&self, path: &str) -> Vec<Method> {
        let matching = || {
            self.routes
                .iter()
                .filter(|(_, pattern)| pattern.matches(path).is_some())
        };
        // The routes are sorted most specific first.
        let Some((_, best)) = matching().next() else {
            return Vec::new();
        };
        let best = best.specificity();
        let mut methods: Vec<Method> = matching()
            .filter(|(_, pattern)| pattern.specificity() == best)
            .map(|(method, _)| *method)
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[&str]) -> RouteTable {
        RouteTable::new(keys.iter().map(|k| RouteKey::parse(k).unwrap()))
    }

    #[test]
    fn literal_beats_parameter_and_parameter_beats_greedy() {
        let t = table(&[
            "GET /v1/rooms/{id}",
            "GET /v1/rooms/export",
            "GET /v1/{proxy+}",
        ]);
        let key = |m, p| match t.select(m, p) {
            Selected::Route { key, .. } => key.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(key(Method::Get, "/v1/rooms/export"), "GET /v1/rooms/export");
        assert_eq!(key(Method::Get, "/v1/rooms/r1"), "GET /v1/rooms/{id}");
        assert_eq!(key(Method::Get, "/v1/rooms/r1/x"), "GET /v1/{proxy+}");
    }

    #[test]
    fn parameters_are_captured_and_empty_segments_do_not_match() {
        let t = table(&["GET /v1/rooms/{roomId}/bookings/{bookingId}"]);
        match t.select(Method::Get, "/v1/rooms/r1/bookings/b2") {
            Selected::Route { params, .. } => {
                assert_eq!(params["roomId"], "r1");
                assert_eq!(params["bookingId"], "b2");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.select(Method::Get, "/v1/rooms//bookings/b2"),
            Selected::None
        );
        assert_eq!(
            t.select(Method::Get, "/v1/rooms/r1/bookings/b2/"),
            Selected::None
        );
    }

    #[test]
    fn unmatched_requests_go_to_default_when_declared() {
        let with_default = table(&["GET /v1/health", "$default"]);
        assert_eq!(
            with_default.select(Method::Post, "/v1/health"),
            Selected::Default
        );
        assert_eq!(with_default.select(Method::Get, "/nope"), Selected::Default);
        assert_eq!(
            table(&["GET /v1/health"]).select(Method::Get, "/nope"),
            Selected::None
        );
    }

    #[test]
    fn methods_at_lists_what_a_405_allows() {
        let t = table(&[
            "GET /v1/rooms/{id}",
            "DELETE /v1/rooms/{id}",
            "POST /v1/rooms",
        ]);
        assert_eq!(
            t.methods_at("/v1/rooms/r1"),
            vec![Method::Get, Method::Delete]
        );
        assert!(t.methods_at("/v1/other").is_empty());

        let shadowed = table(&[
            "POST /v1/invitations/accept",
            "DELETE /v1/invitations/{id}",
            "GET /v1/invitations/{id}",
        ]);
        assert_eq!(
            shadowed.methods_at("/v1/invitations/accept"),
            vec![Method::Post]
        );
        assert_eq!(
            shadowed.methods_at("/v1/invitations/i1"),
            vec![Method::Get, Method::Delete]
        );
    }

    #[test]
    fn route_keys_round_trip_and_bad_ones_are_refused() {
        for key in ["$default", "GET /v1/health", "ANY /v1/{proxy+}"] {
            assert_eq!(RouteKey::parse(key).unwrap().to_string(), key);
        }
        assert!(RouteKey::parse("FETCH /x").is_err());
        assert!(RouteKey::parse("GET x").is_err());
        assert!(RoutePattern::parse("/a/{p+}/b").is_err());
    }
}
