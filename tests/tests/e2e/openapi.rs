//! docs/openapi.yaml documents exactly the routes of template.yaml: every route has its
//! operation, every operation its route, and public operations are exactly the routes without
//! the authorizer.

use std::collections::BTreeSet;

use steward_e2e::repository_root;
use steward_template::{HttpAuth, Template};

#[test]
fn the_openapi_document_lists_exactly_the_template_routes() {
    let template = Template::load(repository_root().join("template.yaml")).unwrap();
    let mut routes = BTreeSet::new();
    let mut public_routes = BTreeSet::new();
    for (key, _, auth) in template.routes().unwrap() {
        let key = key.to_string();
        if key == "$default" {
            continue;
        }
        if matches!(auth, HttpAuth::None) {
            public_routes.insert(key.clone());
        }
        routes.insert(key);
    }

    let text = std::fs::read_to_string(repository_root().join("docs/openapi.yaml")).unwrap();
    let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut operations = BTreeSet::new();
    let mut public_operations = BTreeSet::new();
    for (path, item) in document["paths"].as_mapping().expect("paths") {
        let path = path.as_str().unwrap();
        for (method, operation) in item.as_mapping().unwrap() {
            let key = format!("{} {path}", method.as_str().unwrap().to_uppercase());
            let security = &operation["security"];
            // Signed by a door terminal: no token, so no authorizer at the gateway; the
            // function checks the signature and the terminal's permission.
            // So is the organisation's directory, with its SCIM token.
            let signed_without_the_authorizer = security.as_sequence().is_some_and(|s| {
                s.len() == 1 && (s[0].get("terminal").is_some() || s[0].get("scim").is_some())
            });
            if security.as_sequence().is_some_and(|s| s.is_empty()) {
                public_operations.insert(key.clone());
            } else {
                if signed_without_the_authorizer {
                    public_operations.insert(key.clone());
                }
                assert!(
                    operation["x-steward-permission"]
                        .as_str()
                        .is_some_and(|p| p.contains(':')),
                    "{key}: a protected operation names its permission"
                );
            }
            operations.insert(key);
        }
    }
    let undocumented: Vec<_> = routes.difference(&operations).collect();
    let unrouted: Vec<_> = operations.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/openapi.yaml: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "operations with no route in template.yaml: {unrouted:?}"
    );
    assert_eq!(
        public_operations, public_routes,
        "public operations are the routes without the authorizer"
    );
}
