//! How the reasons of leaves are worded where several matches share one reason. A leaf
//! module: the condition types use it, and evaluation uses the condition types.

/// How many matches one reason lists before it only counts the rest.
const MAX_HITS_LISTED: usize = 5;

/// Joins the matches of one leaf into its reason, listing at most [`MAX_HITS_LISTED`] so a
/// document with hundreds of matching keys still gives a readable sentence.
pub(crate) fn list_hits(hits: Vec<String>) -> String {
    let more = hits.len().saturating_sub(MAX_HITS_LISTED);
    let mut text = hits
        .into_iter()
        .take(MAX_HITS_LISTED)
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_lists_five_matches_then_counts_the_rest() {
        let hits: Vec<String> = (1..=8).map(|i| format!("m{i}")).collect();
        assert_eq!(list_hits(hits), "m1; m2; m3; m4; m5; and 3 more");
        assert_eq!(list_hits(vec!["only".into()]), "only");
    }
}
