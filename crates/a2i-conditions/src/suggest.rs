//! "Did you mean …?" for misspelt names in condition documents.
//!
//! AWS's own examples misspell parameters (`ConfidenceLessThanOrEqual` for
//! `ConfidenceLessThanEquals`), so a rejection that names the intended spelling saves a
//! round trip through the documentation.

/// The known name closest to `unknown`, when it is close enough to be a likely misspelling.
///
/// Case is ignored when measuring, because `and` for `And` is the commonest slip.
pub(crate) fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let unknown = unknown.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&unknown, &k.to_lowercase()), *k))
        .filter(|(distance, k)| *distance <= (k.chars().count() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Levenshtein distance in characters (insertions, deletions, substitutions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPARISONS: &[&str] = &[
        "ConfidenceEquals",
        "ConfidenceLessThan",
        "ConfidenceLessThanEquals",
        "ConfidenceGreaterThan",
        "ConfidenceGreaterThanEquals",
    ];

    #[test]
    fn suggests_the_equals_spelling_for_aws_docs_or_equal_typo() {
        assert_eq!(
            closest("ConfidenceLessThanOrEqual", COMPARISONS),
            Some("ConfidenceLessThanEquals")
        );
        assert_eq!(
            closest("ConfidenceGreaterThanOrEqual", COMPARISONS),
            Some("ConfidenceGreaterThanEquals")
        );
    }

    #[test]
    fn ignores_case_when_suggesting() {
        assert_eq!(closest("and", &["And", "Or"]), Some("And"));
    }

    #[test]
    fn suggests_nothing_for_an_unrelated_name() {
        assert_eq!(closest("Threshold", COMPARISONS), None);
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
