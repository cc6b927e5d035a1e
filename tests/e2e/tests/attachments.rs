//! Attachments' bucket on a real S3 API (moto's server, the one Secrets Manager's tests use):
//! the same contract as the directory store, a browser-style upload with the form the portal
//! signs, and a presigned link that serves the file.

use shared::attachments::bucket::contract;
use shared::attachments::{Bucket, Uploads, upload_key};
use shared::store::contract::unique_name;
use shared::users::Username;

/// A fresh bucket on the local S3 server: the `Bucket` over it, and what signs its uploads.
async fn bucket() -> (Bucket, Uploads) {
    let url = e2e::service_url("SWITCHBOARD_TEST_SECRETS_URL");
    let sdk = shared::testing::local_service(&url);
    let name = unique_name("files").as_str().replace('_', "-");
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("bucket created");
    let uploads = Uploads::S3 {
        url: format!("{url}/{name}"),
        bucket: name.clone(),
        sdk: Box::new(sdk.clone()),
    };
    (Bucket::s3(&sdk, &name, Some(&url)), uploads)
}

#[tokio::test]
async fn an_s3_bucket_keeps_reads_and_deletes_files() {
    let (bucket, _) = bucket().await;
    contract::files_round_trip(&bucket).await;
}

#[tokio::test]
async fn a_browser_uploads_with_the_signed_form_and_reads_by_the_link() {
    let (bucket, uploads) = bucket().await;
    let owner = Username::parse("ann").unwrap();
    let now = shared::session::now();
    let folder = upload_key::folder(&owner, now);
    let form = uploads
        .form(&folder, "http://127.0.0.1/", now)
        .await
        .expect("a form is signed");
    assert!(form.fields.iter().any(|(n, _)| n == "x-amz-signature"));
    let mut fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    fields.push(("success_action_redirect", "http://127.0.0.1/chat/x"));
    let (content_type, body) =
        shared::testing::multipart_file_body(&fields, "shot.png", shared::testing::PNG_2X1);
    let http = shared::https::provider_client().build().unwrap();
    let response = http
        .post(&form.url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    // Back to the page, with the key S3 stored the file under (the file's name in place of
    // `${filename}`).
    assert_eq!(response.status(), 303);
    let back = response.headers()["location"].to_str().unwrap().to_string();
    let key = format!("{folder}shot.png");
    assert!(back.contains("key="), "{back}");
    let read = bucket.read(&key, 1_000).await.expect("uploaded");
    assert_eq!(&read[..], shared::testing::PNG_2X1);

    // Claimed as a send does: kept under its conversation with its checked type.
    let kept = format!("files/ann/{}/shot", unique_name("c").as_str());
    bucket.write(&kept, read, "image/png").await.expect("kept");
    let link = bucket
        .link(&kept, "shot.png", "image/png", false)
        .await
        .unwrap()
        .expect("S3 serves by presigned links");
    let served = http.get(&link).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(&served.bytes().await.unwrap()[..], shared::testing::PNG_2X1);
}
