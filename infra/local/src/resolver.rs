//! What CloudFormation would answer for `!Ref`, `!GetAtt` and dynamic references, locally.
//!
//! Physical names are `<stack>-<LogicalId>` (buckets lower-cased, as S3 wants), so every name and
//! ARN is known before anything is created.

use std::collections::BTreeMap;
use std::sync::RwLock;

use steward_emulator::{ACCOUNT, REGION};
use steward_template::{Resolver, Template, TemplateError};

pub struct LocalResolver {
    stack: String,
    parameters: BTreeMap<String, String>,
    /// Logical id → resource type.
    kinds: BTreeMap<String, String>,
    /// Queue URLs as the emulator answered them.
    queue_urls: RwLock<BTreeMap<String, String>>,
    /// Secret values generated for this run, by logical id.
    secrets: BTreeMap<String, String>,
    /// Resolved `Ref`s of resources whose reference is a property (email identities).
    refs: BTreeMap<String, String>,
}

impl LocalResolver {
    pub fn new(stack: &str, template: &Template, parameters: BTreeMap<String, String>) -> Self {
        let kinds: BTreeMap<String, String> = template
            .resources
            .iter()
            .map(|(id, resource)| (id.clone(), resource.kind.clone()))
            .collect();
        let secrets = kinds
            .iter()
            .filter(|(_, kind)| kind.as_str() == "AWS::SecretsManager::Secret")
            .map(|(id, _)| (id.clone(), random_secret()))
            .collect();
        Self {
            stack: stack.to_owned(),
            parameters,
            kinds,
            queue_urls: RwLock::new(BTreeMap::new()),
            secrets,
            refs: BTreeMap::new(),
        }
    }

    /// The value generated for a secret resource in this run.
    pub fn secret(&self, logical_id: &str) -> Option<&str> {
        self.secrets.get(logical_id).map(String::as_str)
    }

    pub fn set_ref(&mut self, logical_id: &str, value: String) {
        self.refs.insert(logical_id.to_owned(), value);
    }

    pub fn physical_name(&self, logical_id: &str) -> String {
        let name = format!("{}-{logical_id}", self.stack);
        match self.kinds.get(logical_id).map(String::as_str) {
            Some("AWS::S3::Bucket") => name.to_ascii_lowercase(),
            _ => name,
        }
    }

    pub fn record_queue_url(&self, logical_id: &str, url: String) {
        self.queue_urls
            .write()
            .expect("not poisoned")
            .insert(logical_id.to_owned(), url);
    }

    pub fn queue_url(&self, logical_id: &str) -> Option<String> {
        self.queue_urls
            .read()
            .expect("not poisoned")
            .get(logical_id)
            .cloned()
    }

    fn arn(&self, logical_id: &str) -> Result<String, TemplateError> {
        let name = self.physical_name(logical_id);
        let kind = self
            .kinds
            .get(logical_id)
            .ok_or_else(|| TemplateError::UnknownReference(logical_id.to_owned()))?;
        Ok(match kind.as_str() {
            "AWS::SQS::Queue" => format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
            "AWS::DynamoDB::Table" => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
            "AWS::Serverless::Function" => {
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
            }
            "AWS::SecretsManager::Secret" => {
                format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}")
            }
            other => {
                return Err(TemplateError::Unsupported(format!(
                    "!GetAtt {logical_id}.Arn of a {other}"
                )));
            }
        })
    }
}

impl LocalResolver {
    /// SAM's `!Ref <Function>.Version` and `!Ref <Function>.Alias` (AutoPublishAlias): here a
    /// function has one version, so its version and its alias are the function itself.
    fn function_reference(&self, function: &str, property: &str) -> Result<String, TemplateError> {
        match (self.kinds.get(function).map(String::as_str), property) {
            (Some("AWS::Serverless::Function"), "Version" | "Alias") => self.arn(function),
            (None, _) => Err(TemplateError::UnknownReference(function.to_owned())),
            _ => Err(TemplateError::Unsupported(format!(
                "!Ref {function}.{property}"
            ))),
        }
    }
}

impl Resolver for LocalResolver {
    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        match name {
            "AWS::Region" => return Ok(REGION.to_owned()),
            "AWS::AccountId" => return Ok(ACCOUNT.to_owned()),
            "AWS::StackName" => return Ok(self.stack.clone()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(value) = self.refs.get(name) {
            return Ok(value.clone());
        }
        if let Some((function, property)) = name.split_once('.') {
            return self.function_reference(function, property);
        }
        match self.kinds.get(name).map(String::as_str) {
            Some("AWS::SQS::Queue") => self.queue_url(name).ok_or_else(|| {
                TemplateError::Unsupported(format!("!Ref {name} before the queue exists"))
            }),
            Some("AWS::SecretsManager::Secret") => self.arn(name),
            Some(_) => Ok(self.physical_name(name)),
            None => Err(TemplateError::UnknownReference(name.to_owned())),
        }
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
        match attribute {
            "Arn" => self.arn(resource),
            "QueueName" => Ok(self.physical_name(resource)),
            "QueueUrl" => self.reference(resource),
            other => Err(TemplateError::Unsupported(format!(
                "!GetAtt {resource}.{other}"
            ))),
        }
    }

    fn dynamic_reference(&self, service: &str, spec: &str) -> Result<String, TemplateError> {
        if service != "secretsmanager" {
            return Err(TemplateError::Unsupported(format!(
                "{{{{resolve:{service}:...}}}}"
            )));
        }
        // spec: <secret id or ARN>[:SecretString[:json-key...]]
        self.secrets
            .iter()
            .find(|(id, _)| {
                let arn = self.arn(id).unwrap_or_default();
                spec == arn
                    || spec.starts_with(&format!("{arn}:"))
                    || spec.starts_with(&format!("{}:", self.physical_name(id)))
            })
            .map(|(_, value)| value.clone())
            .ok_or_else(|| TemplateError::UnknownReference(format!("secret {spec}")))
    }
}

/// 64 alphanumeric characters, as the template's GenerateSecretString asks.
fn random_secret() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}
