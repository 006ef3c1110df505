//! The embedded S3 through the real S3 SDK client over HTTP, and pipeline mode's S3 event
//! notifications.

mod common;

use std::sync::{Arc, Mutex};

use a2i_local::EventCallback;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::start_with;

#[tokio::test]
async fn real_s3_clients_can_create_buckets_and_put_get_list_objects() {
    let local = start_with(|b| b).await;
    let s3 = local.s3();
    s3.create_bucket().bucket("my-bucket").send().await.unwrap();
    s3.put_object()
        .bucket("my-bucket")
        .key("dir/hello world.json")
        .body(ByteStream::from_static(br#"{"hello":"world"}"#))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("my-bucket")
        .key("dir/hello world.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        br#"{"hello":"world"}"#
    );
    let listed = s3
        .list_objects_v2()
        .bucket("my-bucket")
        .prefix("dir/")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["dir/hello world.json"]);
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&"my-bucket") && names.contains(&"a2i-local-output"),
        "{names:?}"
    );
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_requests_are_refused() {
    let local = start_with(|b| b).await;
    let wrong = aws_sdk_s3::Client::from_conf(
        local
            .handle
            .s3_config()
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "a2ilocal",
                "not-the-secret",
                None,
                None,
                "test",
            ))
            .build(),
    );
    assert!(wrong.list_buckets().send().await.is_err());
}

#[tokio::test]
async fn in_process_client_sees_the_same_store() {
    let local = start_with(|b| b).await;
    local
        .handle
        .s3_client_in_process()
        .put_object()
        .bucket("a2i-local-output")
        .key("shared.txt")
        .body(ByteStream::from_static(b"same"))
        .send()
        .await
        .unwrap();
    let got = local
        .s3()
        .get_object()
        .bucket("a2i-local-output")
        .key("shared.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"same"
    );
}

#[tokio::test]
async fn put_under_the_input_prefix_produces_a_real_shaped_s3_event() {
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = received.clone();
    let callback: EventCallback = Arc::new(move |event| {
        let sink = sink.clone();
        Box::pin(async move {
            sink.lock().unwrap().push(event);
            Ok(())
        })
    });
    let local = start_with(|b| {
        b.input_path("s3://inference-results/incoming")
            .s3_event_callback("start-handler", callback)
            .region("eu-west-1")
    })
    .await;
    let s3 = local.s3();
    let key = "incoming/red flower+1 été (2).json";
    let body = br#"{"label":"flower","confidence":0.42}"#;
    let put = s3
        .put_object()
        .bucket("inference-results")
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap();
    let second = s3
        .put_object()
        .bucket("inference-results")
        .key(key)
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    // Outside the prefix, and a read: no event.
    s3.put_object()
        .bucket("inference-results")
        .key("incoming-old/x.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    s3.get_object()
        .bucket("inference-results")
        .key(key)
        .send()
        .await
        .unwrap();
    local.handle.settled().await;

    let events = local.s3_events();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(
        received.lock().unwrap().clone(),
        events,
        "callback got the same events"
    );
    let records = events[0]["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["eventVersion"], "2.1");
    assert_eq!(r["eventSource"], "aws:s3");
    assert_eq!(r["awsRegion"], "eu-west-1");
    assert_eq!(r["eventName"], "ObjectCreated:Put");
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            .unwrap()
            .is_match(r["eventTime"].as_str().unwrap())
    );
    assert!(r["userIdentity"]["principalId"].is_string());
    assert_eq!(r["requestParameters"]["sourceIPAddress"], "127.0.0.1");
    assert!(r["responseElements"]["x-amz-request-id"].is_string());
    assert!(r["responseElements"]["x-amz-id-2"].is_string());
    assert_eq!(r["s3"]["s3SchemaVersion"], "1.0");
    assert_eq!(r["s3"]["configurationId"], "a2i-local-input");
    assert_eq!(r["s3"]["bucket"]["name"], "inference-results");
    assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::inference-results");
    assert!(r["s3"]["bucket"]["ownerIdentity"]["principalId"].is_string());
    let object = &r["s3"]["object"];
    assert_eq!(
        object["key"],
        "incoming/red+flower%2B1+%C3%A9t%C3%A9+%282%29.json"
    );
    assert_eq!(object["size"], body.len());
    assert_eq!(
        object["eTag"].as_str(),
        put.e_tag().map(|e| e.trim_matches('"'))
    );
    assert!(object.get("versionId").is_none());
    let sequencer = object["sequencer"].as_str().unwrap();
    assert!(sequencer.chars().all(|c| c.is_ascii_hexdigit()));
    let next = &events[1]["Records"][0]["s3"]["object"];
    assert_eq!(next["size"], 2);
    assert_eq!(
        next["eTag"].as_str(),
        second.e_tag().map(|e| e.trim_matches('"'))
    );
    assert!(
        next["sequencer"].as_str().unwrap() > sequencer,
        "sequencers increase"
    );

    // Decoding the key the way consumers must (form decoding) gives the original back.
    let encoded = object["key"].as_str().unwrap().replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&encoded)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, key);

    let deliveries = local.handle.s3_deliveries();
    assert_eq!(deliveries.len(), 4, "two events, two sinks each");
    assert!(deliveries.iter().all(|d| d.delivered()));
}

#[tokio::test]
async fn a_completed_multipart_upload_produces_an_event() {
    let local = start_with(|b| b.input_path("s3://uploads")).await;
    let s3 = local.s3();
    let upload = s3
        .create_multipart_upload()
        .bucket("uploads")
        .key("big.jsonl")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part = s3
        .upload_part()
        .bucket("uploads")
        .key("big.jsonl")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"{\"a\":1}\n"))
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload()
        .bucket("uploads")
        .key("big.jsonl")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    local.handle.settled().await;
    let events = local.s3_events();
    assert_eq!(
        events.len(),
        1,
        "parts themselves produce no event: {events:#?}"
    );
    let r = &events[0]["Records"][0];
    assert_eq!(r["eventName"], "ObjectCreated:CompleteMultipartUpload");
    assert_eq!(r["s3"]["object"]["key"], "big.jsonl");
    assert_eq!(r["s3"]["object"]["size"], 8);
}

#[tokio::test]
async fn objects_versions_and_buckets_survive_a_restart_with_a_data_dir() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let data = tempfile::tempdir().unwrap();
    let key = "in/été +%#? trailing ";
    let first = a2i_local::LocalA2i::builder()
        .data_dir(data.path())
        .start()
        .await
        .unwrap();
    let s3 = first.s3_client();
    s3.create_bucket().bucket("kept").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("kept")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let v1 = s3
        .put_object()
        .bucket("kept")
        .key(key)
        .body(ByteStream::from_static(b"one"))
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("kept")
        .key(key)
        .body(ByteStream::from_static(b"two"))
        .send()
        .await
        .unwrap();
    first.shutdown().await;

    let second = a2i_local::LocalA2i::builder()
        .data_dir(data.path())
        .start()
        .await
        .expect("the same data directory opens again");
    let s3 = second.s3_client();
    let latest = s3
        .get_object()
        .bucket("kept")
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        latest.body.collect().await.unwrap().into_bytes().as_ref(),
        b"two"
    );
    let old = s3
        .get_object()
        .bucket("kept")
        .key(key)
        .version_id(v1.version_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.body.collect().await.unwrap().into_bytes().as_ref(),
        b"one"
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    second.shutdown().await;
}
