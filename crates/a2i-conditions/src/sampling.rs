//! `Sampling`: a pseudo-random share of items that is deterministic per item, so a redelivered
//! S3 event (or a rerun) makes the same decision, as A2I promises for its own sampling.
//!
//! An item's *sample point* is SHA-256 of its canonical JSON mapped onto `[0, 100)`; the item
//! is in a `p`% sample when its point is below `p`. The point depends on the item alone, so
//! raising a percentage only ever adds items to the sample, and two `Sampling` leaves of one
//! document agree on the items they share.

use std::io::{self, Write};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::ConditionError;
use super::params::Params;

/// The condition type's name.
pub(crate) const TYPE: &str = "Sampling";
/// Its parameters.
pub(crate) const PARAMS: &[&str] = &["RandomSamplingPercentage"];

/// Fixed prefix of the hashed bytes: names the scheme, so a future change of it is explicit
/// and no other hash of the same item can coincide with this one.
const DOMAIN: &[u8] = b"a2i-review/sampling/v1\n";

/// A parsed `Sampling` condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sampling {
    percentage: f64,
}

impl Sampling {
    /// Reads `RandomSamplingPercentage`, 0.01 to 100 as A2I documents it.
    pub(crate) fn parse(params: &Params) -> Result<Self, ConditionError> {
        let percentage = params.required_number(
            "RandomSamplingPercentage",
            (0.01, 100.0),
            "the share of items to review, from 0.01 to 100",
        )?;
        Ok(Self { percentage })
    }

    /// The reason when the item's sample point falls inside the sample, else `None`.
    pub(crate) fn check(&self, sample_point: f64) -> Option<String> {
        (sample_point < self.percentage)
            .then(|| format!("{TYPE}: item falls in the {}% sample", self.percentage))
    }
}

/// Where an item falls in `[0, 100)`, the same for equal items whatever their key order.
pub(crate) fn sample_point(item: &Value) -> f64 {
    let mut hasher = HashWriter(Sha256::new());
    hasher.0.update(DOMAIN);
    write_canonical(item, &mut hasher)
        .expect("HashWriter::write never fails, so neither can writing JSON into it");
    let digest = hasher.0.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top 53 bits are exactly representable as f64, so the point is uniform on [0, 100).
    let bits = u64::from_be_bytes(first) >> 11;
    bits as f64 / (1u64 << 53) as f64 * 100.0
}

/// Feeds written bytes into SHA-256, so the canonical form is never held in memory.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Compact JSON with every object's keys sorted by their UTF-8 bytes, so the bytes do not
/// depend on the input's key order nor on serde_json's `preserve_order` feature.
fn write_canonical(value: &Value, out: &mut impl Write) -> io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, member)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(member, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, member) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(member, out)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(out, scalar)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ActivationConditions;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        let mut out = Vec::new();
        write_canonical(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn sampling(percentage: f64) -> ActivationConditions {
        ActivationConditions::from_value(&json!({"Conditions": [
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": percentage}}
        ]}))
        .unwrap()
    }

    /// The first of `{"id": 0}`, `{"id": 1}`, … whose sample point satisfies `wanted`.
    fn find_item(wanted: impl Fn(f64) -> bool) -> Value {
        (0..10_000)
            .map(|i| json!({"id": i}))
            .find(|item| wanted(sample_point(item)))
            .unwrap()
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"z": [ {"y": 2, "x": "é\n"} ], "c": null}}"#)
                .unwrap();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":null,"z":[{"x":"é\n","y":2}]},"b":1}"#
        );
    }

    #[test]
    fn same_item_always_gets_the_same_decision() {
        let conditions = sampling(10.0);
        let item = json!({"Labels": [{"Name": "Person", "Confidence": 99.1}]});
        let first = conditions.evaluate(&item).unwrap();
        for _ in 0..3 {
            assert_eq!(conditions.evaluate(&item).unwrap(), first);
        }
        assert_eq!(sample_point(&item), sample_point(&item.clone()));
    }

    #[test]
    fn reordered_object_keys_get_the_same_decision() {
        let a: Value = serde_json::from_str(
            r#"{"File": "f.csv", "Line": "3", "Classes": [{"Name": "A", "Score": 0.5}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"Classes": [{"Score": 0.5, "Name": "A"}], "Line": "3", "File": "f.csv"}"#,
        )
        .unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(sample_point(&a), sample_point(&b));
        for p in [1.0, 10.0, 50.0, 90.0] {
            assert_eq!(
                sampling(p).evaluate(&a).unwrap().flagged,
                sampling(p).evaluate(&b).unwrap().flagged
            );
        }
    }

    #[test]
    fn different_items_get_different_points() {
        assert_ne!(
            sample_point(&json!({"id": 1})),
            sample_point(&json!({"id": 2}))
        );
        assert_ne!(sample_point(&json!("1")), sample_point(&json!(1)));
    }

    #[test]
    fn ten_percent_of_two_thousand_items_is_roughly_two_hundred() {
        let conditions = sampling(10.0);
        let flagged = (0..2000)
            .filter(|i| {
                conditions
                    .evaluate(&json!({"id": i, "source": "rate-test"}))
                    .unwrap()
                    .flagged
            })
            .count();
        assert!(
            (140..=260).contains(&flagged),
            "{flagged} of 2000 flagged at 10%"
        );
    }

    #[test]
    fn points_spread_over_the_whole_range() {
        let points: Vec<f64> = (0..2000).map(|i| sample_point(&json!([i]))).collect();
        assert!(points.iter().all(|p| (0.0..100.0).contains(p)));
        for decile in 0..10 {
            let lo = decile as f64 * 10.0;
            let n = points
                .iter()
                .filter(|p| (lo..lo + 10.0).contains(*p))
                .count();
            assert!(
                (140..=260).contains(&n),
                "{n} points in [{lo}, {})",
                lo + 10.0
            );
        }
    }

    #[test]
    fn raising_the_percentage_only_adds_items() {
        for i in 0..500 {
            let item = json!({"id": i});
            if sampling(5.0).evaluate(&item).unwrap().flagged {
                assert!(sampling(20.0).evaluate(&item).unwrap().flagged);
            }
        }
    }

    #[test]
    fn one_hundred_percent_samples_everything() {
        let conditions = sampling(100.0);
        assert!((0..200).all(|i| conditions.evaluate(&json!({"id": i})).unwrap().flagged));
    }

    #[test]
    fn aws_sampling_example_flags_items_inside_the_5_percent_and_not_others() {
        // AWS Rekognition Example 3 / Textract Example 3.
        let doc = r#"{"Conditions": [{"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}}]}"#;
        let conditions = ActivationConditions::parse(doc).unwrap();

        let inside = conditions.evaluate(&find_item(|p| p < 5.0)).unwrap();
        assert!(inside.flagged);
        assert_eq!(
            inside.reasons,
            vec!["Sampling: item falls in the 5% sample"]
        );

        let outside = conditions.evaluate(&find_item(|p| p >= 5.0)).unwrap();
        assert!(!outside.flagged);
        assert!(outside.reasons.is_empty());
    }

    #[test]
    fn rejects_percentages_outside_0_01_to_100() {
        for (bad, shown) in [
            ("0", "0"),
            ("100.5", "100.5"),
            ("0.001", "0.001"),
            ("-5", "-5"),
        ] {
            let doc = format!(
                r#"{{"Conditions": [{{"Or": [{{"ConditionType": "Sampling", "ConditionParameters": {{"RandomSamplingPercentage": 1}}}},
                {{"ConditionType": "Sampling", "ConditionParameters": {{"RandomSamplingPercentage": {bad}}}}}]}}]}}"#
            );
            let err = ActivationConditions::parse(&doc).unwrap_err();
            assert_eq!(
                err.path,
                "Conditions[0].Or[1].ConditionParameters.RandomSamplingPercentage"
            );
            assert_eq!(
                err.message,
                format!(
                    "{shown} is out of range: RandomSamplingPercentage must be from 0.01 to 100"
                )
            );
        }
    }

    #[test]
    fn requires_the_percentage() {
        let err = ActivationConditions::from_value(&json!({"Conditions": [
            {"ConditionType": "Sampling", "ConditionParameters": {}}
        ]}))
        .unwrap_err();
        assert_eq!(
            err.path,
            "Conditions[0].ConditionParameters.RandomSamplingPercentage"
        );
        assert_eq!(
            err.message,
            "missing: Sampling requires RandomSamplingPercentage (the share of items to review, from 0.01 to 100)"
        );
    }
}
