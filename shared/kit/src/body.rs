//! JSON request bodies: content type, size limit and errors a client can act on.

use http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::problem::{ApiError, FieldError};

/// The default body limit of Steward's JSON endpoints (API Gateway's own is 10 MiB).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body into `T`. Unknown fields are refused where `T` says
/// `#[serde(deny_unknown_fields)]`, and reported with their path like any invalid field.
pub fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
) -> Result<T, ApiError> {
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(ApiError::UnsupportedMediaType {
            found: content_type.to_owned(),
            expected: "application/json",
        });
    }
    // Serde also reads a struct from an array, field by field in order (`[null, null]`); every
    // body of this API is an object, so an array is refused before it gets that far. (A nested
    // struct given as an array still reads; each of its fields is checked all the same.)
    if body.trim_ascii_start().starts_with(b"[") {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "a JSON object, not an array",
        )]));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(format!(
                "{} (line {}, column {})",
                describe(&inner),
                inner.line(),
                inner.column()
            )),
            Category::Data => ApiError::Validation(vec![field_error(&path, &describe(&inner))]),
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::MalformedJson(format!(
            "trailing characters (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    refuse_control_characters(body)?;
    Ok(value)
}

/// No string of a body holds a control character but a tab or a line feed (fields of one line
/// refuse those too, by their types: `steward_domain::text`). Most bodies hold no escape, DEL
/// or C1 byte at all, and are not looked at again.
fn refuse_control_characters(body: &[u8]) -> Result<(), ApiError> {
    let suspect = body.contains(&0x7f)
        || body.windows(2).any(|pair| {
            matches!(
                pair,
                [b'\\', b'u' | b'b' | b'f' | b'r'] | [0xc2, 0x80..=0x9f]
            )
        });
    if !suspect {
        return Ok(());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(describe(&e)))?;
    match control_in(&value, String::new()) {
        Some(field) => Err(ApiError::Validation(vec![FieldError::new(
            if field.is_empty() {
                "body".to_owned()
            } else {
                field
            },
            "no control characters (a tab or line break is fine where a field takes several lines)",
        )])),
        None => Ok(()),
    }
}

/// The path of the first string in `value` (at `path`) holding a refused control character.
fn control_in(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let refused = |text: &str| {
        text.chars()
            .any(|c| steward_domain::text::is_refused_control(c, true))
    };
    match value {
        Value::String(text) => refused(text).then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_in(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            if refused(name) {
                return Some(path.clone());
            }
            let inner = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            control_in(field, inner)
        }),
        _ => None,
    }
}

/// A UTF-8 text body of media type `expected` (`text/csv`), within `limit` bytes.
pub fn parse_text<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    limit: usize,
    expected: &'static str,
) -> Result<&'a str, ApiError> {
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(expected) {
        return Err(ApiError::UnsupportedMediaType {
            found: content_type.to_owned(),
            expected,
        });
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::validation("body", format!("not UTF-8: {e}")))?;
    // Line breaks (CRLF too) and tabs are a text file's; no other control character is.
    if let Some(line) = text.lines().position(|line| {
        line.chars()
            .any(|c| c != '\r' && steward_domain::text::is_refused_control(c, true))
    }) {
        return Err(ApiError::validation(
            "body",
            format!("line {}: no control characters", line + 1),
        ));
    }
    Ok(text)
}

/// serde's message without its " at line L column C" suffix (given separately).
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn field_error(path: &str, message: &str) -> FieldError {
    let field = if path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    // serde's message lists every expected field; the path already names the unknown one.
    if message.starts_with("unknown field `") {
        return FieldError::new(field, "unknown field");
    }
    FieldError::new(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Room {
        name: String,
        capacity: u32,
        #[serde(default)]
        equipment: Vec<String>,
    }

    fn json_headers() -> HeaderMap {
        HeaderMap::from_iter([(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )])
    }

    #[test]
    fn good_json_parses() {
        let room: Room =
            parse_json(&json_headers(), br#"{"name":"A","capacity":4}"#, 1024).unwrap();
        assert_eq!(room.capacity, 4);
    }

    #[test]
    fn each_bad_input_gets_its_own_error() {
        let h = json_headers();
        assert!(matches!(
            parse_json::<Room>(&h, b"{\"name\":", 1024),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Room>(&h, b"", 1024),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Room>(&h, br#"{"name":"A","capacity":1} x"#, 1024),
            Err(ApiError::MalformedJson(_))
        ));
        match parse_json::<Room>(&h, br#" ["A", 4]"#, 1024) {
            Err(ApiError::Validation(fields)) => assert_eq!(fields[0].field, "body"),
            other => panic!("an array is not a room: {other:?}"),
        }
        assert!(matches!(
            parse_json::<Room>(&h, &[b' '; 2000], 1024),
            Err(ApiError::PayloadTooLarge { limit: 1024 })
        ));
        let text =
            HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))]);
        assert!(matches!(
            parse_json::<Room>(&text, b"{}", 1024),
            Err(ApiError::UnsupportedMediaType { .. })
        ));
        assert!(matches!(
            parse_json::<Room>(&HeaderMap::new(), b"{}", 1024),
            Err(ApiError::UnsupportedMediaType { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused_with_their_field() {
        let h = json_headers();
        for (body, field) in [
            (r#"{"name":"A\u0000","capacity":4}"#, "name"),
            (r#"{"name":"A\u0007B","capacity":4}"#, "name"),
            (r#"{"name":"A\rB","capacity":4}"#, "name"),
            ("{\"name\":\"A\u{7f}\",\"capacity\":4}", "name"),
            ("{\"name\":\"A\u{85}\",\"capacity\":4}", "name"),
            (
                r#"{"name":"A","capacity":4,"equipment":["ok","\u001b[31m"]}"#,
                "equipment[1]",
            ),
        ] {
            match parse_json::<Room>(&h, body.as_bytes(), 1024) {
                Err(ApiError::Validation(fields)) => assert_eq!(fields[0].field, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        for fine in [
            r#"{"name":"Caf\u00e9\nB\tC","capacity":4}"#,
            r#"{"name":"back\\\\room","capacity":4}"#,
        ] {
            assert!(
                parse_json::<Room>(&h, fine.as_bytes(), 1024).is_ok(),
                "{fine}"
            );
        }
        let csv =
            HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"))]);
        assert!(parse_text(&csv, b"a,b\r\n1,\tx\r\n", 1024, "text/csv").is_ok());
        match parse_text(&csv, b"a,b\n1,x\x07\n", 1024, "text/csv") {
            Err(ApiError::Validation(fields)) => assert!(fields[0].message.contains("line 2")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_errors_name_the_field() {
        let h = json_headers();
        match parse_json::<Room>(&h, br#"{"name":"A","capacity":"four"}"#, 1024) {
            Err(ApiError::Validation(fields)) => assert_eq!(fields[0].field, "capacity"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Room>(&h, br#"{"name":"A","capacity":4,"colour":"red"}"#, 1024) {
            Err(ApiError::Validation(fields)) => {
                assert_eq!(fields[0], FieldError::new("colour", "unknown field"))
            }
            other => panic!("{other:?}"),
        }
        match parse_json::<Room>(&h, br#"{"name":"A","capacity":4,"equipment":[1]}"#, 1024) {
            Err(ApiError::Validation(fields)) => assert_eq!(fields[0].field, "equipment[0]"),
            other => panic!("{other:?}"),
        }
    }
}
