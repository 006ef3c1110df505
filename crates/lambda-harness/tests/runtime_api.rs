//! The harness against real `lambda_runtime` bootstraps (the hello-world and the probe).

use std::time::Duration;

use lambda_harness::{Function, HarnessError, LogStream, Outcome};
use serde_json::{json, Value};

const HELLO: &str = env!("CARGO_BIN_EXE_hello-bootstrap");
const PROBE: &str = env!("CARGO_BIN_EXE_probe-bootstrap");

fn json_of(outcome: &Outcome) -> Value {
    serde_json::from_slice(outcome.payload()).expect("JSON payload")
}

#[tokio::test]
async fn hello_world_starts_and_answers_each_event_with_its_own_request_id() {
    let mut f = Function::new(HELLO).start().await.expect("starts");
    assert!(f.init_duration() > Duration::ZERO);
    let first = f.invoke_json(&json!({"a": 1})).await.expect("answered");
    let second = f.invoke_json(&json!({"a": 2})).await.expect("answered");
    assert_ne!(first.request_id, second.request_id);
    for i in [&first, &second] {
        let body = json_of(&i.outcome);
        assert_eq!(body["message"], "hello");
        assert_eq!(body["requestId"], i.request_id.as_str());
    }
    let report = f.finish().await;
    assert!(report.peak_rss_kib.is_some_and(|k| k > 0));
    assert!(report.exit.is_some(), "the process was stopped and reaped");
}

#[tokio::test]
async fn the_bootstrap_gets_lambdas_headers_and_environment_but_not_ours() {
    let mut f = Function::new(PROBE)
        .name("probe-fn")
        .memory_mb(512)
        .region("eu-west-1")
        .env("PROBE_EXTRA", "x")
        .timeout(Duration::from_secs(20))
        .start()
        .await
        .expect("starts");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let i = f.invoke_json(&json!({})).await.expect("answered");
    let body = json_of(&i.outcome);
    assert_eq!(body["requestId"], i.request_id.as_str());
    assert_eq!(
        body["arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:probe-fn"
    );
    let deadline = body["deadline"].as_u64().expect("deadline");
    assert!(
        deadline >= before + 19_000 && deadline <= before + 21_000,
        "{deadline} vs {before}"
    );
    assert!(body["traceId"]
        .as_str()
        .is_some_and(|t| t.starts_with("Root=1-")));
    let env = &body["env"];
    assert_eq!(env["function"], "probe-fn");
    assert_eq!(env["memory"], "512");
    assert_eq!(env["region"], "eu-west-1");
    assert_eq!(env["extra"], "x");
    let task_root = std::path::Path::new(PROBE).parent().expect("dir");
    assert_eq!(env["taskRoot"], task_root.display().to_string().as_str());
    assert_eq!(
        env["home"],
        Value::Null,
        "nothing is inherited from the test process"
    );
    f.finish().await;
}

#[tokio::test]
async fn a_handler_error_arrives_with_lambda_runtimes_error_type_and_message() {
    let mut f = Function::new(PROBE).start().await.expect("starts");
    let i = f
        .invoke_json(&json!({"fail": "it broke"}))
        .await
        .expect("answered");
    let error = i.outcome.error().expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("Probe.Failed"));
    assert_eq!(error.error_message.as_deref(), Some("it broke"));
    // lambda_runtime marks handler errors as unhandled in the header; the type is in the body.
    assert_eq!(error.header_error_type.as_deref(), Some("unhandled"));
    // The function keeps serving after an error.
    let ok = f.invoke_json(&json!({"echo": 5})).await.expect("answered");
    assert_eq!(ok.outcome.response().map(|b| &b[..]), Some(&b"5"[..]));
    f.finish().await;
}

#[tokio::test]
async fn stdout_and_stderr_lines_are_captured_per_stream() {
    let mut f = Function::new(PROBE).start().await.expect("starts");
    f.invoke_json(&json!({"print": "line one"}))
        .await
        .expect("answered");
    f.invoke_json(&json!({"print": "line two"}))
        .await
        .expect("answered");
    let logs = f.finish().await.logs;
    let of = |stream| {
        logs.iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(of(LogStream::Stdout), ["line one", "line two"]);
    assert_eq!(of(LogStream::Stderr), ["err: line one", "err: line two"]);
}

#[tokio::test]
async fn peak_rss_follows_what_the_function_allocated() {
    let mut f = Function::new(PROBE).start().await.expect("starts");
    let before = f.peak_rss_kib().expect("readable");
    f.invoke_json(&json!({"allocate_mib": 64}))
        .await
        .expect("answered");
    let report = f.finish().await;
    let after = report.peak_rss_kib.expect("read before stopping");
    assert!(after >= before + 60 * 1024, "{before} KiB -> {after} KiB");
}

#[tokio::test]
async fn a_crash_during_an_invocation_is_reported_as_an_exit() {
    let mut f = Function::new(PROBE).start().await.expect("starts");
    let err = f
        .invoke_json(&json!({"exit": 7}))
        .await
        .expect_err("crashed");
    match err {
        HarnessError::Exited { during, status, .. } => {
            assert_eq!(during, "an invocation");
            assert_eq!(status.and_then(|s| s.code()), Some(7));
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn an_exit_before_the_first_event_is_an_init_failure_with_the_status() {
    let err = Function::new(PROBE)
        .env("PROBE_EXIT_AT_INIT", "1")
        .start()
        .await
        .expect_err("exits");
    match err {
        HarnessError::Exited { during, status, .. } => {
            assert_eq!(during, "init");
            assert_eq!(status.and_then(|s| s.code()), Some(3));
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn an_init_error_post_is_returned_with_its_payload() {
    let err = Function::new(PROBE)
        .env("PROBE_INIT_ERROR", "no config")
        .start()
        .await
        .expect_err("init error");
    match err {
        HarnessError::InitFailed { error, .. } => {
            let error = error.expect("payload");
            assert_eq!(error.error_type.as_deref(), Some("Probe.InitFailed"));
            assert_eq!(error.error_message.as_deref(), Some("no config"));
            assert_eq!(
                error.header_error_type.as_deref(),
                Some("Runtime.InitError")
            );
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn slow_init_and_slow_invocations_time_out() {
    let err = Function::new(PROBE)
        .env("PROBE_INIT_SLEEP_MS", "5000")
        .init_timeout(Duration::from_millis(200))
        .start()
        .await
        .expect_err("too slow");
    assert!(matches!(err, HarnessError::InitTimeout { .. }), "{err}");

    let mut f = Function::new(PROBE)
        .timeout(Duration::from_millis(200))
        .start()
        .await
        .expect("starts");
    let err = f
        .invoke_json(&json!({"sleep_ms": 5000}))
        .await
        .expect_err("too slow");
    assert!(matches!(err, HarnessError::InvokeTimeout { .. }), "{err}");
}

#[tokio::test]
async fn a_missing_bootstrap_is_a_spawn_error() {
    let err = Function::new("/nonexistent/bootstrap")
        .start()
        .await
        .expect_err("no binary");
    assert!(matches!(err, HarnessError::Spawn { .. }), "{err}");
}
