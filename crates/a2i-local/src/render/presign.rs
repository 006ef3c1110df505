//! `grant_read_access`'s side: which S3 references it accepts, and the presigners that turn
//! them into URLs (the embedded S3's real SigV4 presigned GET URLs, previews, none).

use std::time::{Duration, SystemTime};

use crate::s3::Credentials;

/// Why a presigned URL could not be made. The reason never contains the bucket or key
/// (object keys can be item content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PresignError {
    /// What went wrong.
    pub reason: String,
}

impl PresignError {
    /// An error with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Makes the URL that `grant_read_access` puts into a page for an S3 object.
pub trait Presign: Send + Sync {
    /// A URL that lets whoever holds it GET `bucket`/`key` (the key as stored, not encoded).
    fn presign_get(&self, bucket: &str, key: &str) -> Result<String, PresignError>;

    /// The same for one version of the object (`grant_read_access` on an `s3Object` with a
    /// `version`). Presigners that cannot name a version refuse one rather than hand out
    /// a URL of whatever version is current.
    fn presign_get_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<String, PresignError> {
        match version {
            None => self.presign_get(bucket, key),
            Some(_) => Err(PresignError::new(
                "this presigner cannot presign a particular object version",
            )),
        }
    }
}

/// For contexts without S3: every `grant_read_access` fails the render with a
/// `GrantReadAccessError`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPresign;

impl Presign for NoPresign {
    fn presign_get(&self, _bucket: &str, _key: &str) -> Result<String, PresignError> {
        Err(PresignError::new(
            "grant_read_access needs an S3 to presign against, and this renderer has none",
        ))
    }
}

/// How long presigned URLs of [`S3Presigner`] stay valid unless set otherwise: 15 minutes.
/// A2I documents its tokens only as "short-lived"; a task page is rendered when a worker
/// opens it, so its media load within seconds, and reopening renders afresh.
pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// Real SigV4 query-string presigned GET URLs (path-style) for an S3 endpoint and a
/// credential pair: the embedded S3 verifies them, their expiry included
/// ([`crate::LocalA2iHandle::presigner`] makes one for the running server).
#[derive(Clone)]
pub struct S3Presigner {
    endpoint: String,
    credentials: Credentials,
    region: String,
    expiry: Duration,
}

impl std::fmt::Debug for S3Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Presigner")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl S3Presigner {
    /// A presigner for the S3 at `endpoint` (`http://host:port`, path-style), signing with
    /// `credentials` in `region`; URLs last [`DEFAULT_PRESIGN_EXPIRY`].
    pub fn new(
        endpoint: impl Into<String>,
        credentials: Credentials,
        region: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            credentials,
            region: region.into(),
            expiry: DEFAULT_PRESIGN_EXPIRY,
        }
    }

    /// URLs last `expiry` instead (SigV4 allows 1 second to 7 days; longer is clamped).
    pub fn with_expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry.clamp(Duration::from_secs(1), Duration::from_secs(7 * 24 * 3600));
        self
    }

    /// The expiry in use.
    pub fn expiry(&self) -> Duration {
        self.expiry
    }

    /// A URL signed at `time` (for tests of expiry; [`Presign::presign_get`] signs now).
    pub fn presign_get_at(
        &self,
        bucket: &str,
        key: &str,
        time: SystemTime,
    ) -> Result<String, PresignError> {
        self.presign_version_at(bucket, key, None, time)
    }

    /// A URL for `version` of the object (`?versionId=`, signed with the rest), signed at
    /// `time`.
    pub fn presign_version_at(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        time: SystemTime,
    ) -> Result<String, PresignError> {
        use aws_sigv4::http_request::{
            sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
            SigningSettings, UriPathNormalizationMode,
        };
        use aws_sigv4::sign::v4;

        let mut url = format!(
            "{}/{}/{}",
            self.endpoint,
            encode_segment(bucket),
            encode_key(key)
        );
        if let Some(version) = version {
            url.push_str("?versionId=");
            url.push_str(&encode_segment(version));
        }
        let host = self
            .endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, rest)| rest);
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(self.expiry);
        // S3 signs the path as sent: no second encoding, no dot-segment normalisation.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = self.credentials.to_sdk().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| PresignError::new(format!("signing parameters: {e}")))?
            .into();
        let request = SignableRequest::new(
            "GET",
            &url,
            std::iter::once(("host", host)),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| PresignError::new(format!("the request could not be signed: {e}")))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| PresignError::new(format!("the request could not be signed: {e}")))?
            .into_parts();
        let mut signed = url;
        for (name, value) in instructions.params() {
            signed.push(if signed.contains('?') { '&' } else { '?' });
            signed.push_str(name);
            signed.push('=');
            signed.push_str(&encode_segment(value));
        }
        Ok(signed)
    }
}

impl Presign for S3Presigner {
    fn presign_get(&self, bucket: &str, key: &str) -> Result<String, PresignError> {
        self.presign_get_at(bucket, key, SystemTime::now())
    }

    fn presign_get_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<String, PresignError> {
        self.presign_version_at(bucket, key, version, SystemTime::now())
    }
}

/// Characters left as they are in a URL path segment or query value (RFC 3986 unreserved).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// An object key as a URL path: every byte but unreserved ones and `/` percent-encoded.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Preview URLs for renders that must not reach any S3 (`a2i-review evaluate --render`):
/// `https://s3.amazonaws.com/BUCKET/KEY?a2i-preview=not-presigned`, the address the
/// object would have, visibly marked as not presigned. Nothing is signed; the URL only
/// shows which object a template asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreviewPresign;

/// The query parameter that marks [`PreviewPresign`] URLs.
pub const PREVIEW_MARKER: &str = "a2i-preview=not-presigned";

impl Presign for PreviewPresign {
    fn presign_get(&self, bucket: &str, key: &str) -> Result<String, PresignError> {
        self.presign_get_version(bucket, key, None)
    }

    fn presign_get_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<String, PresignError> {
        let version = version
            .map(|v| format!("versionId={}&", encode_segment(v)))
            .unwrap_or_default();
        Ok(format!(
            "https://s3.amazonaws.com/{}/{}?{version}{PREVIEW_MARKER}",
            encode_segment(bucket),
            encode_key(key)
        ))
    }
}

/// Why a value given to `grant_read_access` is not an S3 reference (never echoes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotAnS3Reference;

/// The bucket and key of an S3 reference in the forms A2I documents: `s3://bucket/key`,
/// and path-style `https://s3.amazonaws.com/bucket/key` or `http://…` (its built-in
/// templates build those with `{% capture %}`), also with a regional host
/// (`s3.REGION.amazonaws.com`, `s3-REGION.amazonaws.com`), and virtual-hosted
/// `https://bucket.s3[.REGION].amazonaws.com/key`. Keys are taken as written (A2I's own
/// templates put raw keys there); surrounding whitespace is ignored.
pub(crate) fn parse_s3_reference(text: &str) -> Result<(String, String), NotAnS3Reference> {
    let text = text.trim();
    let split = |rest: &str| -> Result<(String, String), NotAnS3Reference> {
        let (bucket, key) = rest.split_once('/').ok_or(NotAnS3Reference)?;
        if bucket.is_empty() || key.is_empty() {
            return Err(NotAnS3Reference);
        }
        Ok((bucket.to_owned(), key.to_owned()))
    };
    if let Some(rest) = text.strip_prefix("s3://") {
        return split(rest);
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or(NotAnS3Reference)?;
    let (host, path) = rest.split_once('/').ok_or(NotAnS3Reference)?;
    let host = host.to_ascii_lowercase();
    let Some(service) = host.strip_suffix(".amazonaws.com") else {
        return Err(NotAnS3Reference);
    };
    if is_s3_service(service) {
        return split(path);
    }
    // Virtual-hosted: BUCKET.s3[.REGION]
    if let Some((bucket, service)) = service.split_once(".s3") {
        let service = format!("s3{service}");
        if is_s3_service(&service) && !bucket.is_empty() && !path.is_empty() {
            return Ok((bucket.to_owned(), path.to_owned()));
        }
    }
    Err(NotAnS3Reference)
}

/// `s3`, `s3.REGION`, `s3-REGION`.
fn is_s3_service(service: &str) -> bool {
    let region_like = |r: &str| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    service == "s3"
        || service.strip_prefix("s3.").is_some_and(region_like)
        || service.strip_prefix("s3-").is_some_and(region_like)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<(String, String)> {
        parse_s3_reference(text).ok()
    }

    fn pair(b: &str, k: &str) -> Option<(String, String)> {
        Some((b.to_owned(), k.to_owned()))
    }

    #[test]
    fn s3_uris_and_the_documented_https_forms_are_accepted() {
        assert_eq!(
            parsed("s3://examplebucket/myphoto.png"),
            pair("examplebucket", "myphoto.png")
        );
        assert_eq!(
            parsed("https://s3.amazonaws.com/examplebucket/dir/my photo.png"),
            pair("examplebucket", "dir/my photo.png")
        );
        assert_eq!(parsed("http://s3.amazonaws.com/b/k"), pair("b", "k"));
        assert_eq!(
            parsed("https://s3.eu-west-1.amazonaws.com/b/k"),
            pair("b", "k")
        );
        assert_eq!(
            parsed("https://s3-eu-west-1.amazonaws.com/b/k"),
            pair("b", "k")
        );
        assert_eq!(parsed("https://b.s3.amazonaws.com/k/x"), pair("b", "k/x"));
        assert_eq!(
            parsed("https://b.s3.us-east-2.amazonaws.com/k"),
            pair("b", "k")
        );
        assert_eq!(parsed("  s3://b/k\n"), pair("b", "k"));
    }

    #[test]
    fn other_urls_and_incomplete_references_are_refused() {
        for text in [
            "",
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "https://example.com/b/k",
            "https://s3.amazonaws.com.evil.com/b/k",
            "https://s3.amazonaws.com/b",
            "ftp://s3.amazonaws.com/b/k",
            "/b/k",
        ] {
            assert_eq!(parse_s3_reference(text), Err(NotAnS3Reference), "{text:?}");
        }
    }

    #[test]
    fn preview_urls_are_marked_and_encode_the_key() {
        let url = PreviewPresign.presign_get("b", "dir/a b&c.png").unwrap();
        assert_eq!(
            url,
            "https://s3.amazonaws.com/b/dir/a%20b%26c.png?a2i-preview=not-presigned"
        );
    }

    #[test]
    fn presigned_urls_carry_sigv4_query_parameters_and_the_expiry() {
        let presigner = S3Presigner::new("http://127.0.0.1:9", Credentials::default(), "us-east-1")
            .with_expiry(Duration::from_secs(60));
        let url = presigner.presign_get("b", "a b/ü.png").unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/b/a%20b/%C3%BC.png?"),
            "{url}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=",
            "X-Amz-Credential=a2ilocal%2F",
        ] {
            assert!(url.contains(part), "{part} in {url}");
        }
    }

    #[test]
    fn versioned_urls_sign_the_version_id_with_the_rest() {
        let presigner = S3Presigner::new("http://127.0.0.1:9", Credentials::default(), "us-east-1");
        let url = presigner
            .presign_get_version("b", "k.png", Some("v 1/+"))
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/b/k.png?versionId=v%201%2F%2B&X-Amz-Algorithm="),
            "{url}"
        );
        assert_eq!(url.matches('?').count(), 1, "{url}");
        let preview = PreviewPresign
            .presign_get_version("b", "k", Some("v1"))
            .unwrap();
        assert_eq!(
            preview,
            "https://s3.amazonaws.com/b/k?versionId=v1&a2i-preview=not-presigned"
        );
        assert!(NoPresign.presign_get_version("b", "k", Some("v1")).is_err());
    }

    #[test]
    fn no_presign_refuses_without_naming_the_object() {
        let err = NoPresign
            .presign_get("secret-bucket", "secret-key")
            .unwrap_err();
        assert!(!err.reason.contains("secret"));
    }
}
