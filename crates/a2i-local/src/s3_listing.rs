//! The embedded S3's listings: pages of ListObjectsV2 / ListObjects / ListObjectVersions
//! over the index (prefix, delimiter and common prefixes, markers, max-keys), and
//! `encoding-type=url`.
//!
//! botocore (boto3, the AWS CLI) always lists with `encoding-type=url` and then URL-decodes
//! every key it gets back, `+` included, so keys, prefixes and markers are encoded as S3 does
//! when asked to (`red flower+1.json` must not come back as `red flower 1.json`).

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::EncodingType;

use crate::s3_store::{Store, StoreError, Version};

/// What S3 leaves unencoded in `encoding-type=url` listings: RFC 3986 unreserved characters
/// and the `/` that separates "folders".
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// S3's page size limit.
pub(crate) const MAX_KEYS: usize = 1000;

/// Whether the request asked for `encoding-type=url`.
pub(crate) fn wants_url(encoding: Option<&EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str() == EncodingType::URL)
}

/// URL-encodes `s` in place as S3 does for `encoding-type=url`.
pub(crate) fn encode(s: &mut Option<String>) {
    if let Some(v) = s.as_mut() {
        *v = utf8_percent_encode(v, KEY_ENCODE).to_string();
    }
}

/// A continuation token: the last key or common prefix returned, base64url, so any key
/// (control characters included) survives XML and query strings.
pub(crate) fn token_for(marker: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(marker)
}

/// The marker inside a continuation token, or `None` when it is not one of ours.
pub(crate) fn marker_of(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The page size a request asks for: S3's default and ceiling are 1,000.
pub(crate) fn page_size(max_keys: Option<i32>) -> usize {
    max_keys.map_or(MAX_KEYS, |m| usize::try_from(m).unwrap_or(0).min(MAX_KEYS))
}

/// One listing entry.
#[derive(Debug)]
pub(crate) enum Entry {
    /// An object (or a version of one).
    Object(Box<Version>),
    /// A common prefix (a "folder" under the delimiter).
    Prefix(String),
}

/// A page of a listing.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

impl Page {
    /// The objects of the page.
    pub fn objects(&self) -> impl Iterator<Item = &Version> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Object(v) => Some(v.as_ref()),
            Entry::Prefix(_) => None,
        })
    }

    /// The common prefixes of the page.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Prefix(p) => Some(p.as_str()),
            Entry::Object(_) => None,
        })
    }
}

/// The common prefix `key` rolls up into, if the delimiter occurs after `prefix`.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let delimiter = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    let at = rest.find(delimiter)?;
    key.get(..prefix.len() + at + delimiter.len())
}

/// A page of current objects with keys after `after` (a key or a common prefix returned
/// before), objects and common prefixes counting together towards `max_keys`.
pub(crate) fn list_current(
    store: &Store,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max_keys: usize,
) -> Result<Page, StoreError> {
    let mut page = Page::default();
    if max_keys == 0 {
        // Still answers NoSuchBucket for a missing bucket.
        store.bucket(bucket)?;
        return Ok(page);
    }
    let after = after.unwrap_or("");
    let mut last_prefix: Option<String> = None;
    store.scan_current(bucket, prefix, after, |version| {
        if version.key.as_str() <= after {
            return true;
        }
        if let Some(cp) = common_prefix(&version.key, prefix, delimiter) {
            // Keys under a common prefix already returned (on this page or an earlier one).
            if cp == after || last_prefix.as_deref() == Some(cp) {
                return true;
            }
            if page.entries.len() == max_keys {
                page.truncated = true;
                return false;
            }
            last_prefix = Some(cp.to_owned());
            page.entries.push(Entry::Prefix(cp.to_owned()));
            return true;
        }
        if page.entries.len() == max_keys {
            page.truncated = true;
            return false;
        }
        page.entries.push(Entry::Object(Box::new(version)));
        true
    })?;
    Ok(page)
}

/// Where a version listing resumes: after `key` (all its versions), or after one version.
#[derive(Debug, Default)]
pub(crate) struct VersionMarker<'a> {
    pub key: Option<&'a str>,
    pub version_id: Option<&'a str>,
}

/// A page of versions and delete markers (`is_latest` is computed per key).
pub(crate) fn list_versions(
    store: &Store,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    marker: &VersionMarker<'_>,
    max_keys: usize,
) -> Result<(Page, Vec<bool>), StoreError> {
    let mut page = Page::default();
    let mut latest = Vec::new();
    if max_keys == 0 {
        store.bucket(bucket)?;
        return Ok((page, latest));
    }
    let from = marker.key.unwrap_or("");
    // While resuming inside the marker key: skip until the marker version has gone by.
    let mut skipping = marker.version_id.is_some();
    let mut last_key: Option<String> = None;
    let mut last_prefix: Option<String> = None;
    store.scan_versions(bucket, prefix, from, |version| {
        let first_of_key = last_key.as_deref() != Some(version.key.as_str());
        if first_of_key {
            last_key = Some(version.key.clone());
        }
        if let Some(marker_key) = marker.key {
            if version.key.as_str() < marker_key {
                return true;
            }
            if version.key == marker_key {
                if skipping {
                    if Some(version.version_id.as_str()) == marker.version_id {
                        skipping = false;
                    }
                    return true;
                }
                if marker.version_id.is_none() {
                    return true;
                }
            }
        }
        if let Some(cp) = common_prefix(&version.key, prefix, delimiter) {
            if Some(cp) == marker.key || last_prefix.as_deref() == Some(cp) {
                return true;
            }
            if page.entries.len() == max_keys {
                page.truncated = true;
                return false;
            }
            last_prefix = Some(cp.to_owned());
            page.entries.push(Entry::Prefix(cp.to_owned()));
            latest.push(false);
            return true;
        }
        if page.entries.len() == max_keys {
            page.truncated = true;
            return false;
        }
        page.entries.push(Entry::Object(Box::new(version)));
        latest.push(first_of_key);
        true
    })?;
    Ok((page, latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_encodes_them() {
        let mut k = Some("incoming/moderation/beach photo+1 ü&=.json".to_owned());
        encode(&mut k);
        assert_eq!(
            k.as_deref(),
            Some("incoming/moderation/beach%20photo%2B1%20%C3%BC%26%3D.json")
        );
    }

    #[test]
    fn tokens_round_trip_any_key() {
        for key in ["", "a/b", "sp ace+plus%#?\u{0}\u{1}ü/"] {
            assert_eq!(marker_of(&token_for(key)).as_deref(), Some(key));
        }
        assert_eq!(marker_of("not base64!"), None);
    }

    #[test]
    fn common_prefixes_roll_up_after_the_prefix() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/", Some("/")), None);
        assert_eq!(common_prefix("a/b", "a/", None), None);
        assert_eq!(common_prefix("a--b--c", "", Some("--")), Some("a--"));
        assert_eq!(common_prefix("ü/x", "", Some("/")), Some("ü/"));
    }

    #[test]
    fn page_sizes_are_capped_at_1000() {
        assert_eq!(page_size(None), 1000);
        assert_eq!(page_size(Some(5000)), 1000);
        assert_eq!(page_size(Some(-1)), 0);
        assert_eq!(page_size(Some(7)), 7);
    }
}
