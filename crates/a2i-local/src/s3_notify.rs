//! Pipeline mode's S3 event notifications: an HTTP layer in front of the s3s service that,
//! after a successful PutObject, CopyObject or CompleteMultipartUpload under the watched
//! input location, delivers a real-shaped `ObjectCreated` notification (key form-encoded as
//! S3 does, size, eTag without quotes, increasing sequencer, and the versionId of the write in
//! a bucket with versioning enabled) to the S3 sinks. Size, eTag and versionId come from the
//! write's own [`WriteReceipt`], so they describe exactly the write that was answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Uri};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::path::S3Path;
use s3s::service::S3Service;
use serde_json::json;

use crate::background::Background;
use crate::events::{Deliverer, EventKind};
use crate::http::parse_query;
use crate::loops::format_timestamp;
use crate::loops::record::now_ms;
use crate::output::S3Location;
use crate::s3::WriteReceipt;

/// What S3 leaves unescaped in event keys (Java `URLEncoder` style plus `/`): letters,
/// digits, `-`, `_`, `.`, `*` and `/`. A space is then written `+`.
const KEY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/');

/// Encodes an object key as S3 writes it in event notifications
/// (`application/x-www-form-urlencoded`): space → `+`, `+` → `%2B`, non-ASCII as
/// percent-encoded UTF-8.
pub fn form_encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ESCAPES)
        .to_string()
        .replace("%20", "+")
}

/// Hands out sequencers that increase across calls and restarts (they start from the
/// clock in nanoseconds), formatted as S3 does: 18 upper-case hex digits.
#[derive(Debug, Default)]
pub struct Sequencer {
    last: AtomicU64,
}

impl Sequencer {
    /// The next sequencer.
    pub fn next(&self) -> String {
        let now = chrono::Utc::now()
            .timestamp_nanos_opt()
            .map_or(0, |n| u64::try_from(n).unwrap_or(0));
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(prev + 1);
            match self
                .last
                .compare_exchange(prev, next, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return format!("{next:018X}"),
                Err(actual) => prev = actual,
            }
        }
    }
}

/// An object creation seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// `ObjectCreated:Put`, `ObjectCreated:Copy` or `ObjectCreated:CompleteMultipartUpload`.
    pub event_name: &'static str,
}

/// Recognizes requests that create an object (path-style addressing only, as served here).
pub fn creation(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Creation> {
    let path = percent_decode_str(uri.path()).decode_utf8().ok()?;
    let S3Path::Object { bucket, key } = s3s::path::parse_path_style(&path).ok()? else {
        return None;
    };
    let params = parse_query(uri.query()).ok()?;
    let only = |allowed: &[&str]| params.iter().all(|p| allowed.contains(&p.name.as_str()));
    let has = |name: &str| params.iter().any(|p| p.name == name);
    let event_name = if method == Method::PUT && only(&["x-id"]) {
        if headers.contains_key("x-amz-copy-source") {
            "ObjectCreated:Copy"
        } else {
            "ObjectCreated:Put"
        }
    } else if method == Method::POST && has("uploadId") && only(&["uploadId", "x-id"]) {
        "ObjectCreated:CompleteMultipartUpload"
    } else {
        return None;
    };
    Some(Creation {
        bucket: bucket.into(),
        key: key.into(),
        event_name,
    })
}

/// The facts an event needs about the created object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    /// What was created.
    pub creation: Creation,
    /// Object size in bytes.
    pub size: i64,
    /// ETag without quotes.
    pub e_tag: String,
    /// The version id, in a bucket with versioning enabled.
    pub version_id: Option<String>,
    /// The sequencer.
    pub sequencer: String,
    /// The client's IP address.
    pub source_ip: IpAddr,
    /// The S3 request id.
    pub request_id: String,
}

/// Builds the notification, in the documented shape (eventVersion 2.1).
pub fn object_created_event(
    object: &CreatedObject,
    region: &str,
    configuration_id: &str,
) -> serde_json::Value {
    let bucket = &object.creation.bucket;
    let mut s3_object = json!({
        "key": form_encode_key(&object.creation.key),
        "size": object.size,
        "eTag": object.e_tag,
        "sequencer": object.sequencer,
    });
    if let Some(version_id) = &object.version_id {
        s3_object["versionId"] = json!(version_id);
    }
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": format_timestamp(now_ms()),
            "eventName": object.creation.event_name,
            "userIdentity": {"principalId": "AWS:AIDAA2ILOCALEXAMPLE"},
            "requestParameters": {"sourceIPAddress": object.source_ip.to_string()},
            "responseElements": {
                "x-amz-request-id": object.request_id,
                "x-amz-id-2": uuid::Uuid::new_v4().simple().to_string(),
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": configuration_id,
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "A2ILOCALOWNER"},
                    "arn": format!("arn:aws:s3:::{bucket}"),
                },
                "object": s3_object,
            },
        }]
    })
}

/// The watched input location and where its notifications go.
#[derive(Debug)]
pub struct InputNotifications {
    location: S3Location,
    deliverer: Arc<Deliverer>,
    // In-process client used to read the created object's size and ETag.
    client: aws_sdk_s3::Client,
    background: Background,
    sequencer: Sequencer,
    region: String,
    configuration_id: String,
}

impl InputNotifications {
    /// Notifications for objects created under `location`.
    pub fn new(
        location: S3Location,
        deliverer: Arc<Deliverer>,
        client: aws_sdk_s3::Client,
        background: Background,
        region: String,
        configuration_id: String,
    ) -> Self {
        Self {
            location,
            deliverer,
            client,
            background,
            sequencer: Sequencer::default(),
            region,
            configuration_id,
        }
    }

    /// The watched location.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// The deliverer (for its report).
    pub fn deliverer(&self) -> &Deliverer {
        &self.deliverer
    }

    fn watches(&self, creation: &Creation) -> bool {
        creation.bucket == self.location.bucket && self.location.contains_key(&creation.key)
    }

    /// Notifies of `creation`, described by the write's `receipt` (size, ETag, version id).
    /// Without a receipt (an operation that does not attach one) the object is read now,
    /// before the write's response goes back. The delivery itself runs in the background, as
    /// S3 notifies asynchronously.
    async fn notify(
        self: &Arc<Self>,
        creation: Creation,
        receipt: Option<WriteReceipt>,
        source_ip: IpAddr,
        request_id: String,
    ) {
        // Taken now, in the order the writes completed.
        let sequencer = self.sequencer.next();
        let receipt = match receipt {
            Some(receipt) => receipt,
            None => {
                let head = self
                    .client
                    .head_object()
                    .bucket(&creation.bucket)
                    .key(&creation.key)
                    .send()
                    .await;
                match head {
                    Ok(head) => WriteReceipt {
                        size: head
                            .content_length()
                            .and_then(|l| u64::try_from(l).ok())
                            .unwrap_or(0),
                        e_tag: head
                            .e_tag()
                            .unwrap_or_default()
                            .trim_matches('"')
                            .to_owned(),
                        version_id: head.version_id().map(str::to_owned),
                    },
                    Err(err) => {
                        tracing::error!(bucket = %creation.bucket, key = %creation.key, error = %aws_sdk_s3::error::DisplayErrorContext(&err), "created object vanished before its notification; no event sent");
                        return;
                    }
                }
            }
        };
        let object = CreatedObject {
            size: i64::try_from(receipt.size).unwrap_or(i64::MAX),
            e_tag: receipt.e_tag,
            version_id: receipt.version_id,
            sequencer: sequencer.clone(),
            source_ip,
            request_id,
            creation,
        };
        let this = Arc::clone(self);
        self.background.spawn(async move {
            let uri = format!("s3://{}/{}", object.creation.bucket, object.creation.key);
            let event = object_created_event(&object, &this.region, &this.configuration_id);
            tracing::info!(bucket = %object.creation.bucket, key = %object.creation.key, sequencer = %sequencer, "object created under the input location");
            this.deliverer
                .deliver(EventKind::ObjectCreated, &uri, &sequencer, &event)
                .await;
        });
    }
}

/// The S3 port's service: the s3s service, plus notifications for the input location.
#[derive(Debug, Clone)]
pub struct S3Front {
    service: S3Service,
    notifications: Option<Arc<InputNotifications>>,
    remote: SocketAddr,
}

impl S3Front {
    /// The service for one connection from `remote`.
    pub fn new(
        service: S3Service,
        notifications: Option<Arc<InputNotifications>>,
        remote: SocketAddr,
    ) -> Self {
        Self {
            service,
            notifications,
            remote,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for S3Front {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let watched = self.notifications.as_ref().and_then(|n| {
            creation(request.method(), request.uri(), request.headers())
                .filter(|c| n.watches(c))
                .map(|c| (Arc::clone(n), c))
        });
        let service = self.service.clone();
        let source_ip = self.remote.ip();
        Box::pin(async move {
            let mut response = service.call(request.map(s3s::Body::from)).await?;
            let receipt = response.extensions_mut().remove::<WriteReceipt>();
            if let Some((notifications, creation)) = watched {
                if response.status().is_success() {
                    let request_id = response
                        .headers()
                        .get("x-amz-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase()
                        });
                    notifications
                        .notify(creation, receipt, source_ip, request_id)
                        .await;
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_encoded_like_s3_does() {
        assert_eq!(form_encode_key("red flower.jpg"), "red+flower.jpg");
        assert_eq!(form_encode_key("a+b.json"), "a%2Bb.json");
        assert_eq!(
            form_encode_key("in/été (2).json"),
            "in/%C3%A9t%C3%A9+%282%29.json"
        );
        assert_eq!(form_encode_key("x_y-z.*~"), "x_y-z.*%7E");
    }

    #[test]
    fn the_event_carries_a_version_id_only_when_the_write_has_one() {
        let mut object = CreatedObject {
            creation: Creation {
                bucket: "inbox".into(),
                key: "a b.json".into(),
                event_name: "ObjectCreated:Put",
            },
            size: 12,
            e_tag: "0123".into(),
            version_id: None,
            sequencer: "0000000000000000AB".into(),
            source_ip: IpAddr::from([127, 0, 0, 1]),
            request_id: "REQ".into(),
        };
        let event = object_created_event(&object, "us-east-1", "cfg");
        let o = &event["Records"][0]["s3"]["object"];
        assert_eq!(
            (o["key"].as_str(), o["size"].as_i64()),
            (Some("a+b.json"), Some(12))
        );
        assert!(o.get("versionId").is_none());
        object.version_id = Some("v-1".into());
        let event = object_created_event(&object, "us-east-1", "cfg");
        assert_eq!(event["Records"][0]["s3"]["object"]["versionId"], "v-1");
    }

    #[test]
    fn sequencers_increase_and_have_18_hex_digits() {
        let s = Sequencer::default();
        let a = s.next();
        let b = s.next();
        assert_eq!(a.len(), 18);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert!(b > a, "{b} > {a}");
    }

    #[test]
    fn object_creating_requests_are_recognized() {
        let h = HeaderMap::new();
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let put = creation(
            &Method::PUT,
            &uri("/inbox/a%20b%2Bc.json?x-id=PutObject"),
            &h,
        )
        .unwrap();
        assert_eq!(
            (put.bucket.as_str(), put.key.as_str()),
            ("inbox", "a b+c.json")
        );
        assert_eq!(put.event_name, "ObjectCreated:Put");
        let done = creation(&Method::POST, &uri("/inbox/k?uploadId=1"), &h).unwrap();
        assert_eq!(done.event_name, "ObjectCreated:CompleteMultipartUpload");
        assert!(creation(&Method::PUT, &uri("/inbox/k?partNumber=1&uploadId=1"), &h).is_none());
        assert!(creation(&Method::PUT, &uri("/inbox/k?tagging"), &h).is_none());
        assert!(creation(&Method::PUT, &uri("/inbox"), &h).is_none());
        assert!(creation(&Method::POST, &uri("/inbox/k?uploads"), &h).is_none());
        let mut copy = HeaderMap::new();
        copy.insert("x-amz-copy-source", "/inbox/src".parse().unwrap());
        assert_eq!(
            creation(&Method::PUT, &uri("/inbox/k"), &copy)
                .unwrap()
                .event_name,
            "ObjectCreated:Copy"
        );
    }
}
