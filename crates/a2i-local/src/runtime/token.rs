//! ListHumanLoops NextTokens: opaque to clients, but carrying the list position and the
//! query they belong to, so a token is refused when it is garbage or is replayed with a
//! different FlowDefinitionArn, SortOrder or time filter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, Violations};
use crate::loops::{Cursor, SortOrder};

const TOKEN_VERSION: u32 = 1;

/// What a token is bound to: the parts of the query that define the result set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenScope {
    /// FlowDefinitionArn.
    #[serde(rename = "f")]
    pub flow_definition_arn: String,
    /// SortOrder.
    #[serde(rename = "o")]
    pub sort_order: SortOrder,
    /// CreationTimeAfter in epoch milliseconds.
    #[serde(rename = "a")]
    pub created_after_ms: Option<i64>,
    /// CreationTimeBefore in epoch milliseconds.
    #[serde(rename = "b")]
    pub created_before_ms: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Token {
    v: u32,
    #[serde(flatten)]
    scope: TokenScope,
    #[serde(rename = "c")]
    cursor: Cursor,
}

/// Encodes the position after which the next page starts.
pub fn encode(scope: &TokenScope, cursor: Cursor) -> String {
    let token = Token {
        v: TOKEN_VERSION,
        scope: scope.clone(),
        cursor,
    };
    // Serializing plain data cannot fail; an empty token would be refused on use anyway.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes `raw`, checking that it was issued for `scope`.
pub fn decode(raw: &str, scope: &TokenScope) -> Result<Cursor, ApiError> {
    let token = URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Token>(&bytes).ok())
        .filter(|t| t.v == TOKEN_VERSION);
    let mut v = Violations::new();
    match token {
        None => v.value(
            "nextToken",
            raw,
            "be a NextToken returned by an earlier ListHumanLoops call",
        ),
        Some(t) if &t.scope != scope => v.value(
            "nextToken",
            raw,
            "be used with the same FlowDefinitionArn, SortOrder, CreationTimeAfter and \
             CreationTimeBefore as the call that returned it",
        ),
        Some(t) => return Ok(t.cursor),
    }
    v.into_result()?;
    Err(ApiError::Validation("invalid NextToken".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> TokenScope {
        TokenScope {
            flow_definition_arn: "arn".into(),
            sort_order: SortOrder::Ascending,
            created_after_ms: Some(1),
            created_before_ms: None,
        }
    }

    #[test]
    fn a_token_round_trips_within_its_scope() {
        let cursor = Cursor {
            creation_ms: 1_600_000_000_000,
            seq: 42,
        };
        let token = encode(&scope(), cursor);
        assert_eq!(decode(&token, &scope()).unwrap(), cursor);
    }

    #[test]
    fn garbage_and_foreign_tokens_are_refused() {
        let token = encode(
            &scope(),
            Cursor {
                creation_ms: 0,
                seq: 0,
            },
        );
        let other = TokenScope {
            sort_order: SortOrder::Descending,
            ..scope()
        };
        let err = decode(&token, &other).unwrap_err();
        assert!(err.message().contains("'nextToken'"));
        for garbage in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode(b"{\"v\":9}")] {
            assert!(decode(garbage, &scope()).is_err(), "{garbage}");
        }
    }
}
