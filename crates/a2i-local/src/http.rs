//! Small HTTP helpers shared by the A2I runtime and the control surface: the response body
//! type, JSON responses, bounded body reading and query-string parsing.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::Serialize;

/// The body of every response the A2I port sends: small, fully buffered JSON.
pub type ResponseBody = Full<Bytes>;

/// The largest request body the A2I port accepts. InputContent may hold 3,145,728
/// characters; JSON escaping can make each one up to 12 bytes, so the bound is generous and
/// exists only to keep a misbehaving client from exhausting memory.
pub const MAX_REQUEST_BODY: usize = 40 * 1024 * 1024;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than [`MAX_REQUEST_BODY`].
    #[error("the request body exceeds {MAX_REQUEST_BODY} bytes")]
    TooLarge,
    /// The connection failed while the body was being read.
    #[error("the request body could not be read: {0}")]
    Read(String),
}

/// Reads a whole request body, refusing bodies larger than [`MAX_REQUEST_BODY`].
pub async fn read_body(body: Incoming) -> Result<Bytes, BodyError> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(BodyError::TooLarge)
            } else {
                Err(BodyError::Read(err.to_string()))
            }
        }
    }
}

/// Builds a JSON response with the given status; serialization of our own types cannot fail
/// in practice, and if it does the client gets a 500 rather than a panic.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<ResponseBody> {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "response serialization failed");
            let mut response = Response::new(Full::new(Bytes::from_static(
                br#"{"message":"response serialization failed","Message":"response serialization failed"}"#,
            )));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// One query-string parameter, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    /// The decoded name.
    pub name: String,
    /// The decoded value (empty when the parameter has no `=`).
    pub value: String,
}

/// Why a query string could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("query parameter {name:?} is not valid percent-encoded UTF-8")]
pub struct QueryError {
    /// The raw (still encoded) parameter name.
    pub name: String,
}

/// Splits and percent-decodes a query string.
///
/// Decoding follows RFC 3986 (as SigV4 canonicalization does): `%XX` is decoded and `+` is
/// kept as a literal plus, because SDKs encode a plus in a value as `%2B` and a timestamp
/// offset such as `+01:00` must survive.
pub fn parse_query(query: Option<&str>) -> Result<Vec<QueryParam>, QueryError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |raw: &str| {
            percent_decode_str(raw)
                .decode_utf8()
                .map(|cow| cow.into_owned())
                .map_err(|_| QueryError {
                    name: raw_name.to_owned(),
                })
        };
        params.push(QueryParam {
            name: decode(raw_name)?,
            value: decode(raw_value)?,
        });
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded_and_plus_is_kept() {
        let params = parse_query(Some("A=2020-02-24T00%3A00%3A00%2B01%3A00&B=x+y&C")).unwrap();
        assert_eq!(params[0].value, "2020-02-24T00:00:00+01:00");
        assert_eq!(params[1].value, "x+y");
        assert_eq!(params[2].name, "C");
        assert_eq!(params[2].value, "");
    }

    #[test]
    fn query_with_invalid_utf8_is_refused() {
        assert!(parse_query(Some("A=%FF")).is_err());
    }
}
