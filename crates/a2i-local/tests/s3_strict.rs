//! The embedded S3 is as strict as S3 where this project and its users touch it, proven with
//! the real Rust SDK over HTTP: conditional reads and writes, key length limits, missing
//! buckets, versioning, atomic and leave-nothing-behind writes, byte-exact keys.

mod common;

use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::{start_with, Local};

/// The HTTP status and S3 error code of a failed call.
fn failure<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<R, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (u16, String) {
    let err = result.expect_err("the call fails");
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_owned();
    (status, code)
}

/// S3's ETag of a single PUT: the body's MD5 in hex, quoted.
fn md5_etag(body: &[u8]) -> String {
    use s3s::crypto::Checksum as _;
    let digest = s3s::crypto::Md5::checksum(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

async fn with_bucket(bucket: &str) -> (Local, aws_sdk_s3::Client) {
    let local = start_with(|b| b).await;
    let s3 = local.s3();
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    (local, s3)
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "put {key:?}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
        .e_tag()
        .unwrap_or_default()
        .to_owned()
}

async fn read(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "get {key:?}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

#[tokio::test]
async fn conditional_get_and_head_answer_200_412_and_304_with_s3_precedence() {
    let (_local, s3) = with_bucket("cond").await;
    let etag = put(&s3, "cond", "k.json", b"{\"v\":1}").await;
    let head = s3
        .head_object()
        .bucket("cond")
        .key("k.json")
        .send()
        .await
        .unwrap();
    let modified = head.last_modified().unwrap().secs();
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    let (before, after) = (
        DateTime::from_secs(modified - 3600),
        DateTime::from_secs(modified + 3600),
    );
    let other = "\"00000000000000000000000000000000\"";

    // GET, one header at a time.
    let get = || s3.get_object().bucket("cond").key("k.json");
    assert!(get().if_match(&etag).send().await.is_ok());
    assert_eq!(
        failure(get().if_match(other).send().await),
        (412, "PreconditionFailed".into())
    );
    assert!(get().if_match("*").send().await.is_ok());
    assert_eq!(failure(get().if_none_match(&etag).send().await).0, 304);
    assert!(get().if_none_match(other).send().await.is_ok());
    assert!(get().if_modified_since(before).send().await.is_ok());
    assert_eq!(failure(get().if_modified_since(after).send().await).0, 304);
    assert!(get().if_unmodified_since(after).send().await.is_ok());
    assert_eq!(
        failure(get().if_unmodified_since(before).send().await),
        (412, "PreconditionFailed".into())
    );
    // S3's precedence: If-Match true + If-Unmodified-Since false → 200;
    // If-None-Match false + If-Modified-Since true → 304.
    let body = get()
        .if_match(&etag)
        .if_unmodified_since(before)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(body.as_ref(), b"{\"v\":1}");
    assert_eq!(
        failure(
            get()
                .if_none_match(&etag)
                .if_modified_since(before)
                .send()
                .await
        )
        .0,
        304
    );
    assert!(get()
        .if_none_match(other)
        .if_modified_since(after)
        .send()
        .await
        .is_ok());

    // HEAD, the same rules.
    let head = || s3.head_object().bucket("cond").key("k.json");
    assert!(head().if_match(&etag).send().await.is_ok());
    assert_eq!(failure(head().if_match(other).send().await).0, 412);
    assert_eq!(failure(head().if_none_match(&etag).send().await).0, 304);
    assert!(head().if_none_match(other).send().await.is_ok());
    assert_eq!(failure(head().if_modified_since(after).send().await).0, 304);
    assert!(head().if_modified_since(before).send().await.is_ok());
    assert_eq!(
        failure(head().if_unmodified_since(before).send().await).0,
        412
    );
    assert!(head()
        .if_match(&etag)
        .if_unmodified_since(before)
        .send()
        .await
        .is_ok());
}

#[tokio::test]
async fn conditional_puts_refuse_to_overwrite_or_to_replace_another_version() {
    let (_local, s3) = with_bucket("cond").await;
    let create = || {
        s3.put_object()
            .bucket("cond")
            .key("lock")
            .if_none_match("*")
    };
    let first = create()
        .body(ByteStream::from_static(b"first"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        failure(
            create()
                .body(ByteStream::from_static(b"second"))
                .send()
                .await
        ),
        (412, "PreconditionFailed".into())
    );
    assert_eq!(read(&s3, "cond", "lock").await, b"first");

    let first_etag = first.e_tag().unwrap().to_owned();
    let replace = |etag: &str| s3.put_object().bucket("cond").key("lock").if_match(etag);
    let second = replace(&first_etag)
        .body(ByteStream::from_static(b"second"))
        .send()
        .await
        .unwrap();
    // The old ETag no longer matches: a lost update is refused.
    assert_eq!(
        failure(
            replace(&first_etag)
                .body(ByteStream::from_static(b"third"))
                .send()
                .await
        ),
        (412, "PreconditionFailed".into())
    );
    assert_eq!(read(&s3, "cond", "lock").await, b"second");
    assert_ne!(second.e_tag(), first.e_tag());
    // If-Match on a key with no object: S3 answers 404 NoSuchKey.
    let missing = s3
        .put_object()
        .bucket("cond")
        .key("absent")
        .if_match(&first_etag)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(failure(missing), (404, "NoSuchKey".into()));
    assert_eq!(
        failure(s3.get_object().bucket("cond").key("absent").send().await).1,
        "NoSuchKey"
    );
}

#[tokio::test]
async fn of_racing_create_only_writers_exactly_one_wins() {
    let (_local, s3) = with_bucket("race-create").await;
    let writers: Vec<_> = (0..8u8)
        .map(|i| {
            let s3 = s3.clone();
            tokio::spawn(async move {
                let result = s3
                    .put_object()
                    .bucket("race-create")
                    .key("lock")
                    .if_none_match("*")
                    .body(ByteStream::from(vec![b'0' + i; 64 * 1024]))
                    .send()
                    .await;
                (
                    i,
                    result
                        .map(|_| ())
                        .map_err(|e| e.raw_response().map_or(0, |r| r.status().as_u16())),
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for writer in writers {
        match writer.await.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(status)) => assert_eq!(status, 412),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        read(&s3, "race-create", "lock").await,
        vec![b'0' + winners[0]; 64 * 1024]
    );
}

#[tokio::test]
async fn keys_up_to_1024_bytes_work_and_longer_ones_are_key_too_long() {
    let (_local, s3) = with_bucket("long").await;
    // 1,024 bytes, with multi-byte characters and the characters that need encoding.
    let mut key = String::from("dir/ü+%#? ");
    while key.len() < 1020 {
        key.push('é');
    }
    while key.len() < 1024 {
        key.push('x');
    }
    assert_eq!(key.len(), 1024);
    put(&s3, "long", &key, b"{}").await;
    assert_eq!(read(&s3, "long", &key).await, b"{}");
    let listed = s3.list_objects_v2().bucket("long").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [key.as_str()]);

    let too_long = format!("{key}y");
    let refused = s3
        .put_object()
        .bucket("long")
        .key(&too_long)
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await;
    assert_eq!(failure(refused), (400, "KeyTooLongError".into()));
    let refused = s3.get_object().bucket("long").key(&too_long).send().await;
    assert_eq!(failure(refused), (400, "KeyTooLongError".into()));
    let listed = s3.list_objects_v2().bucket("long").send().await.unwrap();
    assert_eq!(
        listed.key_count(),
        Some(1),
        "nothing was stored for the long key"
    );
}

#[tokio::test]
async fn a_missing_bucket_is_no_such_bucket_and_a_bad_name_is_invalid_bucket_name() {
    let local = start_with(|b| b).await;
    let s3 = local.s3();
    let nsb = (404, "NoSuchBucket".to_owned());
    let put = s3
        .put_object()
        .bucket("no-such-bucket")
        .key("k")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await;
    assert_eq!(failure(put), nsb);
    assert_eq!(
        failure(
            s3.get_object()
                .bucket("no-such-bucket")
                .key("k")
                .send()
                .await
        ),
        nsb
    );
    assert_eq!(
        failure(s3.list_objects_v2().bucket("no-such-bucket").send().await),
        nsb
    );
    assert_eq!(
        failure(
            s3.delete_object()
                .bucket("no-such-bucket")
                .key("k")
                .send()
                .await
        ),
        nsb
    );
    assert_eq!(
        failure(
            s3.head_object()
                .bucket("no-such-bucket")
                .key("k")
                .send()
                .await
        )
        .0,
        404
    );
    assert_eq!(
        failure(s3.head_bucket().bucket("no-such-bucket").send().await).0,
        404
    );
    // The PUT did not create the bucket.
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(!buckets
        .buckets()
        .iter()
        .any(|b| b.name() == Some("no-such-bucket")));

    let bad = s3
        .put_object()
        .bucket("Bad_Bucket")
        .key("k")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await;
    assert_eq!(failure(bad), (400, "InvalidBucketName".into()));

    // Bucket life cycle: create, conflict, delete only when empty.
    s3.create_bucket().bucket("life").send().await.unwrap();
    assert_eq!(
        failure(s3.create_bucket().bucket("life").send().await),
        (409, "BucketAlreadyOwnedByYou".into())
    );
    s3.put_object()
        .bucket("life")
        .key("k")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        failure(s3.delete_bucket().bucket("life").send().await),
        (409, "BucketNotEmpty".into())
    );
    s3.delete_object()
        .bucket("life")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket("life").send().await.unwrap();
    assert_eq!(failure(s3.head_bucket().bucket("life").send().await).0, 404);
}

#[tokio::test]
async fn a_versioned_bucket_keeps_every_version_and_delete_markers() {
    let (_local, s3) = with_bucket("versioned").await;
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await
            .unwrap()
            .status(),
        None
    );
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await
            .unwrap()
            .status(),
        Some(&BucketVersioningStatus::Enabled)
    );
    let put = |body: &'static [u8]| {
        s3.put_object()
            .bucket("versioned")
            .key("doc.json")
            .body(ByteStream::from_static(body))
            .send()
    };
    let v1 = put(b"one").await.unwrap();
    let v2 = put(b"two!").await.unwrap();
    let (id1, id2) = (v1.version_id().unwrap(), v2.version_id().unwrap());
    assert_ne!(id1, id2);

    let by_id = |id: &str| {
        s3.get_object()
            .bucket("versioned")
            .key("doc.json")
            .version_id(id)
            .send()
    };
    let got1 = by_id(id1).await.unwrap();
    assert_eq!(got1.version_id(), Some(id1));
    assert_eq!(got1.e_tag(), v1.e_tag());
    assert_eq!(
        got1.body.collect().await.unwrap().into_bytes().as_ref(),
        b"one"
    );
    let latest = s3
        .get_object()
        .bucket("versioned")
        .key("doc.json")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.version_id(), Some(id2));
    let head1 = s3
        .head_object()
        .bucket("versioned")
        .key("doc.json")
        .version_id(id1)
        .send()
        .await
        .unwrap();
    assert_eq!(head1.content_length(), Some(3));
    assert_eq!(
        failure(by_id("0000000000000000deadbeefdeadbeef").await),
        (404, "NoSuchVersion".into())
    );

    // A delete adds a marker: the key is gone, its versions are not.
    let deleted = s3
        .delete_object()
        .bucket("versioned")
        .key("doc.json")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_owned();
    let gone = s3
        .get_object()
        .bucket("versioned")
        .key("doc.json")
        .send()
        .await
        .expect_err("the key is deleted");
    let raw = gone.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 404);
    assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
    assert_eq!(raw.headers().get("x-amz-version-id"), Some(marker.as_str()));
    assert_eq!(gone.code(), Some("NoSuchKey"));
    assert_eq!(by_id(id1).await.unwrap().content_length(), Some(3));

    let versions = s3
        .list_object_versions()
        .bucket("versioned")
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = versions
        .versions()
        .iter()
        .map(|v| {
            (
                v.version_id().unwrap(),
                v.is_latest().unwrap(),
                v.size().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [(id2, false, 4), (id1, false, 3)]);
    let markers: Vec<_> = versions
        .delete_markers()
        .iter()
        .map(|m| (m.version_id().unwrap(), m.is_latest().unwrap()))
        .collect();
    assert_eq!(markers, [(marker.as_str(), true)]);

    // Paging through versions one at a time sees each once.
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket("versioned")
            .max_keys(1)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.versions()
                .iter()
                .map(|v| v.version_id().unwrap().to_owned()),
        );
        seen.extend(
            page.delete_markers()
                .iter()
                .map(|m| m.version_id().unwrap().to_owned()),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    assert_eq!(seen, [marker.clone(), id2.to_owned(), id1.to_owned()]);

    // Removing the marker for good brings v2 back.
    s3.delete_object()
        .bucket("versioned")
        .key("doc.json")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(read(&s3, "versioned", "doc.json").await, b"two!");
}

#[tokio::test]
async fn the_s3_event_of_a_versioned_bucket_carries_the_written_version_id() {
    let local = start_with(|b| b.input_path("s3://versioned-in/incoming")).await;
    let s3 = local.s3();
    s3.put_bucket_versioning()
        .bucket("versioned-in")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut written = Vec::new();
    for body in [&b"{\"n\":1}"[..], b"{\"n\":22}"] {
        let out = s3
            .put_object()
            .bucket("versioned-in")
            .key("incoming/a.json")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
        written.push((
            out.version_id().unwrap().to_owned(),
            out.e_tag().unwrap().trim_matches('"').to_owned(),
            body.len(),
        ));
    }
    local.handle.settled().await;
    let events = local.s3_events();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            let o = &e["Records"][0]["s3"]["object"];
            (
                o["versionId"].as_str().unwrap().to_owned(),
                o["eTag"].as_str().unwrap().to_owned(),
                usize::try_from(o["size"].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, written, "each event describes its own write");
}

#[tokio::test]
async fn a_reader_racing_overwrites_sees_the_old_or_the_new_body_never_a_mix() {
    let (_local, s3) = with_bucket("race").await;
    let a = Arc::new(vec![b'a'; 256 * 1024]);
    let b = Arc::new(vec![b'b'; 300 * 1024]);
    let etag_a = put(&s3, "race", "k", &a).await;
    let etag_b = put(&s3, "race", "other", &b).await;
    let writer = {
        let (s3, a, b) = (s3.clone(), Arc::clone(&a), Arc::clone(&b));
        tokio::spawn(async move {
            for i in 0..40 {
                let body = if i % 2 == 0 { &b } else { &a };
                put(&s3, "race", "k", body).await;
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads < 10 {
        let got = s3
            .get_object()
            .bucket("race")
            .key("k")
            .send()
            .await
            .unwrap();
        let etag = got.e_tag().unwrap().to_owned();
        let body = got.body.collect().await.unwrap().into_bytes();
        if body.as_ref() == a.as_slice() {
            assert_eq!(etag, etag_a);
        } else if body.as_ref() == b.as_slice() {
            assert_eq!(etag, etag_b);
        } else {
            panic!("a torn body of {} bytes", body.len());
        }
        reads += 1;
    }
    writer.await.unwrap();
}

#[tokio::test]
async fn a_failed_put_leaves_nothing_behind() {
    let (local, s3) = with_bucket("fails").await;
    let s3_dir = local.handle.data_dir().join("s3");
    let count = |dir: &str| std::fs::read_dir(s3_dir.join(dir)).unwrap().count();
    put(&s3, "fails", "kept", b"kept").await;
    assert_eq!(count("objects"), 1);

    // A body that does not match its Content-MD5.
    let bad_digest = s3
        .put_object()
        .bucket("fails")
        .key("bad")
        .content_md5("1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(ByteStream::from_static(b"not empty"))
        .send()
        .await;
    assert_eq!(failure(bad_digest), (400, "BadDigest".into()));
    // A refused conditional write and a write to a missing bucket.
    let refused = s3
        .put_object()
        .bucket("fails")
        .key("kept")
        .if_none_match("*")
        .body(ByteStream::from_static(b"again"))
        .send()
        .await;
    assert_eq!(failure(refused).0, 412);
    let nowhere = s3
        .put_object()
        .bucket("fails-missing")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(failure(nowhere).0, 404);

    assert_eq!(
        failure(s3.get_object().bucket("fails").key("bad").send().await).1,
        "NoSuchKey"
    );
    assert_eq!(count("objects"), 1, "only the kept body is stored");
    assert_eq!(count("tmp"), 0, "no temp file is left");
    assert_eq!(read(&s3, "fails", "kept").await, b"kept");
}

#[tokio::test]
async fn listings_page_with_delimiters_tokens_and_start_after() {
    let (_local, s3) = with_bucket("pages").await;
    let keys = [
        "a.json",
        "dir/1.json",
        "dir/2.json",
        "dir/sub/3.json",
        "e f+g.json",
        "z/9.json",
    ];
    for key in keys {
        put(&s3, "pages", key, b"{}").await;
    }
    // Objects and common prefixes count together towards max-keys.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("pages")
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        entries.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        entries.extend(
            page.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_owned()),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(entries, ["a.json", "dir/", "e f+g.json", "z/"]);
    let under = s3
        .list_objects_v2()
        .bucket("pages")
        .prefix("dir/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let objects: Vec<_> = under.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<_> = under
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        (objects, prefixes),
        (vec!["dir/1.json", "dir/2.json"], vec!["dir/sub/"])
    );
    let after = s3
        .list_objects_v2()
        .bucket("pages")
        .start_after("dir/2.json")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = after.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["dir/sub/3.json", "e f+g.json", "z/9.json"]);
    let v1 = s3
        .list_objects()
        .bucket("pages")
        .marker("dir/sub/3.json")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = v1.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["e f+g.json", "z/9.json"]);
}

#[tokio::test]
async fn metadata_copies_and_batch_deletes_round_trip() {
    let (_local, s3) = with_bucket("meta").await;
    s3.put_object()
        .bucket("meta")
        .key("src.json")
        .content_type("application/json")
        .metadata("origin", "camera 7")
        .body(ByteStream::from_static(b"{\"a\":1}"))
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket("meta")
        .key("src.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("camera 7")
    );
    assert_eq!(head.e_tag(), Some(md5_etag(b"{\"a\":1}").as_str()));
    let copied = s3
        .copy_object()
        .bucket("meta")
        .key("copy.json")
        .copy_source("meta/src.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        copied.copy_object_result().and_then(|r| r.e_tag()),
        head.e_tag()
    );
    let copy_head = s3
        .head_object()
        .bucket("meta")
        .key("copy.json")
        .send()
        .await
        .unwrap();
    assert_eq!(copy_head.content_type(), Some("application/json"));
    assert_eq!(copy_head.metadata(), head.metadata());
    assert_eq!(read(&s3, "meta", "copy.json").await, b"{\"a\":1}");
    let ranged = s3
        .get_object()
        .bucket("meta")
        .key("copy.json")
        .range("bytes=1-4")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.content_range(), Some("bytes 1-4/7"));
    assert_eq!(
        ranged.body.collect().await.unwrap().into_bytes().as_ref(),
        b"\"a\":"
    );

    let deleted = s3
        .delete_objects()
        .bucket("meta")
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("src.json")
                        .build()
                        .unwrap(),
                )
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("copy.json")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), 2);
    let listed = s3.list_objects_v2().bucket("meta").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn multipart_uploads_check_their_parts_and_get_an_md5_of_md5s_etag() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let (_local, s3) = with_bucket("multi").await;
    let create = || async {
        s3.create_multipart_upload()
            .bucket("multi")
            .key("big.jsonl")
            .content_type("application/x-ndjson")
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_owned()
    };
    let part = |id: String, n: i32, body: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            let out = s3
                .upload_part()
                .bucket("multi")
                .key("big.jsonl")
                .upload_id(id)
                .part_number(n)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap();
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build()
        }
    };
    let complete = |id: String, parts: Vec<CompletedPart>| {
        s3.complete_multipart_upload()
            .bucket("multi")
            .key("big.jsonl")
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
    };

    // A first part under 5 MiB is refused at completion.
    let small = create().await;
    let parts = vec![
        part(small.clone(), 1, vec![b'a'; 1024]).await,
        part(small.clone(), 2, vec![b'b'; 10]).await,
    ];
    assert_eq!(
        failure(complete(small.clone(), parts).await),
        (400, "EntityTooSmall".into())
    );
    s3.abort_multipart_upload()
        .bucket("multi")
        .key("big.jsonl")
        .upload_id(&small)
        .send()
        .await
        .unwrap();
    let after_abort = s3
        .upload_part()
        .bucket("multi")
        .key("big.jsonl")
        .upload_id(&small)
        .part_number(3)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(failure(after_abort), (404, "NoSuchUpload".into()));

    let id = create().await;
    let first = vec![b'a'; 5 * 1024 * 1024];
    let parts = vec![
        part(id.clone(), 1, first.clone()).await,
        part(id.clone(), 2, b"tail".to_vec()).await,
    ];
    let done = complete(id, parts).await.unwrap();
    let etag = done.e_tag().unwrap();
    assert!(etag.ends_with("-2\""), "{etag}");
    let head = s3
        .head_object()
        .bucket("multi")
        .key("big.jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some(etag));
    assert_eq!(head.content_length(), Some(5 * 1024 * 1024 + 4));
    assert_eq!(head.content_type(), Some("application/x-ndjson"));
    let mut expected = first;
    expected.extend_from_slice(b"tail");
    assert_eq!(read(&s3, "multi", "big.jsonl").await, expected);
}

mod keys {
    use super::*;
    use proptest::prelude::*;

    /// Keys of any UTF-8 that XML 1.0 can carry (S3 lists keys in XML), up to 1,024 bytes.
    fn key() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[^\\x00-\\x1f\\x7f\\u{fffe}\\u{ffff}]{1,120}")
            .unwrap()
            .prop_filter("at most 1,024 bytes", |k| k.len() <= 1024)
    }

    #[test]
    fn any_valid_key_is_written_listed_and_read_back_byte_exact() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (local, s3) = runtime.block_on(with_bucket("props"));
        let config = ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(key in key(), body in proptest::collection::vec(any::<u8>(), 0..64))| {
            runtime.block_on(async {
                put(&s3, "props", &key, &body).await;
                assert_eq!(read(&s3, "props", &key).await, body, "key {key:?}");
                let listed = s3.list_objects_v2().bucket("props").prefix(&key).send().await.unwrap();
                let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
                assert!(keys.contains(&key.as_str()), "key {key:?} listed as {keys:?}");
                s3.delete_object().bucket("props").key(&key).send().await.unwrap();
            });
        });
        drop(local);
    }
}
