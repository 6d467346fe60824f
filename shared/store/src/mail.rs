//! Sending email with SES (v2), from the template's verified sender identity.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::{SdkConfig, StoreError};

/// One email: plain text, and HTML when there is one.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
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
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(body.build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
