//! A credential file's way to the verifier (SPEC §E), as far as it is built: a client uploads
//! through a presigned URL, and the bucket's "object created" event reaches `UploadsQueue`
//! (template.yaml's notification, set up by the local stack as S3 would). Objects outside
//! `tenants/` raise no event.

use std::time::Duration;

use steward_e2e::TestStack;
use steward_store::objects::Bucket;

#[tokio::test]
async fn an_upload_through_a_presigned_url_reaches_the_uploads_queue() {
    let stack = TestStack::start().await;
    let bucket = Bucket::new(stack.aws(), stack.stack.physical_name("Bucket"));
    let body = b"%PDF-1.4\n%%EOF\n".to_vec();
    let key = "tenants/t_1/credentials/cr_1.pdf";
    let presigned = bucket
        .presign_upload(
            key,
            "application/pdf",
            body.len() as u64,
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    let mut request = stack.http.put(&presigned.url).body(body.clone());
    for (name, value) in &presigned.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let uploaded = request.send().await.unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    bucket
        .put("reports/other.json", b"{}".to_vec(), "application/json")
        .await
        .unwrap();

    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let queue = stack
        .stack
        .queue_url("UploadsQueue")
        .expect("the uploads queue");
    let mut keys = Vec::new();
    for _ in 0..10 {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            let event: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
            for record in event["Records"].as_array().into_iter().flatten() {
                let raw = record["s3"]["object"]["key"].as_str().unwrap();
                keys.push(steward_store::objects::event_key(raw));
            }
        }
        if !keys.is_empty() {
            break;
        }
    }
    assert_eq!(keys, [key], "only the credential's object raises an event");
    let (size, head) = bucket.head_of(key, 8).await.unwrap().expect("the object");
    assert_eq!((size, head.as_slice()), (body.len() as u64, &body[..8]));
}
