//! `grant_read_access` against the running embedded S3: a rendered template's presigned
//! URL is fetched with a plain HTTP GET (no SDK, no credentials) and returns the object;
//! expired, altered and wrongly signed URLs are refused.

mod common;

use std::time::{Duration, SystemTime};

use a2i_local::render::{self, Presign, S3Presigner};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const BUCKET: &str = "media";
const KEY: &str = "images/beach photo+1 ü.png";

/// A plain GET: the status and the body's bytes.
async fn get(url: &str) -> (u16, Vec<u8>) {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = url.parse().expect("a valid URL");
    let response = client.get(uri).await.expect("HTTP round trip");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, body.to_vec())
}

/// The object's bytes: not UTF-8, so a lossy round trip would show.
fn object_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(4096).collect()
}

async fn start_with_object() -> common::Local {
    let local = common::start_with(|b| b.bucket(BUCKET)).await;
    local
        .s3()
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(object_bytes().into())
        .send()
        .await
        .expect("object stored");
    local
}

/// The `src` attribute's URL, with the entity auto-escape put into it decoded.
fn src_of(html: &str) -> String {
    let start = html.find("src=\"").expect("a src attribute") + 5;
    let end = start + html[start..].find('"').expect("closing quote");
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_rendered_grant_read_access_url_fetches_the_object_over_plain_http() {
    let local = start_with_object().await;
    let presigner = local.handle.presigner();
    let html = render::render_str(
        "<crowd-image-classifier src=\"{{ task.input.media | grant_read_access }}\"></crowd-image-classifier>",
        &serde_json::json!({"media": format!("s3://{BUCKET}/{KEY}")}).to_string(),
        presigner.as_ref(),
    )
    .expect("renders");
    let url = src_of(&html);
    assert!(url.starts_with(&local.handle.s3_endpoint()), "{url}");
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    let (status, body) = get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body, object_bytes());
}

#[tokio::test]
async fn the_https_s3_form_built_with_capture_fetches_the_same_object() {
    let local = start_with_object().await;
    let presigner = local.handle.presigner();
    let html = render::render_str(
        "{% capture s3_arn %}http://s3.amazonaws.com/{{ task.input.bucket }}/{{ task.input.name | skip_autoescape }}{% endcapture %}\
         <img src=\"{{ s3_arn | grant_read_access }}\">",
        &serde_json::json!({"bucket": BUCKET, "name": KEY}).to_string(),
        presigner.as_ref(),
    )
    .expect("renders");
    let (status, body) = get(&src_of(&html)).await;
    assert_eq!(status, 200);
    assert_eq!(body, object_bytes());
}

#[tokio::test]
async fn an_expired_url_is_refused() {
    let local = start_with_object().await;
    let handle = &local.handle;
    let presigner = S3Presigner::new(
        handle.s3_endpoint(),
        handle.credentials().clone(),
        handle.region(),
    )
    .with_expiry(Duration::from_secs(60));
    let signed_long_ago = SystemTime::now() - Duration::from_secs(120);
    let expired = presigner
        .presign_get_at(BUCKET, KEY, signed_long_ago)
        .expect("presigned");
    let (status, body) = get(&expired).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("AccessDenied"));
    // The same expiry, signed now, is accepted: the refusal was the expiry.
    let fresh = presigner
        .presign_get_at(BUCKET, KEY, SystemTime::now())
        .expect("presigned");
    assert_eq!(get(&fresh).await.0, 200);
}

#[tokio::test]
async fn an_altered_or_wrongly_signed_url_is_refused() {
    let local = start_with_object().await;
    let handle = &local.handle;
    let url = handle
        .presigner()
        .presign_get(BUCKET, KEY)
        .expect("presigned");
    assert_eq!(get(&url).await.0, 200);

    // Another key with the same signature.
    let other_key = url.replacen("beach", "beech", 1);
    assert_eq!(get(&other_key).await.0, 403);
    // A longer expiry than was signed.
    let longer = url.replacen("X-Amz-Expires=900", "X-Amz-Expires=901", 1);
    assert_eq!(get(&longer).await.0, 403);
    // A changed signature.
    let at = url.find("X-Amz-Signature=").expect("signature") + 16;
    let flipped = if &url[at..at + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{}{}", &url[..at], flipped, &url[at + 1..]);
    assert_eq!(get(&tampered).await.0, 403);
    // Signed with a secret the server does not know.
    let wrong = S3Presigner::new(
        handle.s3_endpoint(),
        a2i_local::Credentials {
            access_key_id: handle.credentials().access_key_id.clone(),
            secret_access_key: "not-the-secret".to_owned(),
        },
        handle.region(),
    );
    let forged = wrong.presign_get(BUCKET, KEY).expect("presigned");
    assert_eq!(get(&forged).await.0, 403);
    // No signature at all.
    let bare = url.split('?').next().expect("path").to_owned();
    assert_eq!(get(&bare).await.0, 403);
}
