//! Handlers attached to a running server: the shape the pipeline uses (an S3 notification
//! runs a start handler that calls StartHumanLoop; the status event runs a status handler).

mod common;

use std::sync::{Arc, Mutex};

use a2i_local::EventCallback;
use a2i_local::WorkerAnswer;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use common::{fast_a2i_client, start_with, FLOW};

#[tokio::test]
async fn callbacks_added_after_start_drive_a_whole_review() {
    let local = start_with(|b| b.input_path("s3://pipeline-in/incoming")).await;

    // "Start handler": one loop per uploaded object, named after its size.
    let a2i = fast_a2i_client(&local.handle);
    let start_handler: EventCallback = Arc::new(move |event| {
        let a2i = a2i.clone();
        Box::pin(async move {
            let object = &event["Records"][0]["s3"]["object"];
            let name = format!("obj-{}", object["size"]);
            a2i.start_human_loop()
                .human_loop_name(name)
                .flow_definition_arn(FLOW)
                .human_loop_input(
                    HumanLoopInput::builder()
                        .input_content(serde_json::json!({"key": object["key"]}).to_string())
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    aws_sdk_sagemakera2iruntime::error::DisplayErrorContext(&e).to_string()
                })
        })
    });
    local
        .handle
        .add_s3_event_callback("start-handler", start_handler)
        .unwrap();

    // "Status handler": records what it saw.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    let status_handler: EventCallback = Arc::new(move |event| {
        let sink = sink.clone();
        Box::pin(async move {
            let detail = &event["detail"];
            sink.lock().unwrap().push(format!(
                "{} {}",
                detail["humanLoopName"].as_str().unwrap_or_default(),
                detail["humanLoopStatus"].as_str().unwrap_or_default()
            ));
            Ok(())
        })
    });
    local
        .handle
        .add_event_callback("status-handler", status_handler);

    local
        .s3()
        .put_object()
        .bucket("pipeline-in")
        .key("incoming/a b.json")
        .body(ByteStream::from_static(b"12345"))
        .send()
        .await
        .unwrap();
    // settled() waits for the notification *and* the StartHumanLoop it caused.
    local.handle.settled().await;
    let pending = local.handle.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].human_loop_name, "obj-5");
    assert_eq!(
        pending[0].input_content,
        serde_json::json!({"key": "incoming/a+b.json"})
    );

    local
        .handle
        .answer(
            "obj-5",
            &[WorkerAnswer::new(serde_json::json!({"ok": true}))],
        )
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().clone(), ["obj-5 Completed"]);
    // The builder's file sink got it as well.
    assert_eq!(local.events().len(), 1);
}

#[tokio::test]
async fn s3_sinks_need_an_input_path() {
    let local = start_with(|b| b).await;
    let callback: EventCallback = Arc::new(|_| Box::pin(async { Ok(()) }));
    assert!(local.handle.add_s3_event_callback("x", callback).is_err());
}
