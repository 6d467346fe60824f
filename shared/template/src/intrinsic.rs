//! CloudFormation intrinsic functions, in their short (`!Ref`) and long (`Ref:`) forms.

use serde_yaml_ng::Value;

use crate::TemplateError;

/// What the environment a template runs in knows: resources and parameters by logical id, and
/// dynamic references (`{{resolve:service:spec}}`).
pub trait Resolver {
    /// `!Ref name`: a parameter's value or a resource's primary identifier.
    fn reference(&self, name: &str) -> Result<String, TemplateError>;
    /// `!GetAtt resource.attribute`.
    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError>;
    /// `{{resolve:service:spec}}`, for example a Secrets Manager secret.
    fn dynamic_reference(&self, service: &str, spec: &str) -> Result<String, TemplateError>;
}

/// Resolves a template value to the string it stands for.
pub fn resolve(value: &Value, resolver: &dyn Resolver) -> Result<String, TemplateError> {
    let resolved = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Tagged(tagged) => {
            let function = tagged.tag.to_string();
            let function = function.trim_start_matches('!');
            call(function, &tagged.value, resolver)?
        }
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (key, argument) = mapping.iter().next().expect("one entry");
            let name = key.as_str().unwrap_or_default();
            let function = match name {
                "Ref" => "Ref",
                other => other
                    .strip_prefix("Fn::")
                    .ok_or_else(|| TemplateError::Unsupported(format!("{value:?}")))?,
            };
            call(function, argument, resolver)?
        }
        other => return Err(TemplateError::Unsupported(format!("{other:?}"))),
    };
    resolve_dynamic_references(&resolved, resolver)
}

/// Resolves a value that stands for a list (`!Split`, or a plain sequence).
pub fn resolve_list(value: &Value, resolver: &dyn Resolver) -> Result<Vec<String>, TemplateError> {
    if let Value::Sequence(items) = value {
        return items.iter().map(|item| resolve(item, resolver)).collect();
    }
    if let Some((function, argument)) = intrinsic(value)
        && function == "Split"
    {
        let (delimiter, source) = two(argument, "Split")?;
        let text = resolve(source, resolver)?;
        return Ok(text.split(delimiter.as_str()).map(str::to_owned).collect());
    }
    Ok(vec![resolve(value, resolver)?])
}

fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (key, argument) = mapping.iter().next()?;
            let key = key.as_str()?;
            let name = if key == "Ref" {
                "Ref"
            } else {
                key.strip_prefix("Fn::")?
            };
            Some((name.to_owned(), argument))
        }
        _ => None,
    }
}

fn two<'v>(argument: &'v Value, function: &str) -> Result<(String, &'v Value), TemplateError> {
    match argument {
        Value::Sequence(items) if items.len() == 2 => {
            let first = items[0]
                .as_str()
                .ok_or_else(|| TemplateError::Unsupported(format!("!{function} {argument:?}")))?;
            Ok((first.to_owned(), &items[1]))
        }
        _ => Err(TemplateError::Unsupported(format!(
            "!{function} {argument:?}"
        ))),
    }
}

fn call(
    function: &str,
    argument: &Value,
    resolver: &dyn Resolver,
) -> Result<String, TemplateError> {
    match function {
        "Ref" => resolver.reference(argument.as_str().unwrap_or_default()),
        "GetAtt" => {
            let (resource, attribute) = match argument {
                Value::String(dotted) => dotted
                    .split_once('.')
                    .map(|(r, a)| (r.to_owned(), a.to_owned()))
                    .ok_or_else(|| TemplateError::Unsupported(format!("!GetAtt {dotted}")))?,
                Value::Sequence(parts) if parts.len() == 2 => (
                    parts[0].as_str().unwrap_or_default().to_owned(),
                    parts[1].as_str().unwrap_or_default().to_owned(),
                ),
                other => return Err(TemplateError::Unsupported(format!("!GetAtt {other:?}"))),
            };
            resolver.attribute(&resource, &attribute)
        }
        "Sub" => match argument {
            Value::String(text) => substitute(text, &|_| None, resolver),
            Value::Sequence(parts) if parts.len() == 2 => {
                let text = parts[0].as_str().unwrap_or_default();
                let variables = parts[1].as_mapping().cloned().unwrap_or_default();
                let local = |name: &str| variables.get(name).map(|value| resolve(value, resolver));
                substitute(text, &local, resolver)
            }
            other => Err(TemplateError::Unsupported(format!("!Sub {other:?}"))),
        },
        "Join" => {
            let (delimiter, items) = two(argument, "Join")?;
            Ok(resolve_list(items, resolver)?.join(&delimiter))
        }
        other => Err(TemplateError::Unsupported(format!("!{other}"))),
    }
}

type LocalVariable<'a> = dyn Fn(&str) -> Option<Result<String, TemplateError>> + 'a;

/// `${Name}`, `${Resource.Attribute}` and `${!Literal}` of `!Sub`.
fn substitute(
    text: &str,
    local: &LocalVariable<'_>,
    resolver: &dyn Resolver,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| TemplateError::Unsupported(format!("unclosed ${{ in !Sub {text:?}")))?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if let Some(value) = local(name) {
            out.push_str(&value?);
        } else if let Some((resource, attribute)) = name.split_once('.') {
            out.push_str(&resolver.attribute(resource, attribute)?);
        } else {
            out.push_str(&resolver.reference(name)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_dynamic_references(
    text: &str,
    resolver: &dyn Resolver,
) -> Result<String, TemplateError> {
    if !text.contains("{{resolve:") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{resolve:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{resolve:".len()..];
        let end = after.find("}}").ok_or_else(|| {
            TemplateError::Unsupported(format!("unclosed dynamic reference in {text:?}"))
        })?;
        let (service, spec) = after[..end].split_once(':').ok_or_else(|| {
            TemplateError::Unsupported(format!("dynamic reference {:?}", &after[..end]))
        })?;
        out.push_str(&resolver.dynamic_reference(service, spec)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Resolver for Fixed {
        fn reference(&self, name: &str) -> Result<String, TemplateError> {
            match name {
                "Table" => Ok("stack-table".into()),
                "Stage" => Ok("a,b".into()),
                "Secret" => Ok("arn:secret".into()),
                other => Err(TemplateError::UnknownReference(other.into())),
            }
        }
        fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
            Ok(format!("{resource}:{attribute}"))
        }
        fn dynamic_reference(&self, service: &str, spec: &str) -> Result<String, TemplateError> {
            Ok(format!("<{service}|{spec}>"))
        }
    }

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn short_and_long_forms_resolve_alike() {
        assert_eq!(resolve(&yaml("!Ref Table"), &Fixed).unwrap(), "stack-table");
        assert_eq!(resolve(&yaml("Ref: Table"), &Fixed).unwrap(), "stack-table");
        assert_eq!(
            resolve(&yaml("!GetAtt Queue.Arn"), &Fixed).unwrap(),
            "Queue:Arn"
        );
        assert_eq!(
            resolve(&yaml("Fn::GetAtt: [Queue, Arn]"), &Fixed).unwrap(),
            "Queue:Arn"
        );
    }

    #[test]
    fn sub_handles_refs_attributes_literals_and_local_variables() {
        let value = yaml(r#"!Sub "${Table}/${Bucket.Arn}/${!Keep}""#);
        assert_eq!(
            resolve(&value, &Fixed).unwrap(),
            "stack-table/Bucket:Arn/${Keep}"
        );
        let value = yaml(r#"!Sub ["${X}-${Table}", { X: !Ref Table }]"#);
        assert_eq!(resolve(&value, &Fixed).unwrap(), "stack-table-stack-table");
    }

    #[test]
    fn dynamic_references_are_resolved_after_sub() {
        let value = yaml(r#"!Sub "{{resolve:secretsmanager:${Secret}:SecretString}}""#);
        assert_eq!(
            resolve(&value, &Fixed).unwrap(),
            "<secretsmanager|arn:secret:SecretString>"
        );
    }

    #[test]
    fn split_and_join_and_unknown_references() {
        assert_eq!(
            resolve_list(&yaml(r#"!Split [",", !Ref Stage]"#), &Fixed).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            resolve(&yaml(r#"!Join ["-", [x, !Ref Table]]"#), &Fixed).unwrap(),
            "x-stack-table"
        );
        assert!(matches!(
            resolve(&yaml("!Ref Nope"), &Fixed),
            Err(TemplateError::UnknownReference(_))
        ));
    }
}
