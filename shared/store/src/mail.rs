//! Sending email with SES (v2), from the template's verified sender identity. An email with
//! attachments goes as raw MIME (built by `mail-builder`); one without, as SES's simple form.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, RawMessage};

use crate::{SdkConfig, StoreError};

/// One email: plain text, and HTML when there is one.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A file sent with an email.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// `text/calendar; method=PUBLISH`, ...
    pub content_type: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Mailer {
    client: Client,
    from: String,
}

impl Mailer {
    pub fn new(config: &SdkConfig, from: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            from: from.into(),
        }
    }

    pub async fn send(&self, email: &Email) -> Result<(), StoreError> {
        let content = if email.attachments.is_empty() {
            EmailContent::builder().simple(self.simple(email)?).build()
        } else {
            EmailContent::builder().raw(self.raw(email)?).build()
        };
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(content)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    fn raw(&self, email: &Email) -> Result<RawMessage, StoreError> {
        let mut message = mail_builder::MessageBuilder::new()
            .from(self.from.as_str())
            .to(email.to.iter().map(String::as_str).collect::<Vec<_>>())
            .subject(email.subject.as_str())
            .text_body(email.text.as_str());
        if let Some(html) = &email.html {
            message = message.html_body(html.as_str());
        }
        for attachment in &email.attachments {
            message = message.attachment(
                attachment.content_type.as_str(),
                attachment.file_name.as_str(),
                attachment.bytes.as_slice(),
            );
        }
        let bytes = message
            .write_to_vec()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        RawMessage::builder()
            .data(Blob::new(bytes))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))
    }

    fn simple(&self, email: &Email) -> Result<Message, StoreError> {
        let content = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|e| StoreError::Failed(Box::new(e)))
        };
        let mut body = Body::builder().text(content(&email.text)?);
        if let Some(html) = &email.html {
            body = body.html(content(html)?);
        }
        Ok(Message::builder()
            .subject(content(&email.subject)?)
            .body(body.build())
            .build())
    }
}
