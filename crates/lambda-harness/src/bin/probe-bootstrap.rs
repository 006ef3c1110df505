//! A bootstrap for the harness's own tests: each event says what to do.
//!
//! `{"echo": V}` answers `V`; `{"fail": "msg"}` fails with error type `Probe.Failed`;
//! `{"print": "text"}` writes `text` to stdout and `err: text` to stderr, then answers;
//! `{"allocate_mib": N}` touches N MiB and keeps them; `{"exit": CODE}` exits at once;
//! `{"sleep_ms": N}` answers after N ms. With `PROBE_INIT_ERROR` set, it posts that message to
//! `…/init/error` (as a SnapStart hook failure would) and exits with status 1; with
//! `PROBE_EXIT_AT_INIT` set it exits with status 3 before asking for an event; `PROBE_INIT_SLEEP_MS`
//! delays the first request.

use std::io::{Read, Write};
use std::sync::Mutex;

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

/// Memory the `allocate_mib` events keep alive.
static KEPT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Posts an init error with a hand-written HTTP/1.1 request: `lambda_runtime` posts to
/// `/init/error` only from SnapStart hooks, which need a restore API the harness does not have.
fn post_init_error(message: &str) -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(std::io::Error::other)?;
    let body = json!({"errorType": "Probe.InitFailed", "errorMessage": message}).to_string();
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(())
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let e = event.payload;
    if let Some(v) = e.get("echo") {
        return Ok(v.clone());
    }
    if let Some(m) = e.get("fail").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: "Probe.Failed".into(),
            error_message: m.into(),
        });
    }
    if let Some(t) = e.get("print").and_then(Value::as_str) {
        println!("{t}");
        eprintln!("err: {t}");
    }
    if let Some(n) = e.get("allocate_mib").and_then(Value::as_u64) {
        let block = vec![1u8; usize::try_from(n).unwrap_or(0) * 1024 * 1024];
        KEPT.lock().unwrap_or_else(|p| p.into_inner()).push(block);
    }
    if let Some(code) = e.get("exit").and_then(Value::as_i64) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(ms) = e.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    Ok(
        json!({"requestId": event.context.request_id, "arn": event.context.invoked_function_arn,
              "deadline": event.context.deadline, "traceId": event.context.xray_trace_id,
              "env": {"function": std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
                      "memory": std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
                      "region": std::env::var("AWS_REGION").ok(),
                      "taskRoot": std::env::var("LAMBDA_TASK_ROOT").ok(),
                      "extra": std::env::var("PROBE_EXTRA").ok(),
                      "home": std::env::var("HOME").ok()}}),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if let Ok(message) = std::env::var("PROBE_INIT_ERROR") {
        post_init_error(&message)?;
        std::process::exit(1);
    }
    if std::env::var_os("PROBE_EXIT_AT_INIT").is_some() {
        std::process::exit(3);
    }
    if let Some(ms) = std::env::var("PROBE_INIT_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    lambda_runtime::run(service_fn(handle)).await
}
