//! The worker portal under `/_local/portal/` on the A2I port: a person picks a worker name,
//! sees the queue of each flow definition, takes the next task, works on it in the flow
//! definition's task UI (rendered with the loop's input, with the local Crowd HTML Elements)
//! and submits or releases it. Owns the holds (who works on which loop since when); answers go
//! to the engine one worker at a time (`Engine::submit_answers`), which completes a loop once
//! its TaskCount distinct workers answered.
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/_local/portal/` | the worker form, or the queue per flow definition |
//! | POST | `/_local/portal/worker` | form `worker=NAME`: sets the `a2i_worker` cookie |
//! | POST | `/_local/portal/flows/{flow}/start` | holds the next task for this worker, goes to it |
//! | GET | `/_local/portal/tasks/{loop}` | the task page (held tasks only) |
//! | POST | `/_local/portal/tasks/{loop}/submit` | `{"answerContent":{…}}`: this worker's answer |
//! | POST | `/_local/portal/tasks/{loop}/release` | gives the task back to the queue |
//! | GET | `/_local/portal/tasks/{loop}/done` | what became of the loop; output.json link |
//!
//! Loopback only, so there is no login: the worker name is whatever the person types. Item
//! content and answers never go to logs; every dynamic text on a page is HTML-escaped.

mod pages;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::engine::Engine;

use crate::http::{json_response, read_body, ResponseBody};
use crate::loops::{LoopPolicy, LoopRecord, LoopStatus};
use crate::output::WorkerAnswer;
use crate::render::Presign;
use crate::sagemaker::ControlPlane;

/// Where the portal is served.
pub const PORTAL_PREFIX: &str = "/_local/portal";
/// The cookie that keeps the worker name.
pub const WORKER_COOKIE: &str = "a2i_worker";
/// The script tag A2I's documentation tells templates to use.
pub const CROWD_SCRIPT_TAG: &str =
    r#"<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>"#;
/// The longest worker name.
pub const MAX_WORKER_LEN: usize = 64;

/// Finds where the reviewed result of a completed loop is written (bucket, key), so the
/// portal links a finished task to it; the app's status handler decides the layout.
pub type ReviewedResultLocator = Arc<dyn Fn(&LoopRecord) -> Option<(String, String)> + Send + Sync>;

/// One worker's hold on a loop.
#[derive(Debug, Clone)]
struct Hold {
    worker: String,
    accepted_ms: i64,
    deadline: Instant,
}

#[derive(Debug, Default)]
struct State {
    holds: HashMap<String, Vec<Hold>>,

    /// Holds that expired, by (loop, worker), so a late submit gets a clear message.
    expired: HashMap<(String, String), i64>,
}

/// The portal's state and what it reads.
pub struct Portal {
    engine: Arc<Engine>,
    plane: Arc<ControlPlane>,
    presigner: Arc<dyn Presign>,
    reviewed: Option<ReviewedResultLocator>,
    time_limit_override: Option<Duration>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("reviewed", &self.reviewed.is_some())
            .field("time_limit_override", &self.time_limit_override)
            .finish_non_exhaustive()
    }
}

/// Why a portal request was refused (shown to the person; never item content).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    NoWorker,
    BadRequest(String),
    NotFound(String),
    Gone(String),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Portal {
    /// A portal over `engine`'s loops and `plane`'s flow definitions; `presigner` signs the
    /// `grant_read_access` URLs and the output links.
    pub fn new(
        engine: Arc<Engine>,
        plane: Arc<ControlPlane>,
        presigner: Arc<dyn Presign>,
        reviewed: Option<ReviewedResultLocator>,
        time_limit_override: Option<Duration>,
    ) -> Self {
        Self {
            engine,
            plane,
            presigner,
            reviewed,
            time_limit_override,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn time_limit(&self, policy: &LoopPolicy) -> Duration {
        self.time_limit_override
            .unwrap_or_else(|| policy.task_time_limit())
    }

    /// Drops holds past their time limit (they go back to the queue).
    fn sweep(&self, state: &mut State) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (name, holds) in state.holds.iter_mut() {
            holds.retain(|h| {
                let live = h.deadline > now;
                if !live {
                    expired.push((name.clone(), h.worker.clone()));
                }
                live
            });
        }
        state.holds.retain(|_, h| !h.is_empty());
        for key in expired {
            tracing::info!(loop_name = %key.0, "portal hold expired; the task is back in the queue");
            state.expired.insert(key, now_ms());
        }
        // Late-submit notes are only needed while their loop can still be answered.
        let store = self.engine.store();
        state.expired.retain(|(name, _), _| {
            store
                .get(name)
                .is_ok_and(|r| r.status == LoopStatus::InProgress)
        });
    }

    /// Whether `worker` may take `record` now: not answered nor held by them, and fewer
    /// holds than the answers the loop still needs.
    fn available_to(state: &State, record: &LoopRecord, worker: &str) -> bool {
        let holds = state.holds.get(&record.name).map_or(&[][..], Vec::as_slice);
        !holds.iter().any(|h| h.worker == worker)
            && !record.answered_by(worker)
            && holds.len() + record.answers.len() < record.policy.required_answers()
    }

    /// The queue as `worker` sees it: one row per flow definition with loops waiting.
    fn queue(&self, worker: &str) -> Vec<pages::QueueRow> {
        let mut state = self.lock();
        self.sweep(&mut state);
        let mut rows: Vec<pages::QueueRow> = Vec::new();
        for record in self.engine.store().waiting_for_review() {
            let policy = &record.policy;
            let flow_name = policy.flow_definition_name.clone();
            let open = Self::available_to(&state, &record, worker);
            let held = state
                .holds
                .get(&record.name)
                .is_some_and(|h| h.iter().any(|h| h.worker == worker));
            let row = match rows.iter_mut().find(|r| r.flow == flow_name) {
                Some(row) => row,
                None => {
                    rows.push(pages::QueueRow {
                        flow: flow_name.clone(),
                        title: policy.task_title.clone(),
                        description: policy.task_description.clone(),
                        keywords: policy.task_keywords.clone(),
                        waiting: 0,
                        held: Vec::new(),
                        has_ui: policy.human_task_ui_arn.is_some(),
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            if open {
                row.waiting += 1;
            }
            if held {
                row.held.push(record.name.clone());
            }
        }
        rows
    }

    /// Holds the oldest loop of `flow` that `worker` may take.
    fn start(&self, worker: &str, flow: &str) -> Option<String> {
        let mut state = self.lock();
        self.sweep(&mut state);
        for record in self.engine.store().waiting_for_review() {
            if record.policy.flow_definition_name != flow
                || !Self::available_to(&state, &record, worker)
            {
                continue;
            }
            let limit = self.time_limit(&record.policy);
            state
                .expired
                .remove(&(record.name.clone(), worker.to_owned()));
            state
                .holds
                .entry(record.name.clone())
                .or_default()
                .push(Hold {
                    worker: worker.to_owned(),
                    accepted_ms: now_ms(),
                    deadline: Instant::now() + limit,
                });
            tracing::info!(loop_name = %record.name, "portal task taken");
            return Some(record.name);
        }
        None
    }

    /// The live hold of `worker` on `name`, or why there is none.
    fn hold_of(&self, state: &mut State, name: &str, worker: &str) -> Result<Hold, Refusal> {
        self.sweep(state);
        if let Some(hold) = state
            .holds
            .get(name)
            .and_then(|h| h.iter().find(|h| h.worker == worker))
        {
            return Ok(hold.clone());
        }
        if state
            .expired
            .contains_key(&(name.to_owned(), worker.to_owned()))
        {
            return Err(Refusal::Gone(
                "Your time for this task ran out (the task's time limit passed); it went back \
                 to the queue and this answer was not recorded."
                    .to_owned(),
            ));
        }
        Err(Refusal::NotFound(
            "You do not hold this task. Take a task from the queue first.".to_owned(),
        ))
    }

    fn release(&self, name: &str, worker: &str) -> Result<(), Refusal> {
        let mut state = self.lock();
        self.hold_of(&mut state, name, worker)?;
        if let Some(holds) = state.holds.get_mut(name) {
            holds.retain(|h| h.worker != worker);
        }
        tracing::info!(loop_name = %name, "portal task released");
        Ok(())
    }

    /// Gives `worker`'s answer to the engine, which completes the loop once it has its
    /// TaskCount distinct answers.
    async fn submit(
        &self,
        name: &str,
        worker: &str,
        answer_content: serde_json::Value,
    ) -> Result<(), Refusal> {
        if !answer_content.is_object() {
            return Err(Refusal::BadRequest(
                "answerContent must be a JSON object".to_owned(),
            ));
        }
        let hold = {
            let mut state = self.lock();
            let hold = self.hold_of(&mut state, name, worker)?;
            // Taken out while the engine works, so a second submit of the same page cannot
            // race it; put back if output.json could not be written.
            if let Some(holds) = state.holds.get_mut(name) {
                holds.retain(|h| h.worker != worker);
            }
            hold
        };
        let spent = ((now_ms() - hold.accepted_ms).max(0) as f64) / 1000.0;
        let answer = WorkerAnswer {
            answer_content,
            worker_id: Some(worker.to_owned()),
            time_spent_in_seconds: Some(spent),
            acceptance_time: chrono::DateTime::from_timestamp_millis(hold.accepted_ms),
            worker_metadata: None,
        };
        match self.engine.submit_answers(name, &[answer]).await {
            Ok(progress) => {
                tracing::info!(
                    loop_name = %name,
                    answered = progress.answered,
                    required = progress.required,
                    "portal answer submitted"
                );
                Ok(())
            }
            Err(err) => {
                // Engine messages name loops, workers and paths, never answer content.
                tracing::info!(loop_name = %name, error = %err, "portal answer refused");
                if matches!(err, crate::engine::EngineError::Output(_)) {
                    self.lock()
                        .holds
                        .entry(name.to_owned())
                        .or_default()
                        .push(hold);
                }
                Err(Refusal::Gone(format!("The answer was not recorded: {err}")))
            }
        }
    }

    /// The task page of `name` for `worker`.
    fn task_page(&self, name: &str, worker: &str) -> Result<String, Refusal> {
        let hold = {
            let mut state = self.lock();
            self.hold_of(&mut state, name, worker)?
        };
        let record = self
            .engine
            .store()
            .get(name)
            .map_err(|_| Refusal::NotFound("This task no longer exists.".to_owned()))?;
        let policy = &record.policy;
        let remaining = hold.deadline.saturating_duration_since(Instant::now());
        let base = format!("{PORTAL_PREFIX}/tasks/{}", encode_segment(name));
        let body = match policy
            .human_task_ui_arn
            .as_deref()
            .and_then(|arn| self.plane.human_task_ui_by_arn(arn))
        {
            None => Err(
                "This loop's flow definition has no task UI on this server, so there is nothing \
                 to show."
                    .to_owned(),
            ),
            // A loop's input may be 3 MiB (a built-in Textract input carries the whole
            // AnalyzeDocument answer), far over RenderUiTemplate's 128,000 characters.
            Some(ui) => crate::render::render_str_with(
                &ui.content,
                &record.input_content,
                self.presigner.as_ref(),
                &crate::render::Limits::human_loop(),
            )
            .map(|html| {
                local_crowd_script(&html, &format!("{base}/submit"), &format!("{base}/release"))
            })
            .map_err(|errors| {
                let codes: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                format!("The task UI could not be rendered: {}", codes.join("; "))
            }),
        };
        Ok(pages::task(&pages::TaskPage {
            worker,
            loop_name: name,
            title: policy.task_title.as_deref(),
            remaining_secs: remaining.as_secs(),
            release_url: &format!("{base}/release"),
            body,
        }))
    }

    /// What became of `name`, for the page after a submit.
    fn done_page(&self, name: &str, worker: &str) -> Result<String, Refusal> {
        let record = self
            .engine
            .store()
            .get(name)
            .map_err(|_| Refusal::NotFound("This task no longer exists.".to_owned()))?;
        let count = record.policy.required_answers();
        let answered = record.answers.len();
        let output = record
            .output_s3_uri
            .as_deref()
            .and_then(split_s3_uri)
            .and_then(|(b, k)| self.presigner.presign_get(&b, &k).ok());
        let reviewed = match (&self.reviewed, record.status) {
            (Some(locate), LoopStatus::Completed) => locate(&record)
                .and_then(|(bucket, key)| self.presigner.presign_get(&bucket, &key).ok()),
            _ => None,
        };
        Ok(pages::done(&pages::DonePage {
            worker,
            loop_name: name,
            status: record.status.as_str(),
            answered,
            task_count: count,
            output_url: output.as_deref(),
            reviewed_url: reviewed.as_deref(),
        }))
    }
}

/// `s3://bucket/key` → (bucket, key).
fn split_s3_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    Some((bucket.to_owned(), key.to_owned()))
}

/// Points the documented crowd script tag at the local implementation, with the submit and
/// release URLs; adds the tag when the template has none.
fn local_crowd_script(html: &str, submit: &str, release: &str) -> String {
    let tag = format!(
        r#"<script src="{}" data-submit-url="{}" data-release-url="{}"></script>"#,
        crate::assets::CROWD_ELEMENTS_PATH,
        pages::escape(submit),
        pages::escape(release)
    );
    let globals = format!(
        "<script>window.CROWD_LOCAL_SUBMIT_URL={};window.CROWD_LOCAL_RELEASE_URL={};</script>",
        js_string(submit),
        js_string(release)
    );
    if html.contains(CROWD_SCRIPT_TAG) {
        format!(
            "{globals}{}",
            html.replacen(CROWD_SCRIPT_TAG, &tag, 1)
                .replace(CROWD_SCRIPT_TAG, "")
        )
    } else {
        format!("{globals}{tag}{html}")
    }
}

/// A JSON string literal safe inside a `<script>` element.
fn js_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A worker name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
fn valid_worker(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_WORKER_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn worker_of<B>(request: &Request<B>) -> Option<String> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == WORKER_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| valid_worker(v))
}

/// The value of `field` in an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], field: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != field {
            return None;
        }
        percent_decode_str(&v.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|v| v.trim().to_owned())
    })
}

fn html(status: StatusCode, body: String) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect(to: &str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::default());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn refusal_status(refusal: &Refusal) -> (StatusCode, String) {
    match refusal {
        Refusal::NoWorker => (
            StatusCode::UNAUTHORIZED,
            "Choose a worker name on the portal page first.".to_owned(),
        ),
        Refusal::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
        Refusal::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        Refusal::Gone(m) => (StatusCode::CONFLICT, m.clone()),
    }
}

fn json_refusal(refusal: &Refusal) -> Response<ResponseBody> {
    let (status, message) = refusal_status(refusal);
    json_response(status, &serde_json::json!({ "message": message }))
}

fn page_refusal(refusal: &Refusal) -> Response<ResponseBody> {
    let (status, message) = refusal_status(refusal);
    html(status, pages::message("Cannot show this task", &message))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitBody {
    answer_content: serde_json::Value,
}

/// Serves one request under [`PORTAL_PREFIX`].
pub async fn handle(portal: &Portal, request: Request<Incoming>) -> Response<ResponseBody> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let worker = worker_of(&request);
    let rest = path.strip_prefix(PORTAL_PREFIX).unwrap_or("");
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned())
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, []) => match worker {
            None => html(StatusCode::OK, pages::choose_worker(None)),
            Some(worker) => {
                let rows = portal.queue(&worker);
                html(StatusCode::OK, pages::queue(&worker, &rows))
            }
        },
        (&Method::POST, ["worker"]) => {
            let body = match read_body(request.into_body()).await {
                Ok(b) => b,
                Err(_) => {
                    return html(
                        StatusCode::BAD_REQUEST,
                        pages::choose_worker(Some("The form could not be read.")),
                    )
                }
            };
            match form_field(&body, "worker") {
                Some(name) if valid_worker(&name) => {
                    let mut response = redirect(&format!("{PORTAL_PREFIX}/"));
                    if let Ok(cookie) = HeaderValue::from_str(&format!(
                        "{WORKER_COOKIE}={name}; Path={PORTAL_PREFIX}; SameSite=Strict; HttpOnly"
                    )) {
                        response.headers_mut().insert(SET_COOKIE, cookie);
                    }
                    response
                }
                _ => html(
                    StatusCode::BAD_REQUEST,
                    pages::choose_worker(Some(
                        "A worker name has 1 to 64 letters, digits, '.', '_', '-' or '@'.",
                    )),
                ),
            }
        }
        (&Method::POST, ["flows", flow, "start"]) => {
            let Some(worker) = worker else {
                return redirect(&format!("{PORTAL_PREFIX}/"));
            };
            match portal.start(&worker, flow) {
                Some(name) => redirect(&format!("{PORTAL_PREFIX}/tasks/{}", encode_segment(&name))),
                None => html(
                    StatusCode::OK,
                    pages::message(
                        "No task for you",
                        "No task of this flow definition waits for you now (tasks you answered or hold are not handed out again).",
                    ),
                ),
            }
        }
        (&Method::GET, ["tasks", name]) => match worker {
            None => redirect(&format!("{PORTAL_PREFIX}/")),
            Some(worker) => match portal.task_page(name, &worker) {
                Ok(page) => html(StatusCode::OK, page),
                Err(refusal) => page_refusal(&refusal),
            },
        },
        (&Method::GET, ["tasks", name, "done"]) => match worker {
            None => redirect(&format!("{PORTAL_PREFIX}/")),
            Some(worker) => match portal.done_page(name, &worker) {
                Ok(page) => html(StatusCode::OK, page),
                Err(refusal) => page_refusal(&refusal),
            },
        },
        (&Method::POST, ["tasks", name, action @ ("submit" | "release")]) => {
            let Some(worker) = worker else {
                return json_refusal(&Refusal::NoWorker);
            };
            let name = (*name).to_owned();
            let outcome = if *action == "release" {
                portal
                    .release(&name, &worker)
                    .map(|()| format!("{PORTAL_PREFIX}/"))
            } else {
                let body = match read_body(request.into_body()).await {
                    Ok(b) => b,
                    Err(err) => {
                        return json_refusal(&Refusal::BadRequest(format!(
                            "The submit body could not be read: {err}"
                        )))
                    }
                };
                match serde_json::from_slice::<SubmitBody>(&body) {
                    Err(err) => Err(Refusal::BadRequest(format!(
                        "The submit body must be {{\"answerContent\": {{…}}}}: {} at line {}, column {}",
                        match err.classify() {
                            serde_json::error::Category::Data => "wrong shape",
                            serde_json::error::Category::Syntax => "syntax error",
                            serde_json::error::Category::Eof => "unexpected end",
                            serde_json::error::Category::Io => "read error",
                        },
                        err.line(),
                        err.column()
                    ))),
                    Ok(submit) => portal
                        .submit(&name, &worker, submit.answer_content)
                        .await
                        .map(|()| format!("{PORTAL_PREFIX}/tasks/{}/done", encode_segment(&name))),
                }
            };
            match outcome {
                Ok(to) => json_response(StatusCode::OK, &serde_json::json!({ "redirect": to })),
                Err(refusal) => json_refusal(&refusal),
            }
        }
        _ => html(
            StatusCode::NOT_FOUND,
            pages::message("Not found", "The portal has no such page."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_script_tag_points_at_the_local_elements_with_the_urls() {
        let page = local_crowd_script(
            &format!("<p>x</p>{CROWD_SCRIPT_TAG}<crowd-form></crowd-form>"),
            "/_local/portal/tasks/a/submit",
            "/_local/portal/tasks/a/release",
        );
        assert!(!page.contains("assets.crowd.aws"));
        assert!(page.contains(r#"<script src="/_local/assets/crowd-html-elements.js" data-submit-url="/_local/portal/tasks/a/submit" data-release-url="/_local/portal/tasks/a/release"></script>"#));
        assert!(page.contains(r#"window.CROWD_LOCAL_SUBMIT_URL="/_local/portal/tasks/a/submit""#));
    }

    #[test]
    fn a_template_without_the_tag_still_gets_the_local_elements() {
        let page = local_crowd_script("<crowd-form></crowd-form>", "/s", "/r");
        assert!(page.contains(crate::assets::CROWD_ELEMENTS_PATH));
    }

    #[test]
    fn worker_names_are_bounded_and_plain() {
        assert!(valid_worker("ana.lopez@example"));
        assert!(!valid_worker(""));
        assert!(!valid_worker("a b"));
        assert!(!valid_worker("<script>"));
        assert!(!valid_worker(&"a".repeat(65)));
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            form_field(b"x=1&worker=ana%40x+", "worker").as_deref(),
            Some("ana@x")
        );
        assert_eq!(form_field(b"x=1", "worker"), None);
    }

    #[test]
    fn script_strings_cannot_close_the_script_element() {
        assert_eq!(js_string("</script>"), r#""\u003c/script\u003e""#);
    }

    #[test]
    fn s3_uris_split_into_bucket_and_key() {
        assert_eq!(
            split_s3_uri("s3://b/k/o.json"),
            Some(("b".to_owned(), "k/o.json".to_owned()))
        );
        assert_eq!(split_s3_uri("https://b/k"), None);
    }
}
