//! Harness for the Crowd HTML Elements browser tests: a real headless Chromium driven over
//! WebDriver (Debian's `chromium` + `chromedriver`, installed by `scripts/browser.sh`), a
//! started a2i-local serving the script, and a tiny page server for the task pages (it also
//! records what a page POSTs to its submit URL).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use a2i_local::{LocalA2i, LocalA2iHandle, CROWD_ELEMENTS_PATH};
use bytes::Bytes;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// How to get the browser when it is missing (the tests fail, never skip, without it).
pub const INSTALL_HINT: &str = "run `bash scripts/browser.sh` (installs Debian's chromium and \
     chromium-driver with apt), or set CHROMIUM and CHROMEDRIVER to their paths";

/// How long a page may take to reach a state the test waits for.
const WAIT: Duration = Duration::from_secs(15);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        return path.is_file().then_some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply the page server gives to a POST.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
}

/// What the page server holds: pages by path, canned answers to POSTs, and what was POSTed.
#[derive(Default)]
struct ServerState {
    pages: HashMap<String, String>,
    post_replies: HashMap<String, Vec<Canned>>,
    posts: Vec<(String, String, Value)>,
}

/// One browser session plus everything the page needs.
pub struct Harness {
    pub client: Client,
    pub local: LocalA2iHandle,
    pages_addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    server: tokio::task::JoinHandle<()>,
    _driver: Driver,
}

impl Harness {
    /// Starts a2i-local, the page server, chromedriver and a headless Chromium session.
    /// Panics with [`INSTALL_HINT`] when Chromium or chromedriver is missing.
    pub async fn start() -> Harness {
        let chromium = find_program("CHROMIUM", &["chromium", "chromium-browser"])
            .unwrap_or_else(|| panic!("Chromium was not found: {INSTALL_HINT}"));
        let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver was not found: {INSTALL_HINT}"));

        let local = LocalA2i::builder().start().await.expect("a2i-local starts");

        let state = Arc::new(Mutex::new(ServerState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the page server binds");
        let pages_addr = listener
            .local_addr()
            .expect("the page server has an address");
        let server = tokio::spawn(serve_pages(listener, state.clone()));

        let driver = start_driver(&chromedriver);
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,1000"
                ]
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|err| {
                panic!("no Chromium session through chromedriver ({err}); {INSTALL_HINT}")
            });
        Harness {
            client,
            local,
            pages_addr,
            state,
            server,
            _driver: driver,
        }
    }

    /// The script URL a task page loads (a2i-local's own Crowd HTML Elements).
    pub fn script_url(&self) -> String {
        format!("{}{}", self.local.a2i_endpoint(), CROWD_ELEMENTS_PATH)
    }

    /// `http://127.0.0.1:port/path` on the page server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.pages_addr)
    }

    /// Serves `body` (the task template's HTML) as a page that loads the script the way AWS
    /// templates do (a script tag before the crowd-form) and records every `crowd-submit`
    /// answer in `window.__answers`; opens it and waits until the elements are rendered.
    pub async fn open(&self, path: &str, body: &str) {
        let html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{path}</title>\
             <script>window.__answers = []; document.addEventListener('crowd-submit', \
             function (e) {{ window.__answers.push(e.detail.answerContent); }});</script>\
             </head><body><script src=\"{}\"></script>\n{body}\n</body></html>",
            self.script_url()
        );
        self.open_raw(path, html).await;
    }

    /// Serves a complete page as it is, without opening it.
    pub fn add_page(&self, path: &str, html: &str) {
        self.state
            .lock()
            .expect("page state")
            .pages
            .insert(path.to_owned(), html.to_owned());
    }

    /// Serves a complete page as it is and opens it.
    pub async fn open_raw(&self, path: &str, html: String) {
        self.add_page(path, &html);
        self.client
            .goto(&self.url(path))
            .await
            .expect("the page opens");
        self.wait_for_js("return !!window.CrowdLocal && document.readyState === 'complete'")
            .await;
    }

    /// Makes the page server answer the next POSTs to `path` with these replies, in order
    /// (the last one repeats).
    pub fn reply_to_posts(&self, path: &str, replies: Vec<Canned>) {
        self.state
            .lock()
            .expect("page state")
            .post_replies
            .insert(path.to_owned(), replies);
    }

    /// Every POST so far: (path, content type, JSON body).
    pub fn posts(&self) -> Vec<(String, String, Value)> {
        self.state.lock().expect("page state").posts.clone()
    }

    /// Runs a script and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|err| panic!("script failed ({err}): {script}"))
    }

    /// Waits until a script returns true.
    pub async fn wait_for_js(&self, script: &str) {
        let started = Instant::now();
        loop {
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "timed out after {WAIT:?} waiting for: {script}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks the element a CSS selector finds (as a person would: WebDriver moves the
    /// pointer there and clicks, so it must be visible and not covered).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .click()
            .await
            .unwrap_or_else(|err| panic!("cannot click {css}: {err}"));
    }

    /// Types text into the element a CSS selector finds (key by key, as a person would).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("cannot type into {css}: {err}"));
    }

    /// The visible text of the element a CSS selector finds.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .text()
            .await
            .unwrap_or_else(|err| panic!("no text for {css}: {err}"))
    }

    /// Whether the element a CSS selector finds is displayed.
    pub async fn displayed(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Clicks the automatic Submit button.
    pub async fn submit(&self) {
        self.click("crowd-form .crowd-local-submit").await;
    }

    /// The answers the page's `crowd-submit` events carried so far.
    pub async fn answers(&self) -> Vec<Value> {
        match self.js("return window.__answers;").await {
            Value::Array(answers) => answers,
            other => panic!("window.__answers is not an array: {other}"),
        }
    }

    /// Waits for the n-th (1-based) submitted answer and returns it.
    pub async fn answer_number(&self, n: usize) -> Value {
        self.wait_for_js(&format!("return window.__answers.length >= {n};"))
            .await;
        self.answers().await.swap_remove(n - 1)
    }

    /// Ends the browser session and the servers.
    pub async fn finish(self) {
        let _ = self.client.close().await;
        self.server.abort();
        self.local.shutdown().await;
    }
}

fn start_driver(chromedriver: &PathBuf) -> Driver {
    // A free port: bind, read it, release it; chromedriver takes it right after.
    let port = StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port for chromedriver");
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("chromedriver does not start ({err}); {INSTALL_HINT}"));
    let driver = Driver { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen on port {port} within 20 s; {INSTALL_HINT}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    driver
}

async fn serve_pages(listener: tokio::net::TcpListener, state: Arc<Mutex<ServerState>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, state.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<ServerState>>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let reply = |status: u16, content_type: &str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            content_type.parse().expect("a valid content type"),
        );
        response
    };
    if method == hyper::Method::POST {
        let body = request
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let json: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        let mut state = state.lock().expect("page state");
        state.posts.push((path.clone(), content_type, json));
        let canned = match state.post_replies.get_mut(&path) {
            Some(replies) if replies.len() > 1 => replies.remove(0),
            Some(replies) if replies.len() == 1 => replies[0].clone(),
            _ => Canned {
                status: 404,
                body: r#"{"message":"no such page"}"#.to_owned(),
            },
        };
        return Ok(reply(canned.status, "application/json", canned.body));
    }
    let page = state.lock().expect("page state").pages.get(&path).cloned();
    Ok(match page {
        Some(html) => reply(200, "text/html;charset=utf-8", html),
        None => reply(404, "text/plain", "no such page".to_owned()),
    })
}

/// A file of the repository (templates, sample inputs).
pub fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// A shipped worker template rendered with `input` as `task.input` by a2i-local's renderer
/// (preview URLs for `grant_read_access`), without AWS's script tag (the page loads the local
/// script instead): the body [`Harness::open`] takes.
pub fn rendered_template(template: &str, input: &Value) -> String {
    let source = repo_file(&format!("worker-templates/{template}.liquid.html"));
    let parsed = a2i_local::render::parse_template(&source).expect("the template parses");
    a2i_local::render::render_with(
        &parsed,
        input,
        &a2i_local::render::PreviewPresign,
        &a2i_local::render::Limits::human_loop(),
    )
    .unwrap_or_else(|e| panic!("{template} renders: {e:?}"))
    .replace(
        r#"<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>"#,
        "",
    )
}

/// `sample-data/builtin-input/<name>.json`.
pub fn builtin_input(name: &str) -> Value {
    serde_json::from_str(&repo_file(&format!(
        "sample-data/builtin-input/{name}.json"
    )))
    .expect("a JSON sample")
}

/// Whether `id` has the form of a random (version 4) UUID, as Textract block ids do.
pub fn is_uuid_v4(id: &Value) -> bool {
    let Some(id) = id.as_str() else {
        return false;
    };
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}
