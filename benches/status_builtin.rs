//! What a built-in loop costs the status function per event, next to a custom loop: reading
//! output.json, reading the stored model answer (a second `GetObject`), the per-worker
//! answers and the model-vs-reviewer summary, and writing the larger result — on a2i-local's
//! embedded S3, in process.
//!
//! Three cases, each redelivering one Completed event (the handler rewrites the same bytes):
//! a custom loop with one answer; the project's Textract fixture (a 1-page receipt, 5 pairs)
//! with its model answer; and a dense Textract page (the `a2i-conditions` test generator's
//! page, about 120 KB, 20 pairs) as A2I's copy in output.json and as the stored model answer.
//! The median time per event and the result's size are printed, never asserted.
//!
//! `cargo bench --bench status_builtin` handles 200 events per case; under `cargo test` the
//! same code handles 3, so the benchmark cannot rot.

use std::time::Instant;

use a2i_review::builtin::{model_answer_key, ModelAnswer, TaskType, MODEL_ANSWER_SCHEMA};
use a2i_review::config::StatusConfig;
use a2i_review::registry::RegisteredSource;
use a2i_review::source::ObjectRef;
use a2i_review::status::{StatusHandler, StatusOutcome};
use serde_json::{json, Map, Value};

const RESULTS: &str = "bench-results";
const OUTPUT: &str = "bench-output";
const FORM: &str = include_str!("../tests/fixtures/builtin-textract-output.json");

fn camel_case(value: &Value) -> Value {
    recase(value, |c| c.to_lowercase().collect())
}

fn pascal_case(value: &Value) -> Value {
    recase(value, |c| c.to_uppercase().collect())
}

fn recase(value: &Value, first: fn(char) -> String) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(c) => first(c) + chars.as_str(),
                        None => String::new(),
                    };
                    (key, recase(v, first))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| recase(v, first)).collect()),
        other => other.clone(),
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("put");
}

fn event(name: &str, flow: &str, uri: &str) -> Value {
    json!({
        "version": "0", "id": "bench", "detail-type": "SageMaker A2I HumanLoop Status Change",
        "source": "aws.sagemaker", "account": "111122223333", "time": "2026-11-21T10:35:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"creationTime": "2026-11-21T10:16:00.000Z", "failureCode": null, "failureReason": null,
                   "flowDefinitionArn": flow, "humanLoopName": name,
                   "humanLoopOutput": {"outputS3Uri": uri}, "humanLoopStatus": "Completed"}
    })
}

/// Stores `output` (and `model`), then handles its event `rounds` times; prints the median.
async fn case(
    s3: &aws_sdk_s3::Client,
    handler: &StatusHandler,
    label: &str,
    output: &Value,
    model: Option<&ModelAnswer>,
    rounds: usize,
) {
    let name = output["humanLoopName"].as_str().expect("a loop name");
    let flow = output["flowDefinitionArn"].as_str().expect("a flow");
    let key = format!("{name}/output.json");
    let body = serde_json::to_vec(output).expect("JSON");
    let output_bytes = body.len();
    put(s3, OUTPUT, &key, body).await;
    if let Some(model) = model {
        let model_key = model_answer_key("reviewed/", &model.object(), name);
        put(s3, RESULTS, &model_key, model.to_json_bytes()).await;
    }
    let event = event(name, flow, &format!("s3://{OUTPUT}/{key}"));
    let mut times = Vec::with_capacity(rounds);
    let mut result_key = String::new();
    for _ in 0..rounds {
        let started = Instant::now();
        match handler.handle(event.clone()).await {
            Ok(StatusOutcome::Written { result_key: k, .. }) => result_key = k,
            other => panic!("{label}: {other:?}"),
        }
        times.push(started.elapsed());
    }
    times.sort_unstable();
    let result = s3
        .get_object()
        .bucket(RESULTS)
        .key(&result_key)
        .send()
        .await
        .expect("the result");
    let result_bytes = result.content_length().unwrap_or_default();
    println!(
        "{label:<34} median {:>7.3} ms/event  (output.json {output_bytes} B, result {result_bytes} B, {rounds} events)",
        times[times.len() / 2].as_secs_f64() * 1000.0
    );
}

fn model_answer(output: &Value, response: Value) -> ModelAnswer {
    let s3 = &output["aiServiceRequest"]["document"]["s3Object"];
    let object = ObjectRef {
        bucket: s3["bucket"].as_str().expect("bucket").into(),
        key: s3["name"].as_str().expect("name").into(),
        version_id: None,
        e_tag: Some("5d41402abc4b2a76b9719d911017c592".into()),
    };
    let mut response = response;
    response["HumanLoopActivationOutput"] = json!({
        "HumanLoopArn": "arn:aws:sagemaker:us-east-1:111122223333:human-loop/x",
        "HumanLoopActivationReasons": ["ConditionsEvaluation"],
        "HumanLoopActivationConditionsEvaluationResults": output["humanTaskActivationConditionResults"].to_string(),
    });
    ModelAnswer {
        schema: MODEL_ANSWER_SCHEMA.into(),
        task_type: TaskType::TextractForms,
        request_source: TaskType::TextractForms
            .request_source()
            .expect("built-in")
            .into(),
        source: RegisteredSource::from(&object),
        human_loop_name: output["humanLoopName"].as_str().expect("name").into(),
        flow_definition_arn: output["flowDefinitionArn"].as_str().expect("flow").into(),
        human_loop_arn: None,
        created_at: "2026-11-21T10:15:42.187Z".parse().expect("a time"),
        response,
    }
}

async fn run(rounds: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let s3 = a2i_local::EmbeddedS3::new(dir.path(), a2i_local::Credentials::default(), "us-east-1")
        .expect("an embedded S3")
        .in_process_client();
    for b in [RESULTS, OUTPUT] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    let config = StatusConfig::from_lookup(|name| match name {
        "RESULTS_BUCKET" => Some(RESULTS.into()),
        _ => None,
    })
    .expect("settings");
    let handler = StatusHandler::new(config, s3.clone());

    let form: Value = serde_json::from_str(FORM).expect("the fixture");
    let answer = form["humanAnswers"].clone();
    let custom = json!({
        "flowDefinitionArn": form["flowDefinitionArn"], "humanLoopName": "custom-bench",
        "humanAnswers": [{"answerContent": {"amount": {"text": "$88.50"}, "ok": {"on": true}},
                          "submissionTime": "2026-11-21T10:31:07.482Z", "workerId": "w1"}],
        "inputContent": {"taskObject": {"text": "a receipt"}, "source": {"bucket": "in", "key": "k.json", "itemIndex": 0}}
    });
    case(&s3, &handler, "custom loop", &custom, None, rounds).await;
    let model = model_answer(&form, pascal_case(&form["aiServiceResponse"]));
    case(
        &s3,
        &handler,
        "built-in, fixture receipt",
        &form,
        Some(&model),
        rounds,
    )
    .await;
    case(
        &s3,
        &handler,
        "built-in, no model answer",
        &{
            let mut f = form.clone();
            f["humanLoopName"] = json!("forms-no-model");
            f
        },
        None,
        rounds,
    )
    .await;

    let mut page = Vec::new();
    a2i_conditions::testgen::write_textract_response(&mut page, 1).expect("a page");
    let page: Value = serde_json::from_slice(&page).expect("JSON");
    let mut dense = form.clone();
    dense["humanLoopName"] = json!("forms-dense-page");
    dense["aiServiceResponse"] = camel_case(&page);
    dense["humanAnswers"] = answer;
    let model = model_answer(&dense, page);
    case(
        &s3,
        &handler,
        "built-in, dense page (20 pairs)",
        &dense,
        Some(&model),
        rounds,
    )
    .await;
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(run(if measuring { 200 } else { 3 }));
}
