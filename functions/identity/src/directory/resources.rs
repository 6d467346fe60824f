//! SCIM 2.0's wire format (RFC 7643, RFC 7644) for what Steward provisions: a member as a
//! `User`, list responses, errors, the one filter it answers, PATCH operations, and the
//! service provider's description of itself.

use serde_json::{Map, Value, json};
use steward_store::identity::UserRecord;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The media type of SCIM's requests and answers.
pub const MEDIA_TYPE: &str = "application/scim+json";
/// The most resources one page holds.
pub const MAX_RESULTS: usize = 200;

/// A SCIM error (RFC 7644 §3.12): its HTTP status, `scimType` where the RFC names one, and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

/// A member as a SCIM `User`; `base` is the API's public URL.
pub fn user(user: &UserRecord, base: &str) -> Value {
    json!({
        "schemas": [USER],
        "id": user.user_id,
        "userName": user.email,
        "name": { "formatted": user.name },
        "displayName": user.name,
        "emails": [{ "value": user.email, "type": "work", "primary": true }],
        "active": user.status == "active",
        "roles": user.roles.iter().map(|role| json!({ "value": role })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "User",
            "created": user.created_at,
            "location": format!("{base}/scim/v2/Users/{}", user.user_id),
        },
    })
}

/// A role of the organisation as a SCIM `Group`, with the members holding it.
pub fn group(role: &str, members: &[&UserRecord], base: &str) -> Value {
    json!({
        "schemas": [GROUP],
        "id": role,
        "displayName": role,
        "members": members
            .iter()
            .map(|user| json!({
                "value": user.user_id,
                "display": user.name,
                "$ref": format!("{base}/scim/v2/Users/{}", user.user_id),
            }))
            .collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/scim/v2/Groups/{role}"),
        },
    })
}

/// The one group filter answered: `displayName eq "<role>"`.
pub fn display_name_filter(filter: &str) -> Result<String, ScimError> {
    let refuse = || {
        ScimError::bad(
            "invalidFilter",
            format!("only displayName eq \"<role>\" is supported, not {filter:?}"),
        )
    };
    let mut words = filter.trim().splitn(3, char::is_whitespace);
    let (Some(attribute), Some(operator), Some(value)) = (words.next(), words.next(), words.next())
    else {
        return Err(refuse());
    };
    if !attribute.eq_ignore_ascii_case("displayName") || !operator.eq_ignore_ascii_case("eq") {
        return Err(refuse());
    }
    serde_json::from_str::<String>(value.trim()).map_err(|_| refuse())
}

/// What a group PATCH (or PUT) asks: members to add, to remove, or the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersChange {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub replace: Option<Vec<String>>,
}

fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![value.clone()],
        _ => {
            return Err(ScimError::bad(
                "invalidValue",
                "members are [{\"value\": \"<user id>\"}]",
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            item["value"].as_str().map(str::to_owned).ok_or_else(|| {
                ScimError::bad("invalidValue", "a member is {\"value\": \"<user id>\"}")
            })
        })
        .collect()
}

/// The operations of a PatchOp (RFC 7644 §3.5.2): it names its schema and lists one or more.
fn operations(body: &Value) -> Result<&Vec<Value>, ScimError> {
    let schemas = body["schemas"].as_array();
    if !schemas.is_some_and(|s| s.iter().any(|schema| schema == PATCH_OP)) {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a PATCH names the schema {PATCH_OP}"),
        ));
    }
    body.get("Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::bad("invalidSyntax", "Operations lists one or more operations"))
}

/// Reads a group PatchOp: `add` or `replace` of `members`, `remove` of `members` (all, with a
/// value listing some, or `members[value eq "<id>"]`). `displayName` is the role's name, which
/// the directory does not change.
pub fn group_patch(body: &Value) -> Result<MembersChange, ScimError> {
    let operations = operations(body)?;
    let mut change = MembersChange::default();
    for operation in operations {
        let op = operation["op"].as_str().unwrap_or("").to_ascii_lowercase();
        let path = operation["path"].as_str().unwrap_or("members");
        let value = &operation["value"];
        let filtered = path
            .strip_prefix("members[value eq ")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|quoted| serde_json::from_str::<String>(quoted).ok());
        match (op.as_str(), path, filtered) {
            ("add", "members", _) => change.add.extend(member_ids(value)?),
            ("replace", "members", _) => change.replace = Some(member_ids(value)?),
            ("remove", "members", _) if value.is_null() => change.replace = Some(Vec::new()),
            ("remove", "members", _) => change.remove.extend(member_ids(value)?),
            ("remove", _, Some(id)) => change.remove.push(id),
            _ => {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!(
                        "{op} of {path:?} is not supported: a group's members change, its name is its role's"
                    ),
                ));
            }
        }
    }
    Ok(change)
}

/// A page of resources (RFC 7644 §3.4.2): `total` in all, this page from `start_index`.
pub fn list(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The one filter answered: `userName eq "<address>"` (attribute names are case-insensitive;
/// so is the value, `userName` not being case-exact). Anything else is `invalidFilter`.
pub fn user_name_filter(filter: &str) -> Result<String, ScimError> {
    let refuse = || {
        ScimError::bad(
            "invalidFilter",
            format!("only userName eq \"<address>\" is supported, not {filter:?}"),
        )
    };
    let mut words = filter.trim().splitn(3, char::is_whitespace);
    let (Some(attribute), Some(operator), Some(value)) = (words.next(), words.next(), words.next())
    else {
        return Err(refuse());
    };
    let value = value.trim();
    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    if !attribute.eq_ignore_ascii_case("userName")
        || !operator.eq_ignore_ascii_case("eq")
        || !quoted
    {
        return Err(refuse());
    }
    let inner: String = serde_json::from_str(value).map_err(|_| refuse())?;
    Ok(inner.to_lowercase())
}

/// `startIndex` and `count` (RFC 7644 §3.4.2.4): 1-based, at least 1; the count at most
/// [`MAX_RESULTS`], 100 by default.
pub fn paging(start_index: Option<&str>, count: Option<&str>) -> Result<(usize, usize), ScimError> {
    let number = |text: Option<&str>, default: usize, name: &str| match text {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .map(|n| usize::try_from(n.max(0)).unwrap_or(0))
            .map_err(|_| ScimError::bad("invalidValue", format!("{name} is not a number"))),
    };
    let start = number(start_index, 1, "startIndex")?.max(1);
    let count = number(count, 100, "count")?.min(MAX_RESULTS);
    Ok((start, count))
}

/// What a directory may say of a user when creating or replacing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
}

/// The attributes of a `User` Steward keeps; others (an enterprise extension, a phone) are
/// refused, so that nothing a directory sends is silently dropped. `id`, `meta` and
/// `externalId` are the directory's own bookkeeping and ignored.
const USER_ATTRIBUTES: [&str; 9] = [
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "emails",
    "active",
];

/// Reads a `User` body (RFC 7643 §4.1).
pub fn user_input(body: &Value) -> Result<UserInput, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the body is not a JSON object"))?;
    if let Some(unknown) = object.keys().find(|key| {
        !USER_ATTRIBUTES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key))
    }) {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!(
                "unknown attribute {unknown:?}: Steward keeps userName, name, displayName, emails and active"
            ),
        ));
    }
    let field = |name: &str| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let user_name = field("userName")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| {
            ScimError::bad(
                "invalidValue",
                "userName is required: the member's email address",
            )
        })?
        .trim()
        .to_lowercase();
    let active = match field("active") {
        None => true,
        Some(Value::Bool(active)) => *active,
        Some(_) => return Err(ScimError::bad("invalidValue", "active is a boolean")),
    };
    Ok(UserInput {
        user_name,
        display_name: display_name(field("displayName"), field("name"))?,
        active,
    })
}

/// The name shown: `displayName`, else `name.formatted`, else given and family names.
fn display_name(
    display: Option<&Value>,
    name: Option<&Value>,
) -> Result<Option<String>, ScimError> {
    if let Some(display) = display {
        return text(display, "displayName").map(Some);
    }
    let Some(name) = name.and_then(Value::as_object) else {
        return Ok(None);
    };
    let part = |key: &str| name.get(key).and_then(Value::as_str).map(str::trim);
    if let Some(formatted) = part("formatted").filter(|f| !f.is_empty()) {
        return Ok(Some(formatted.to_owned()));
    }
    let joined = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((!joined.is_empty()).then_some(joined))
}

fn text(value: &Value, name: &str) -> Result<String, ScimError> {
    value
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= 100)
        .map(str::to_owned)
        .ok_or_else(|| ScimError::bad("invalidValue", format!("{name} is 1 to 100 characters")))
}

/// What a PATCH (RFC 7644 §3.5.2) changes: whether the user is active, and the name shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub active: Option<bool>,
    pub display_name: Option<String>,
}

/// Reads a PatchOp: `replace` (or `add`) of `active`, `displayName` or `name.formatted`, by
/// path or as a value object without one (as Entra ID sends it). Anything else is refused.
pub fn user_patch(body: &Value) -> Result<UserPatch, ScimError> {
    let operations = operations(body)?;
    let mut patch = UserPatch::default();
    for operation in operations {
        let op = operation["op"].as_str().unwrap_or("").to_ascii_lowercase();
        if op != "replace" && op != "add" {
            return Err(ScimError::bad(
                "invalidValue",
                format!(
                    "op {:?} is not supported here: replace active or displayName",
                    operation["op"]
                ),
            ));
        }
        let value = &operation["value"];
        match operation["path"].as_str() {
            Some(path) => set(&mut patch, path, value)?,
            None => {
                let values: &Map<String, Value> = value.as_object().ok_or_else(|| {
                    ScimError::bad(
                        "invalidValue",
                        "an operation without a path has an object value",
                    )
                })?;
                for (path, value) in values {
                    set(&mut patch, path, value)?;
                }
            }
        }
    }
    Ok(patch)
}

fn set(patch: &mut UserPatch, path: &str, value: &Value) -> Result<(), ScimError> {
    if path.eq_ignore_ascii_case("active") {
        // Some directories send the boolean as text.
        patch.active = Some(match value {
            Value::Bool(active) => *active,
            Value::String(text) if text.eq_ignore_ascii_case("true") => true,
            Value::String(text) if text.eq_ignore_ascii_case("false") => false,
            _ => return Err(ScimError::bad("invalidValue", "active is a boolean")),
        });
    } else if path.eq_ignore_ascii_case("displayName")
        || path.eq_ignore_ascii_case("name.formatted")
    {
        patch.display_name = Some(text(value, path)?);
    } else {
        return Err(ScimError::bad(
            "invalidPath",
            format!("{path:?} cannot be changed here: active, displayName and name.formatted can"),
        ));
    }
    Ok(())
}

/// `GET /scim/v2/ServiceProviderConfig` (RFC 7643 §5).
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{base}/v1/openapi.yaml"),
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token an admin of the organisation creates with POST /v1/settings/scim/tokens",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/scim/v2/ServiceProviderConfig"),
        },
    })
}

/// `GET /scim/v2/ResourceTypes` (RFC 7643 §6).
pub fn resource_types(base: &str) -> Value {
    let resource_type = |name: &str, endpoint: &str, description: &str, schema: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/scim/v2/ResourceTypes/{name}"),
            },
        })
    };
    list(
        vec![
            resource_type("User", "/Users", "A member of the organisation", USER),
            resource_type(
                "Group",
                "/Groups",
                "A role of the organisation and its holders",
                GROUP,
            ),
        ],
        2,
        1,
    )
}

/// `GET /scim/v2/Schemas` (RFC 7643 §7): the attributes of a `User` Steward keeps.
pub fn schemas(base: &str) -> Value {
    let attribute = |name: &str,
                     kind: &str,
                     mutability: &str,
                     required: bool,
                     description: &str| {
        json!({
            "name": name, "type": kind, "multiValued": false, "description": description,
            "required": required, "caseExact": false, "mutability": mutability,
            "returned": "default", "uniqueness": if name == "userName" { "server" } else { "none" },
        })
    };
    list(
        vec![
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": USER,
                "name": "User",
                "description": "A member of the organisation",
                "attributes": [
                    attribute("userName", "string", "immutable", true, "The member's email address"),
                    attribute("displayName", "string", "readWrite", false, "The name the organisation shows"),
                    attribute("active", "boolean", "readWrite", false, "false suspends the membership and ends its sessions"),
                    {
                        "name": "name", "type": "complex", "multiValued": false, "required": false,
                        "mutability": "readWrite", "returned": "default",
                        "subAttributes": [
                            attribute("formatted", "string", "readWrite", false, "The full name"),
                            attribute("givenName", "string", "writeOnly", false, "Read into the full name"),
                            attribute("familyName", "string", "writeOnly", false, "Read into the full name"),
                        ],
                    },
                    {
                        "name": "emails", "type": "complex", "multiValued": true, "required": false,
                        "mutability": "readOnly", "returned": "default",
                        "subAttributes": [
                            attribute("value", "string", "readOnly", false, "The address: userName"),
                            attribute("type", "string", "readOnly", false, "work"),
                            attribute("primary", "boolean", "readOnly", false, "true: the one address"),
                        ],
                    },
                    {
                        "name": "roles", "type": "complex", "multiValued": true, "required": false,
                        "mutability": "readOnly", "returned": "default",
                        "description": "The member's roles in the organisation (its admins grant them)",
                        "subAttributes": [attribute("value", "string", "readOnly", false, "A role's name")],
                    },
                ],
                "meta": {
                    "resourceType": "Schema",
                    "location": format!("{base}/scim/v2/Schemas/{USER}"),
                },
            }),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": GROUP,
                "name": "Group",
                "description": "A role of the organisation; its members hold it",
                "attributes": [
                    attribute("displayName", "string", "immutable", true, "The role's name"),
                    {
                        "name": "members", "type": "complex", "multiValued": true, "required": false,
                        "mutability": "readWrite", "returned": "default",
                        "subAttributes": [
                            attribute("value", "string", "immutable", false, "A user's id"),
                            attribute("display", "string", "readOnly", false, "The user's name"),
                            {
                                "name": "$ref", "type": "reference", "referenceTypes": ["User"],
                                "multiValued": false, "required": false, "caseExact": false,
                                "mutability": "immutable", "returned": "default", "uniqueness": "none",
                            },
                        ],
                    },
                ],
                "meta": {
                    "resourceType": "Schema",
                    "location": format!("{base}/scim/v2/Schemas/{GROUP}"),
                },
            }),
        ],
        2,
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_filter_is_user_name_eq_a_quoted_address() {
        assert_eq!(
            user_name_filter(r#"userName eq "Ada@Acme.test""#).unwrap(),
            "ada@acme.test"
        );
        assert_eq!(
            user_name_filter(r#"USERNAME EQ "ada@acme.test""#).unwrap(),
            "ada@acme.test"
        );
        for filter in [
            r#"userName co "ada""#,
            r#"emails eq "ada@acme.test""#,
            r#"userName eq ada"#,
            r#"userName eq "ada" and active eq true"#,
            "",
        ] {
            let error = user_name_filter(filter).unwrap_err();
            assert_eq!(
                (error.status, error.scim_type),
                (400, Some("invalidFilter")),
                "{filter}"
            );
        }
    }

    #[test]
    fn users_are_read_strictly_and_patches_as_directories_send_them() {
        let input = user_input(&json!({
            "schemas": [USER], "userName": " Ada@Acme.test ", "externalId": "x1",
            "name": { "givenName": "Ada", "familyName": "Lovelace" }, "active": false,
        }))
        .unwrap();
        assert_eq!(input.user_name, "ada@acme.test");
        assert_eq!(input.display_name.as_deref(), Some("Ada Lovelace"));
        assert!(!input.active);
        let unknown =
            user_input(&json!({ "userName": "a@b.test", "phoneNumbers": [] })).unwrap_err();
        assert_eq!(unknown.scim_type, Some("invalidSyntax"));
        assert!(user_input(&json!({ "displayName": "x" })).is_err());

        let by_path = user_patch(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{ "op": "Replace", "path": "active", "value": "False" }],
        }))
        .unwrap();
        assert_eq!(by_path.active, Some(false));
        let by_value = user_patch(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{ "op": "replace", "value": { "active": true, "displayName": "Ada L." } }],
        }))
        .unwrap();
        assert_eq!(
            by_value,
            UserPatch {
                active: Some(true),
                display_name: Some("Ada L.".into())
            }
        );
        for bad in [
            json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] }),
            json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove", "path": "active" }] }),
            json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "userName", "value": "x" }] }),
            json!({ "schemas": [PATCH_OP], "Operations": [] }),
        ] {
            assert_eq!(user_patch(&bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn paging_is_one_based_and_bounded() {
        assert_eq!(paging(None, None).unwrap(), (1, 100));
        assert_eq!(paging(Some("0"), Some("1000")).unwrap(), (1, MAX_RESULTS));
        assert_eq!(paging(Some("3"), Some("-1")).unwrap(), (3, 0));
        assert!(paging(Some("x"), None).is_err());
    }
}
