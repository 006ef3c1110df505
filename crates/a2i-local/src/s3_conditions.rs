//! Conditional reads (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` on GetObject, HeadObject and CopyObject's source), with S3's
//! precedence: a matching `If-Match` makes `If-Unmodified-Since` irrelevant, and a present
//! `If-None-Match` makes `If-Modified-Since` irrelevant (RFC 7232 section 6).

use s3s::dto::{ETagCondition, Timestamp};

/// The outcome of a read's preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Serve the object.
    Proceed,
    /// 412 `PreconditionFailed`.
    Failed,
    /// 304 `NotModified` (GET and HEAD; a copy source reports 412 instead).
    NotModified,
}

/// A read's conditional headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadConditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a ETagCondition>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a ETagCondition>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a Timestamp>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a Timestamp>,
}

fn matches(condition: &ETagCondition, etag: &str) -> bool {
    match condition {
        ETagCondition::Any => true,
        // Quotes are gone; a weak tag compares by value, as S3 does.
        ETagCondition::ETag(tag) => tag.value() == etag,
    }
}

/// `Last-Modified` as S3 sends it: whole seconds.
pub(crate) fn http_time(last_modified_ms: i64) -> Timestamp {
    let secs = u64::try_from(last_modified_ms.div_euclid(1000)).unwrap_or(0);
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

impl ReadConditions<'_> {
    /// Evaluates the conditions against an object's ETag (unquoted) and modification time.
    pub fn evaluate(&self, etag: &str, last_modified_ms: i64) -> Precondition {
        let modified = http_time(last_modified_ms);
        match self.if_match {
            Some(condition) => {
                if !matches(condition, etag) {
                    return Precondition::Failed;
                }
            }
            None => {
                if self
                    .if_unmodified_since
                    .is_some_and(|since| modified > *since)
                {
                    return Precondition::Failed;
                }
            }
        }
        match self.if_none_match {
            Some(condition) => {
                if matches(condition, etag) {
                    return Precondition::NotModified;
                }
            }
            None => {
                if self
                    .if_modified_since
                    .is_some_and(|since| modified <= *since)
                {
                    return Precondition::NotModified;
                }
            }
        }
        Precondition::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    const ETAG: &str = "0123abcd";
    // 2024-01-01T00:00:10.500Z
    const MODIFIED_MS: i64 = 1_704_067_210_500;

    fn tag(v: &str) -> ETagCondition {
        ETagCondition::ETag(ETag::Strong(v.to_owned()))
    }

    fn at(secs: i64) -> Timestamp {
        http_time(secs * 1000)
    }

    fn eval(c: ReadConditions<'_>) -> Precondition {
        c.evaluate(ETAG, MODIFIED_MS)
    }

    #[test]
    fn each_header_alone() {
        let (same, other) = (tag(ETAG), tag("ffff"));
        let before = at(1_704_067_200);
        let exact = at(1_704_067_210);
        let after = at(1_704_067_300);
        let d = ReadConditions::default;
        assert_eq!(eval(d()), Precondition::Proceed);
        let m = |c: &ETagCondition| {
            eval(ReadConditions {
                if_match: Some(c),
                ..d()
            })
        };
        assert_eq!(m(&same), Precondition::Proceed);
        assert_eq!(m(&other), Precondition::Failed);
        assert_eq!(m(&ETagCondition::Any), Precondition::Proceed);
        let n = |c: &ETagCondition| {
            eval(ReadConditions {
                if_none_match: Some(c),
                ..d()
            })
        };
        assert_eq!(n(&same), Precondition::NotModified);
        assert_eq!(n(&other), Precondition::Proceed);
        let ims = |t: &Timestamp| {
            eval(ReadConditions {
                if_modified_since: Some(t),
                ..d()
            })
        };
        assert_eq!(ims(&before), Precondition::Proceed);
        // Second precision: modified at :10.5 is not modified since :10.
        assert_eq!(ims(&exact), Precondition::NotModified);
        assert_eq!(ims(&after), Precondition::NotModified);
        let ius = |t: &Timestamp| {
            eval(ReadConditions {
                if_unmodified_since: Some(t),
                ..d()
            })
        };
        assert_eq!(ius(&before), Precondition::Failed);
        assert_eq!(ius(&exact), Precondition::Proceed);
        assert_eq!(ius(&after), Precondition::Proceed);
    }

    #[test]
    fn s3_precedence_rules() {
        let (same, other) = (tag(ETAG), tag("ffff"));
        let before = at(1_704_067_200);
        let after = at(1_704_067_300);
        // If-Match true + If-Unmodified-Since false → 200.
        let c = ReadConditions {
            if_match: Some(&same),
            if_unmodified_since: Some(&before),
            ..Default::default()
        };
        assert_eq!(eval(c), Precondition::Proceed);
        // If-None-Match false (matches) + If-Modified-Since true → 304.
        let c = ReadConditions {
            if_none_match: Some(&same),
            if_modified_since: Some(&before),
            ..Default::default()
        };
        assert_eq!(eval(c), Precondition::NotModified);
        // If-None-Match true (no match) + If-Modified-Since false → 200.
        let c = ReadConditions {
            if_none_match: Some(&other),
            if_modified_since: Some(&after),
            ..Default::default()
        };
        assert_eq!(eval(c), Precondition::Proceed);
        // If-Match false wins over everything.
        let c = ReadConditions {
            if_match: Some(&other),
            if_none_match: Some(&same),
            ..Default::default()
        };
        assert_eq!(eval(c), Precondition::Failed);
        // A weak tag in If-None-Match compares by value.
        let weak = ETagCondition::ETag(ETag::Weak(ETAG.to_owned()));
        let c = ReadConditions {
            if_none_match: Some(&weak),
            ..Default::default()
        };
        assert_eq!(eval(c), Precondition::NotModified);
    }
}
