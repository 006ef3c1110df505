//! Deterministic, valid `HumanLoopName`s.
//!
//! A loop name is the only deduplication key A2I has (there is no client token), so it is
//! derived from what identifies an item: bucket, decoded key, object version (version id, else
//! ETag) and the item's index. A redelivered S3 event therefore asks for the same names, and
//! A2I refuses to start the same loop twice.

use sha2::{Digest, Sha256};

use crate::source::ObjectRef;

/// Longest name A2I accepts.
pub const MAX_NAME_LEN: usize = 63;
/// Hex characters of the hash kept in every name (160 bits).
pub const HASH_LEN: usize = 40;

/// The loop name of item `item_index` of `object`, behind the optional readable `prefix`
/// (which config has checked to be `[a-z0-9][a-z0-9-]*`, at most 22 characters).
pub fn loop_name(prefix: Option<&str>, object: &ObjectRef, item_index: u64) -> String {
    let mut h = Sha256::new();
    // NUL separators: no bucket/key/version combination can run into another.
    for part in [
        object.bucket.as_str(),
        object.key.as_str(),
        object
            .version_id
            .as_deref()
            .or(object.e_tag.as_deref())
            .unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(item_index.to_be_bytes());
    let digest = hex::encode(h.finalize());
    let hash = &digest[..HASH_LEN];
    match prefix {
        Some(p) => {
            // Config has validated the prefix; this keeps the result valid whatever is passed.
            let room = MAX_NAME_LEN - HASH_LEN - 1;
            let clean: String = p
                .chars()
                .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .take(room)
                .collect();
            let clean = clean.trim_matches('-');
            if clean.is_empty() {
                hash.to_owned()
            } else {
                format!("{clean}-{hash}")
            }
        }
        None => hash.to_owned(),
    }
}

/// Whether `name` obeys A2I's rule: 1–63 characters matching `^[a-z0-9](-*[a-z0-9])*$`.
pub fn is_valid(name: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(bucket: &str, key: &str, version: Option<&str>, etag: Option<&str>) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: version.map(Into::into),
            e_tag: etag.map(Into::into),
        }
    }

    fn model_regex() -> regex::Regex {
        regex::Regex::new(r"^[a-z0-9](-*[a-z0-9])*$").unwrap()
    }

    #[test]
    fn names_are_deterministic_and_distinct_per_input() {
        let o = obj("b", "k.jsonl", None, Some("e1"));
        assert_eq!(loop_name(None, &o, 0), loop_name(None, &o, 0));
        let names = [
            loop_name(None, &o, 0),
            loop_name(None, &o, 1),
            loop_name(None, &obj("b", "k.jsonl", None, Some("e2")), 0),
            loop_name(None, &obj("b", "k.jsonl", Some("v1"), Some("e1")), 0),
            loop_name(None, &obj("b2", "k.jsonl", None, Some("e1")), 0),
            loop_name(None, &obj("b", "k.jsonl2", None, Some("e1")), 0),
            // separators matter: "ab"+"c" is not "a"+"bc"
            loop_name(None, &obj("ab", "c", None, None), 0),
            loop_name(None, &obj("a", "bc", None, None), 0),
        ];
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    #[test]
    fn version_id_wins_over_etag() {
        let a = loop_name(None, &obj("b", "k", Some("v1"), Some("e1")), 0);
        let b = loop_name(None, &obj("b", "k", Some("v1"), Some("e2")), 0);
        assert_eq!(a, b);
    }

    #[test]
    fn prefix_is_kept_readable_and_the_name_stays_within_63() {
        let o = obj("b", "k", None, Some("e"));
        let n = loop_name(Some("invoices"), &o, 3);
        assert!(n.starts_with("invoices-"), "{n}");
        assert_eq!(n.len(), "invoices-".len() + HASH_LEN);
        let long = loop_name(Some("abcdefghijklmnopqrstuv"), &o, 3);
        assert_eq!(long.len(), MAX_NAME_LEN);
        assert!(is_valid(&long));
        let trailing = loop_name(Some("x--"), &o, 3);
        assert!(
            trailing.starts_with("x-") && !trailing.starts_with("x--"),
            "{trailing}"
        );
        assert_eq!(loop_name(Some(""), &o, 3), loop_name(None, &o, 3));
        assert!(is_valid(&loop_name(Some("Ünï_"), &o, 3)));
    }

    #[test]
    fn validity_matches_the_model_pattern_on_edge_cases() {
        let re = model_regex();
        for n in [
            "a",
            "0",
            "a--b",
            "a-b-c",
            "-a",
            "a-",
            "A",
            "a_b",
            "",
            &"a".repeat(63),
            &"a".repeat(64),
        ] {
            let expected = re.is_match(n) && n.len() <= 63;
            assert_eq!(is_valid(n), expected, "{n:?}");
        }
    }

    proptest! {
        #[test]
        fn every_generated_name_is_valid(
            bucket in "[a-z0-9.-]{3,63}",
            key in any::<String>(),
            version in proptest::option::of(any::<String>()),
            etag in proptest::option::of("[0-9a-f]{32}(-[0-9]{1,4})?"),
            prefix in proptest::option::of(any::<String>()),
            index in any::<u64>(),
        ) {
            let o = ObjectRef { bucket, key, version_id: version, e_tag: etag };
            let name = loop_name(prefix.as_deref(), &o, index);
            prop_assert!(name.len() <= MAX_NAME_LEN);
            prop_assert!(model_regex().is_match(&name), "{}", name);
            prop_assert!(is_valid(&name));
            prop_assert_eq!(name.clone(), loop_name(prefix.as_deref(), &o, index));
        }
    }
}
