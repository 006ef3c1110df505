//! `demo --interactive`: the demo waits while a person answers the loops in a2i-local's
//! worker portal (played here over plain HTTP, as the portal's page scripts do), then shows
//! the reviewed results, which carry the person's answers.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use a2i_review_cli::demo::{self, DemoOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Output shared with the test while the demo runs.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// One HTTP/1.1 request with the worker cookie; returns the status line, headers and body.
async fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: a2i_worker=tester\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn the_interactive_demo_waits_for_a_person_and_shows_their_answers() {
    let out = Shared::default();
    let mut writer = out.clone();
    let options = DemoOptions {
        interactive: true,
        ..DemoOptions::default()
    };
    let demo = demo::run(&options, &mut writer);
    let person = person(out.clone());
    let (report, ()) = tokio::join!(demo, person);
    let report = report.unwrap_or_else(|e| panic!("{e}\n{}", out.text()));
    assert_eq!(report.rows.len(), 5);
    for row in &report.rows {
        assert_eq!(row.status, "Completed", "{row:?}");
        assert!(row.note.contains("approve"), "{row:?}");
    }
    // The built-in loops, answered in the built-in shapes, keyed by the request source.
    assert_eq!(report.raw_rows.len(), 2);
    assert!(
        report.raw_rows[0]
            .note
            .contains("\"Claim amount:\" \"$1,840\" corrected to \"1840\""),
        "{:?}",
        report.raw_rows[0]
    );
    assert!(
        report.raw_rows[1]
            .note
            .contains("reviewer: no label applies"),
        "{:?}",
        report.raw_rows[1]
    );
    assert!(out
        .text()
        .contains("People answered 7 loops in the worker portal"));
}

/// What the person submits on each flow's task page: the custom template's decision, or the
/// built-in answer shapes, keyed by the request source (built from the task's own input).
fn answer_for(flow: &str, task_input: &serde_json::Value) -> String {
    let content = match flow {
        "a2i-review-demo-forms" => {
            // The selected pair with its value read as "1840".
            let mut blocks = task_input["selectedAiServiceResponse"]["blocks"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let value_word = blocks
                .iter()
                .find(|b| b["entityTypes"][0] == "VALUE")
                .and_then(|v| v["relationships"][0]["ids"][0].as_str())
                .map(str::to_owned);
            for block in &mut blocks {
                if block["id"].as_str() == value_word.as_deref() {
                    block["text"] = "1840".into();
                }
            }
            serde_json::json!({"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": blocks}})
        }
        "a2i-review-demo-photos" => {
            serde_json::json!({"AWS/Rekognition/DetectModerationLabels/Image/V3": {"moderationLabels": []}})
        }
        _ => serde_json::json!({"decision": {"label": "approve"}, "comment": "seen"}),
    };
    serde_json::json!({ "answerContent": content }).to_string()
}

/// A person: waits for the portal URL, then takes and answers every task.
async fn person(out: Shared) {
    let started = Instant::now();
    let url = loop {
        let text = out.text();
        if let Some(url) = text
            .split_whitespace()
            .find(|w| w.starts_with("http://") && w.ends_with("/_local/portal/"))
        {
            break url.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no portal URL in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/_local/portal/")
        .to_owned();
    // The demo keeps waiting while loops are open.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !out.text().contains("People answered"),
        "the demo did not wait:\n{}",
        out.text()
    );

    let mut answered = 0;
    for flow in [
        "a2i-review-demo",
        "a2i-review-demo-forms",
        "a2i-review-demo-photos",
    ] {
        loop {
            let taken = http(
                &addr,
                "POST",
                &format!("/_local/portal/flows/{flow}/start"),
                "",
            )
            .await;
            let Some(location) = taken.lines().find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            }) else {
                break;
            };
            // The location percent-encodes the name ("-" as %2D).
            let loop_name = location
                .trim()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .replace("%2D", "-");
            let pending = http(&addr, "GET", "/_local/pending", "").await;
            let body = pending.split("\r\n\r\n").nth(1).unwrap_or_default();
            let pending: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let input = pending["loops"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["humanLoopName"] == loop_name.as_str())
                .map(|p| p["inputContent"].clone())
                .unwrap_or_default();
            assert!(input.is_object(), "{loop_name} is not pending: {body}");
            let submitted = http(
                &addr,
                "POST",
                &format!("{}/submit", location.trim()),
                &answer_for(flow, &input),
            )
            .await;
            assert!(submitted.starts_with("HTTP/1.1 200"), "{submitted}");
            let done = http(&addr, "GET", &format!("{}/done", location.trim()), "").await;
            assert!(done.contains("id=\"output-link\""), "{done}");
            assert!(
                done.contains("id=\"reviewed-link\" href=\"http://"),
                "the done page links to the reviewed result: {done}"
            );
            answered += 1;
            assert!(answered <= 10, "the queue never empties");
        }
    }
    assert_eq!(
        answered, 7,
        "the sample data flags five items, the raw media two objects"
    );
}
