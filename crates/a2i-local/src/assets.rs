//! Static assets served under `/_local/assets/` on the A2I port: a2i-local's own
//! implementation of the Crowd HTML Elements (`crowd-html-elements.js`), which task pages load
//! in place of AWS's script (there is no internet locally, and AWS's script is not ours to ship).
//!
//! The asset is embedded in the binary, so serving it needs no files at run time.
//! `docs/crowd-elements.md` documents the elements and the submission contract.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use hyper::{Method, Response, StatusCode};

use crate::http::ResponseBody;

/// The path at which a2i-local serves its Crowd HTML Elements script; a renderer rewrites
/// AWS's documented `<script src="https://assets.crowd.aws/crowd-html-elements.js">` to it.
pub const CROWD_ELEMENTS_PATH: &str = "/_local/assets/crowd-html-elements.js";

/// The script itself (see its header comment for the submission contract).
pub const CROWD_ELEMENTS_JS: &str = include_str!("../assets/crowd/crowd-html-elements.js");

const JS_CONTENT_TYPE: &str = "application/javascript;charset=UTF-8";

/// The asset for a request, or `None` when the path is not an asset (the caller answers it).
/// GET sends the body; HEAD sends the same headers without it.
pub fn serve(method: &Method, path: &str) -> Option<Response<ResponseBody>> {
    if path != CROWD_ELEMENTS_PATH || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(CROWD_ELEMENTS_JS.as_bytes())
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JS_CONTENT_TYPE));
    // Served from memory: revalidating costs nothing, and a rebuilt a2i-local may change it.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if method == Method::HEAD {
        headers.insert(
            hyper::header::CONTENT_LENGTH,
            HeaderValue::from(CROWD_ELEMENTS_JS.len()),
        );
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn get_serves_the_embedded_script_as_javascript() {
        let response = serve(&Method::GET, CROWD_ELEMENTS_PATH).expect("the asset path is served");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/javascript;charset=UTF-8"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.as_ref(), CROWD_ELEMENTS_JS.as_bytes());
        assert!(CROWD_ELEMENTS_JS.contains("customElements.define"));
    }

    #[tokio::test]
    async fn head_has_the_length_and_no_body() {
        let response = serve(&Method::HEAD, CROWD_ELEMENTS_PATH).expect("the asset path is served");
        assert_eq!(
            response.headers()[hyper::header::CONTENT_LENGTH],
            CROWD_ELEMENTS_JS.len().to_string().as_str()
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());
    }

    #[test]
    fn other_paths_and_methods_are_not_assets() {
        assert!(serve(&Method::GET, "/_local/assets/other.js").is_none());
        assert!(serve(&Method::GET, "/_local/assets/").is_none());
        assert!(serve(&Method::POST, CROWD_ELEMENTS_PATH).is_none());
    }
}
