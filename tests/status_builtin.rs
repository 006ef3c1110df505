//! The status handler on built-in loops (Textract forms, Rekognition moderation): output.json
//! in each of its three layouts, with and without a stored model answer, Stopped and Failed
//! loops through the registry, bad shapes, and the whole chain on a2i-local — the real
//! Textract and Rekognition SDK clients over HTTP with a `HumanLoopConfig`, a loop answered
//! through a2i-local's engine, its status event, and the reviewed result joining the model
//! answer.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{FlowPolicy, LocalA2i, RecordedAnalyses, S3Location, StaticFlows, WorkerAnswer};
use a2i_review::builtin::{
    model_answer_key, ModelAnswer, TaskType, MODEL_ANSWER_SCHEMA, REKOGNITION_MODERATION_SOURCE,
    TEXTRACT_FORMS_SOURCE,
};
use a2i_review::config::StatusConfig;
use a2i_review::loop_input::ItemSource;
use a2i_review::registry::{LoopRegistration, RegisteredSource, Registry};
use a2i_review::source::ObjectRef;
use a2i_review::status::{StatusError, StatusHandler, StatusOutcome};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

const RESULTS: &str = "builtin-results";
const OUTPUT: &str = "builtin-a2i-output";
const TEXTRACT_DOC: &str = include_str!("fixtures/builtin-textract-output.json");
const REKOGNITION_DOC: &str = include_str!("fixtures/builtin-rekognition-output.json");
const BUILTIN_MEMBERS: [&str; 4] = [
    "aiServiceRequest",
    "aiServiceResponse",
    "humanTaskActivationConditionResults",
    "selectedAiServiceResponse",
];
/// The members a built-in loop's result adds; a custom loop's result has none of them.
const NEW_MEMBERS: [&str; 7] = [
    "taskType",
    "requestSource",
    "modelAnswerKey",
    "modelAnswer",
    "selectedAiServiceResponse",
    "reviewerAnswers",
    "summary",
];

fn doc(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn config() -> StatusConfig {
    StatusConfig::from_lookup(|name| match name {
        "RESULTS_BUCKET" => Some(RESULTS.into()),
        "RESULTS_PREFIX" => Some("reviewed/".into()),
        _ => None,
    })
    .unwrap()
}

/// The value with every key's first letter upper-cased (the API's shape of an answer A2I
/// stored camel-cased).
fn pascal_case(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key: String = match chars.next() {
                        Some(first) => first.to_uppercase().chain(chars).collect(),
                        None => String::new(),
                    };
                    (key, pascal_case(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(pascal_case).collect()),
        other => other.clone(),
    }
}

/// The condition tree without A2I's `EvaluationResult` members: the flow definition's.
fn strip_results(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "EvaluationResult")
                .map(|(k, v)| (k.clone(), strip_results(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_results).collect()),
        other => other.clone(),
    }
}

/// `doc` (built-in members at the top level) with those members moved under `member`
/// (`inputContent`, or `humanLoopInputContent` as in an older file, which also lacks
/// `awsManagedHumanLoopRequestSource`).
fn in_layout(doc: &Value, member: &str) -> Value {
    let mut out = doc.clone();
    if member.is_empty() {
        return out;
    }
    let map = out.as_object_mut().unwrap();
    let mut inner = Map::new();
    for k in BUILTIN_MEMBERS {
        if let Some(v) = map.remove(k) {
            inner.insert(k.to_owned(), v);
        }
    }
    map.insert(member.to_owned(), Value::Object(inner));
    if member == "humanLoopInputContent" {
        map.remove("awsManagedHumanLoopRequestSource");
    }
    out
}

fn object_of(doc: &Value, e_tag: Option<&str>) -> ObjectRef {
    let request = &doc["aiServiceRequest"];
    let s3 = request
        .get("document")
        .or_else(|| request.get("image"))
        .unwrap()["s3Object"]
        .clone();
    ObjectRef {
        bucket: s3["bucket"].as_str().unwrap().into(),
        key: s3["name"].as_str().unwrap().into(),
        version_id: s3["version"].as_str().map(str::to_owned),
        e_tag: e_tag.map(str::to_owned),
    }
}

fn loop_arn(name: &str) -> String {
    format!("arn:aws:sagemaker:us-east-1:111122223333:human-loop/{name}")
}

/// The model answer the start function stores for `doc`'s loop: the service response as
/// the API returns it, with `HumanLoopActivationOutput`.
fn model_answer(doc: &Value, task_type: TaskType, e_tag: &str) -> ModelAnswer {
    let name = doc["humanLoopName"].as_str().unwrap();
    let mut response = pascal_case(&doc["aiServiceResponse"]);
    response["HumanLoopActivationOutput"] = json!({
        "HumanLoopArn": loop_arn(name),
        "HumanLoopActivationReasons": ["ConditionsEvaluation"],
        "HumanLoopActivationConditionsEvaluationResults":
            doc["humanTaskActivationConditionResults"].to_string(),
    });
    ModelAnswer {
        schema: MODEL_ANSWER_SCHEMA.into(),
        task_type,
        request_source: task_type.request_source().unwrap().into(),
        source: RegisteredSource::from(&object_of(doc, Some(e_tag))),
        human_loop_name: name.into(),
        flow_definition_arn: doc["flowDefinitionArn"].as_str().unwrap().into(),
        human_loop_arn: Some(loop_arn(name)),
        created_at: "2026-11-21T10:15:42.187Z".parse().unwrap(),
        response,
    }
}

fn status_event(name: &str, flow: &str, status: &str, output_uri: Option<&str>) -> Value {
    let (code, reason) = match status {
        "Failed" => (json!("Expired"), json!("The human loop expired.")),
        _ => (Value::Null, Value::Null),
    };
    json!({
        "version": "0", "id": format!("ev-{name}-{status}"),
        "detail-type": "SageMaker A2I HumanLoop Status Change", "source": "aws.sagemaker",
        "account": "111122223333", "time": "2026-11-21T10:35:00Z", "region": "us-east-1",
        "resources": [loop_arn(name)],
        "detail": {
            "creationTime": "2026-11-21T10:16:00.000Z", "failureCode": code, "failureReason": reason,
            "flowDefinitionArn": flow, "humanLoopArn": loop_arn(name), "humanLoopName": name,
            "humanLoopOutput": output_uri.map(|u| json!({"outputS3Uri": u})),
            "humanLoopStatus": status
        }
    })
}

/// An embedded S3 and a status handler over it.
struct World {
    _dir: tempfile::TempDir,
    s3: aws_sdk_s3::Client,
    handler: StatusHandler,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let s3 = common::local_s3(dir.path());
        common::ensure_bucket(&s3, RESULTS).await;
        common::ensure_bucket(&s3, OUTPUT).await;
        let handler = StatusHandler::new(config(), s3.clone());
        Self {
            _dir: dir,
            s3,
            handler,
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        common::put(&self.s3, bucket, key, body).await;
    }

    /// Registers `doc`'s loop as the start function would (with `task_type` for a built-in
    /// one); returns its name and flow definition.
    async fn register(&self, doc: &Value, task_type: Option<TaskType>) -> (String, String) {
        let name = doc["humanLoopName"].as_str().unwrap();
        let flow = doc["flowDefinitionArn"].as_str().unwrap();
        let item = ItemSource {
            object: object_of(doc, Some("e1f2")),
            item_index: 0,
            line: None,
        };
        let mut registration = LoopRegistration::new(
            name,
            flow,
            &item,
            r#"{"Image":{}}"#,
            "2026-11-21T10:15:42.187Z".parse().unwrap(),
        );
        if let Some(t) = task_type {
            registration = registration.with_task_type(t);
        }
        Registry::new(self.s3.clone(), RESULTS, "loops/")
            .write(&registration)
            .await
            .unwrap();
        (name.to_owned(), flow.to_owned())
    }

    async fn store_model_answer(&self, model: &ModelAnswer) -> String {
        let key = model_answer_key("reviewed/", &model.object(), &model.human_loop_name);
        self.put(RESULTS, &key, &model.to_json_bytes()).await;
        key
    }

    /// Writes `output` as `doc`'s loop output and handles its Completed event.
    async fn complete(&self, doc: &Value, output: &Value) -> Result<StatusOutcome, StatusError> {
        let name = doc["humanLoopName"].as_str().unwrap();
        let key = format!("a2i/{name}/output.json");
        self.put(OUTPUT, &key, &serde_json::to_vec(output).unwrap())
            .await;
        let uri = format!("s3://{OUTPUT}/{key}");
        let flow = doc["flowDefinitionArn"].as_str().unwrap();
        self.handler
            .handle(status_event(name, flow, "Completed", Some(&uri)))
            .await
    }

    async fn bytes(&self, key: &str) -> Vec<u8> {
        let out = self
            .s3
            .get_object()
            .bucket(RESULTS)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }
}

fn written_key(outcome: Result<StatusOutcome, StatusError>) -> String {
    match outcome {
        Ok(StatusOutcome::Written { result_key, .. }) => result_key,
        other => panic!("expected a written result, got {other:?}"),
    }
}

#[tokio::test]
async fn textract_outputs_in_all_three_layouts_give_one_result_joined_with_the_model_answer() {
    let w = World::new().await;
    let d = doc(TEXTRACT_DOC);
    let model = model_answer(
        &d,
        TaskType::TextractForms,
        "5d41402abc4b2a76b9719d911017c592",
    );
    let model_key = w.store_model_answer(&model).await;
    let mut first: Option<Vec<u8>> = None;
    for layout in ["", "inputContent", "humanLoopInputContent"] {
        let key = written_key(w.complete(&d, &in_layout(&d, layout)).await);
        assert_eq!(
            key,
            "reviewed/raw-forms/receipts/harbor-0417.png/forms-harbor-0417.json"
        );
        let bytes = w.bytes(&key).await;
        match &first {
            None => first = Some(bytes),
            Some(f) => assert_eq!(f, &bytes, "layout {layout:?} gives the same result"),
        }
    }
    let bytes = first.unwrap();
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(r["taskType"], "textract-forms");
    assert_eq!(r["requestSource"], TEXTRACT_FORMS_SOURCE);
    assert_eq!(r["modelAnswerKey"], model_key.as_str());
    assert_eq!(
        model_key,
        "reviewed/raw-forms/receipts/harbor-0417.png/forms-harbor-0417.model.json"
    );
    assert_eq!(r["modelAnswer"], model.response);
    assert_eq!(r["activationReasons"], json!(["ConditionsEvaluation"]));
    assert_eq!(
        r["humanTaskActivationConditionResults"],
        d["humanTaskActivationConditionResults"]
    );
    assert_eq!(
        r["selectedAiServiceResponse"],
        d["selectedAiServiceResponse"]
    );
    assert_eq!(
        r["source"],
        json!({"bucket": "raw-forms", "key": "receipts/harbor-0417.png",
               "eTag": "5d41402abc4b2a76b9719d911017c592", "itemIndex": 0})
    );
    assert_eq!(
        r["reviewerAnswers"],
        json!([{"workerId": "7c1f0e9a2b4d6f38",
                "answer": d["humanAnswers"][0]["answerContent"][TEXTRACT_FORMS_SOURCE]}])
    );
    let model_pairs = r["summary"]["modelPairs"].as_array().unwrap();
    assert_eq!(model_pairs.len(), 5);
    assert!(model_pairs.contains(&json!({"key": "Amount Due:", "value": "$86.50"})));
    assert!(model_pairs.contains(&json!({"key": "Customer:", "value": "Mara Quill"})));
    assert_eq!(
        r["summary"]["reviewerPairs"],
        json!([{"workerId": "7c1f0e9a2b4d6f38", "pairs": [
            {"key": "Amount Due:", "value": "$88.50"}, {"key": "Helmet ID:", "value": "H-311"}]}])
    );
    assert_eq!(r["answerCount"], 1);
    // The new members come after the custom ones, in a fixed order.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = |m: &str| text.find(&format!("\"{m}\":")).unwrap();
    assert!(at("agreement") < at("taskType"));
    assert!(
        NEW_MEMBERS.windows(2).all(|p| at(p[0]) < at(p[1])),
        "{text}"
    );

    // Redelivered: the same bytes.
    let key = written_key(w.complete(&d, &d).await);
    assert_eq!(w.bytes(&key).await, bytes);
}

#[tokio::test]
async fn rekognition_outputs_in_all_three_layouts_read_labels_in_both_casings() {
    let w = World::new().await;
    let d = doc(REKOGNITION_DOC);
    let model = model_answer(&d, TaskType::RekognitionModeration, "e1f2");
    w.store_model_answer(&model).await;
    let mut first: Option<Vec<u8>> = None;
    for layout in ["", "inputContent", "humanLoopInputContent"] {
        let key = written_key(w.complete(&d, &in_layout(&d, layout)).await);
        assert_eq!(
            key,
            "reviewed/raw-photos/uploads/pier sunset.jpg/photos-pier-sunset.json"
        );
        let bytes = w.bytes(&key).await;
        match &first {
            None => first = Some(bytes),
            Some(f) => assert_eq!(f, &bytes, "layout {layout:?}"),
        }
    }
    let r: Value = serde_json::from_slice(&first.unwrap()).unwrap();
    assert_eq!(r["taskType"], "rekognition-moderation");
    assert_eq!(r["requestSource"], REKOGNITION_MODERATION_SOURCE);
    assert_eq!(r["source"]["versionId"], "3HL4kqtJvjVBH40Nrjfkd");
    assert_eq!(r["source"]["eTag"], "e1f2");
    assert_eq!(
        r["summary"],
        json!({
            "modelLabels": ["Swimwear or Underwear", "Non-Explicit Nudity of Intimate parts and Kissing",
                            "Alcoholic Beverages", "Alcohol"],
            "reviewerLabels": [
                {"workerId": "3e9a51c07b2f4d86", "labels": ["Alcoholic Beverages", "Alcohol"]},
                {"workerId": "b0d4c8e61a7f2395", "labels": ["Alcoholic Beverages"]}]
        })
    );
    assert_eq!(r["answerCount"], 2);
    assert!(r["agreement"].is_object(), "two workers are compared");
}

#[tokio::test]
async fn without_a_stored_model_answer_the_result_is_written_with_model_answer_null() {
    let w = World::new().await;
    for (text, task) in [
        (TEXTRACT_DOC, "textract-forms"),
        (REKOGNITION_DOC, "rekognition-moderation"),
    ] {
        let d = doc(text);
        let key = written_key(w.complete(&d, &d).await);
        let r: Value = serde_json::from_slice(&w.bytes(&key).await).unwrap();
        assert_eq!(r["taskType"], task);
        assert!(r.get("modelAnswer").is_some_and(Value::is_null), "{r}");
        assert!(r["modelAnswerKey"]
            .as_str()
            .unwrap()
            .ends_with(".model.json"));
        assert!(r["activationReasons"].is_null());
        // The model side still comes from the loop's own copy of the answer.
        let model_side = r["summary"]
            .get("modelPairs")
            .or_else(|| r["summary"].get("modelLabels"))
            .unwrap();
        assert!(!model_side.as_array().unwrap().is_empty());
        assert!(r["source"].get("eTag").is_none());
    }
}

#[tokio::test]
async fn stopped_and_failed_built_in_loops_take_their_source_from_the_registry() {
    let w = World::new().await;
    let d = doc(REKOGNITION_DOC);
    let (name, flow) = w.register(&d, None).await;
    let (name, flow) = (name.as_str(), flow.as_str());
    for status in ["Stopped", "Failed"] {
        let out = w
            .handler
            .handle(status_event(name, flow, status, None))
            .await;
        let key = written_key(out);
        // The key a Completed event of the same loop gets.
        assert_eq!(
            key,
            "reviewed/raw-photos/uploads/pier sunset.jpg/photos-pier-sunset.json"
        );
        let r: Value = serde_json::from_slice(&w.bytes(&key).await).unwrap();
        assert_eq!(r["status"], status);
        assert_eq!(r["source"]["itemIndex"], 0);
        assert!(r["humanAnswers"].is_null());
        // A registration without taskType (written before it existed): no built-in members.
        assert!(r.get("taskType").is_none(), "{r}");
    }
}

#[tokio::test]
async fn stopped_and_failed_built_in_loops_join_their_model_answer_through_the_registration() {
    let w = World::new().await;
    let d = doc(REKOGNITION_DOC);
    let (name, flow) = w.register(&d, Some(TaskType::RekognitionModeration)).await;
    let (name, flow) = (name.as_str(), flow.as_str());
    let model = model_answer(&d, TaskType::RekognitionModeration, "e1f2");
    let model_key = w.store_model_answer(&model).await;
    for status in ["Stopped", "Failed"] {
        let key = written_key(
            w.handler
                .handle(status_event(name, flow, status, None))
                .await,
        );
        let r: Value = serde_json::from_slice(&w.bytes(&key).await).unwrap();
        assert_eq!(r["status"], status);
        assert_eq!(r["taskType"], "rekognition-moderation");
        assert_eq!(r["modelAnswerKey"], model_key.as_str());
        assert_eq!(r["modelAnswer"], model.response);
        assert_eq!(r["reviewerAnswers"], json!([]));
        // The model's labels, from the stored answer, with no reviewer beside them.
        assert!(
            !r["summary"]["modelLabels"].as_array().unwrap().is_empty(),
            "{}",
            r["summary"]
        );
        assert_eq!(r["summary"]["reviewerLabels"], json!([]));
    }
}

#[tokio::test]
async fn a_custom_loops_result_has_none_of_the_built_in_members() {
    let w = World::new().await;
    let custom = json!({
        "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f",
        "humanLoopName": "custom-1",
        "humanAnswers": [{"answerContent": {"ok": {"on": true}}, "submissionTime": "2026-11-21T10:30:00Z", "workerId": "w"}],
        "inputContent": {"taskObject": 1}
    });
    let key = written_key(w.complete(&custom, &custom).await);
    let r: Value = serde_json::from_slice(&w.bytes(&key).await).unwrap();
    for m in NEW_MEMBERS {
        assert!(r.get(m).is_none(), "{m} in {r}");
    }
}

#[tokio::test]
async fn bad_built_in_shapes_are_typed_errors_naming_the_path_not_the_content() {
    let w = World::new().await;
    let d = doc(REKOGNITION_DOC);

    let mut bad = d.clone();
    bad["aiServiceRequest"]["image"]["s3Object"]["bucket"] = json!(5);
    let e = w.complete(&d, &bad).await.unwrap_err();
    assert!(matches!(e, StatusError::InvalidOutput { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert!(
        e.to_string()
            .contains("aiServiceRequest.image.s3Object.bucket: expected a string, found a number"),
        "{e}"
    );

    let mut bad = in_layout(&d, "inputContent");
    bad["humanAnswers"][1]["answerContent"][REKOGNITION_MODERATION_SOURCE] =
        json!({"ModerationLabels": "SECRET-LABEL"});
    let e = w.complete(&d, &bad).await.unwrap_err();
    assert!(matches!(e, StatusError::InvalidOutput { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&format!(
            "humanAnswers[1].answerContent[{REKOGNITION_MODERATION_SOURCE:?}].ModerationLabels"
        )),
        "{e}"
    );
    assert!(!e.to_string().contains("SECRET"), "{e}");

    // A stored model answer that is not one, or is another loop's.
    let mut model = model_answer(&d, TaskType::RekognitionModeration, "e1f2");
    let key = w.store_model_answer(&model).await;
    let mut v = serde_json::to_value(&model).unwrap();
    v["taskType"] = json!("SECRET-TYPE");
    w.put(RESULTS, &key, &serde_json::to_vec(&v).unwrap()).await;
    let e = w.complete(&d, &d).await.unwrap_err();
    assert!(matches!(e, StatusError::InvalidModelAnswer { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert!(
        e.to_string().contains("taskType") && !e.to_string().contains("SECRET"),
        "{e}"
    );
    model.human_loop_name = "another-loop".into();
    w.put(RESULTS, &key, &model.to_json_bytes()).await;
    let e = w.complete(&d, &d).await.unwrap_err();
    assert!(e.to_string().contains("another loop"), "{e}");
    model.human_loop_name = d["humanLoopName"].as_str().unwrap().into();
    model.task_type = TaskType::TextractForms;
    w.put(RESULTS, &key, &model.to_json_bytes()).await;
    let e = w.complete(&d, &d).await.unwrap_err();
    assert!(
        e.to_string().contains(
            "taskType is textract-forms, but the loop's output is of rekognition-moderation"
        ),
        "{e}"
    );
}

/// A PNG as far as the services' sniffing goes.
fn png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

fn flow_policy(name: &str, source: &str, conditions: &Value) -> FlowPolicy {
    FlowPolicy {
        name: name.into(),
        arn: format!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/{name}"),
        output: S3Location::parse(&format!("s3://{OUTPUT}/built-in")).unwrap(),
        task_count: 1,
        task_time_limit: Duration::from_secs(3600),
        availability_lifetime: Duration::from_secs(86400),
        human_task_ui_arn: None,
        title: None,
        description: None,
        keywords: Vec::new(),
        request_source: Some(source.into()),
        activation_conditions: Some(strip_results(conditions).to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_flow_through_the_services_and_a2i_local_to_reviewed_results_with_the_model_answer()
{
    let form = doc(TEXTRACT_DOC);
    let photo = doc(REKOGNITION_DOC);
    // Recordings: the services' answers as the API gives them (PascalCase).
    let mut recorded = RecordedAnalyses::empty();
    for (service, d) in [("textract", &form), ("rekognition", &photo)] {
        let o = object_of(d, None);
        let recording = json!({"service": service, "match": {"bucket": o.bucket, "key": o.key},
                               "response": pascal_case(&d["aiServiceResponse"])});
        recorded.add_json(recording.to_string().as_bytes()).unwrap();
    }
    let flows = StaticFlows::new().shared();
    flows.insert(flow_policy(
        "rental-forms",
        TEXTRACT_FORMS_SOURCE,
        &form["humanTaskActivationConditionResults"],
    ));
    flows.insert(flow_policy(
        "photo-moderation",
        REKOGNITION_MODERATION_SOURCE,
        &photo["humanTaskActivationConditionResults"],
    ));
    let (tx, mut events) = mpsc::unbounded_channel::<Value>();
    let tx = Arc::new(Mutex::new(tx));
    let local = LocalA2i::builder()
        .recorded_analyses(recorded)
        .flow_lookup(flows)
        .event_callback(
            "status-builtin",
            Arc::new(move |event| {
                let _ = tx.lock().map(|tx| tx.send(event));
                Box::pin(async { Ok(()) })
            }),
        )
        .start()
        .await
        .unwrap();
    let s3 = local.s3_client();
    common::ensure_bucket(&s3, RESULTS).await;
    let status = StatusHandler::new(config(), s3.clone());
    let sdk = local.sdk_config();
    let textract = aws_sdk_textract::Client::from_conf(
        aws_sdk_textract::config::Builder::from(&sdk)
            .endpoint_url(local.a2i_endpoint())
            .build(),
    );
    let rekognition = aws_sdk_rekognition::Client::from_conf(
        aws_sdk_rekognition::config::Builder::from(&sdk)
            .endpoint_url(local.a2i_endpoint())
            .build(),
    );

    for (d, task_type) in [
        (&form, TaskType::TextractForms),
        (&photo, TaskType::RekognitionModeration),
    ] {
        let object = object_of(d, None);
        let e_tag = common::put(&s3, &object.bucket, &object.key, &png(&object.key)).await;
        let name = d["humanLoopName"].as_str().unwrap();
        let flow = d["flowDefinitionArn"].as_str().unwrap();
        // The service call with a HumanLoopConfig, as the start function makes it; its whole
        // answer is what the start function stores as the model answer.
        let response = match task_type {
            TaskType::TextractForms => {
                use aws_sdk_textract::types::{Document, FeatureType, HumanLoopConfig, S3Object};
                let out = textract
                    .analyze_document()
                    .document(
                        Document::builder()
                            .s3_object(
                                S3Object::builder()
                                    .bucket(&object.bucket)
                                    .name(&object.key)
                                    .build(),
                            )
                            .build(),
                    )
                    .feature_types(FeatureType::Forms)
                    .human_loop_config(
                        HumanLoopConfig::builder()
                            .human_loop_name(name)
                            .flow_definition_arn(flow)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                let a = out.human_loop_activation_output().unwrap();
                assert_eq!(a.human_loop_arn(), Some(loop_arn(name).as_str()));
                activation_json(
                    a.human_loop_arn(),
                    a.human_loop_activation_reasons(),
                    a.human_loop_activation_conditions_evaluation_results(),
                )
            }
            _ => {
                use aws_sdk_rekognition::types::{HumanLoopConfig, Image, S3Object};
                let out = rekognition
                    .detect_moderation_labels()
                    .image(
                        Image::builder()
                            .s3_object(
                                S3Object::builder()
                                    .bucket(&object.bucket)
                                    .name(&object.key)
                                    .build(),
                            )
                            .build(),
                    )
                    .human_loop_config(
                        HumanLoopConfig::builder()
                            .human_loop_name(name)
                            .flow_definition_arn(flow)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.moderation_labels().len(), 4);
                let a = out.human_loop_activation_output().unwrap();
                activation_json(
                    a.human_loop_arn(),
                    a.human_loop_activation_reasons(),
                    a.human_loop_activation_conditions_evaluation_results(),
                )
            }
        };
        let mut stored = pascal_case(&d["aiServiceResponse"]);
        stored["HumanLoopActivationOutput"] = response;
        let model = ModelAnswer {
            schema: MODEL_ANSWER_SCHEMA.into(),
            task_type,
            request_source: task_type.request_source().unwrap().into(),
            source: RegisteredSource::from(&ObjectRef {
                e_tag: Some(e_tag.clone()),
                ..object.clone()
            }),
            human_loop_name: name.into(),
            flow_definition_arn: flow.into(),
            human_loop_arn: Some(loop_arn(name)),
            created_at: "2026-11-21T10:15:42.187Z".parse().unwrap(),
            response: stored,
        };
        let model_key = model_answer_key("reviewed/", &model.object(), name);
        common::put(&s3, RESULTS, &model_key, &model.to_json_bytes()).await;

        // A worker answers through a2i-local's engine, keyed by the request source.
        let source = task_type.request_source().unwrap();
        let answer = d["humanAnswers"][0]["answerContent"][source].clone();
        local
            .answer(
                name,
                &[WorkerAnswer::new(json!({ source: answer.clone() })).by("worker-1")],
            )
            .await
            .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap()
            .unwrap();
        let key = written_key(status.handle(event).await);
        assert_eq!(
            key,
            format!("reviewed/{}/{}/{name}.json", object.bucket, object.key)
        );
        let out = s3
            .get_object()
            .bucket(RESULTS)
            .key(&key)
            .send()
            .await
            .unwrap();
        let r: Value =
            serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap();
        assert_eq!(r["status"], "Completed");
        assert_eq!(r["taskType"], task_type.as_str());
        assert_eq!(r["modelAnswer"], model.response);
        assert_eq!(r["activationReasons"], json!(["ConditionsEvaluation"]));
        // a2i-local's evaluation, carried through output.json, is A2I's in the fixture.
        assert_eq!(
            r["humanTaskActivationConditionResults"],
            d["humanTaskActivationConditionResults"]
        );
        assert_eq!(r["source"]["eTag"], e_tag.as_str());
        assert_eq!(
            r["reviewerAnswers"],
            json!([{"workerId": "worker-1", "answer": answer}])
        );
        match task_type {
            TaskType::TextractForms => {
                assert_eq!(
                    r["summary"]["reviewerPairs"][0]["pairs"],
                    json!([{"key": "Amount Due:", "value": "$88.50"},
                           {"key": "Helmet ID:", "value": "H-311"}])
                );
                assert_eq!(r["summary"]["modelPairs"].as_array().unwrap().len(), 5);
                // Only the flagged pair was put in front of the reviewer.
                assert_eq!(
                    r["selectedAiServiceResponse"]["blocks"]
                        .as_array()
                        .unwrap()
                        .len(),
                    5
                );
            }
            _ => {
                assert_eq!(
                    r["summary"]["reviewerLabels"][0]["labels"],
                    json!(["Alcoholic Beverages", "Alcohol"])
                );
                assert_eq!(
                    r["selectedAiServiceResponse"]["moderationLabels"],
                    d["selectedAiServiceResponse"]["moderationLabels"]
                );
            }
        }
    }
    local.shutdown().await;
}

/// `HumanLoopActivationOutput` as the API's JSON, from the SDK's typed answer.
fn activation_json(arn: Option<&str>, reasons: &[String], results: Option<&str>) -> Value {
    json!({
        "HumanLoopArn": arn,
        "HumanLoopActivationReasons": reasons,
        "HumanLoopActivationConditionsEvaluationResults": results,
    })
}

/// The real Textract built-in output.json of the shared reference samples, when the folder is
/// there (`A2I_REVIEW_SAMPLES`, or next to or one above the checkout); never copied here.
fn real_sample() -> Option<Vec<u8>> {
    const NAME: &str =
        "a2i-output--aws-samples--amazon-textract-response-parser--a2i-response.json";
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<std::path::PathBuf> = std::env::var_os("A2I_REVIEW_SAMPLES")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([
            root.join("../shared/samples"),
            root.join("../../shared/samples"),
        ])
        .map(|d| d.join(NAME))
        .collect();
    let found = candidates.iter().find(|p| p.is_file());
    if found.is_none() {
        println!("note: {NAME} is not here (looked at {candidates:?}); skipped");
    }
    found.map(|p| std::fs::read(p).unwrap())
}

#[tokio::test]
async fn the_real_textract_output_json_becomes_a_reviewed_result() {
    let Some(bytes) = real_sample() else { return };
    let w = World::new().await;
    let d: Value = serde_json::from_slice(&bytes).unwrap();
    let name = d["humanLoopName"].as_str().unwrap();
    let flow = d["flowDefinitionArn"].as_str().unwrap();
    let key = format!("a2i/{name}/output.json");
    w.put(OUTPUT, &key, &bytes).await;
    let uri = format!("s3://{OUTPUT}/{key}");
    let out = w
        .handler
        .handle(status_event(name, flow, "Completed", Some(&uri)))
        .await;
    let result_key = written_key(out);
    assert_eq!(
        result_key,
        format!("reviewed/textract-documentsbucket-sirajama/inputDocuments/mr2.png/{name}.json")
    );
    let r: Value = serde_json::from_slice(&w.bytes(&result_key).await).unwrap();
    assert_eq!(r["taskType"], "textract-forms");
    assert!(r["modelAnswer"].is_null());
    assert_eq!(
        r["humanTaskActivationConditionResults"],
        d["humanTaskActivationConditionResults"]
    );
    // Seven pairs in the model's answer; the reviewer's corrected pairs read from its blocks.
    let model_pairs = r["summary"]["modelPairs"].as_array().unwrap();
    assert_eq!(model_pairs.len(), 7);
    assert!(model_pairs.contains(&json!({"key": "Total", "value": "$148.99"})));
    let reviewer = r["summary"]["reviewerPairs"][0]["pairs"]
        .as_array()
        .unwrap();
    assert!(!reviewer.is_empty());
    assert!(reviewer
        .iter()
        .all(|p| p["key"].is_string() && p["value"].is_string()));
    assert_eq!(
        r["reviewerAnswers"][0]["workerId"],
        d["humanAnswers"][0]["workerId"]
    );
}

/// Every event the app's own code logs (target `a2i_review…`), with all its fields and the
/// name of the thread that logged it (the test harness names threads after their tests).
#[derive(Default)]
struct Captured(Mutex<Vec<(String, String)>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

struct Capture(Arc<Captured>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target().starts_with("a2i_review") {
            let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
            event.record(&mut FieldText(&mut line));
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            self.0 .0.lock().unwrap().push((thread, line));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The process-wide capture: a global subscriber, so that no callsite's interest is decided
/// while another test's thread has none (a scoped one would race with parallel tests).
fn capture() -> Arc<Captured> {
    static CAPTURED: std::sync::OnceLock<Arc<Captured>> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Arc::new(Captured::default());
            tracing::subscriber::set_global_default(Capture(captured.clone()))
                .expect("no other global subscriber in this test binary");
            captured
        })
        .clone()
}

#[tokio::test]
async fn no_answer_or_model_content_reaches_a_log_line_or_an_error() {
    const MARKER: &str = "ZQXMARKERQXZ";
    let captured = capture();
    let thread = std::thread::current().name().unwrap_or_default().to_owned();
    let w = World::new().await;
    let mut d = doc(REKOGNITION_DOC);
    d["aiServiceResponse"]["moderationLabels"][0]["name"] = json!(MARKER);
    d["selectedAiServiceResponse"]["moderationLabels"][0]["name"] = json!(MARKER);
    d["humanAnswers"][0]["answerContent"][REKOGNITION_MODERATION_SOURCE]["moderationLabels"][0]
        ["name"] = json!(MARKER);
    let mut errors = Vec::new();

    // Written without a model answer (a warning), then with one.
    let key = written_key(w.complete(&d, &d).await);
    let model = model_answer(&d, TaskType::RekognitionModeration, "e1f2");
    w.store_model_answer(&model).await;
    written_key(w.complete(&d, &d).await);
    let result = String::from_utf8(w.bytes(&key).await).unwrap();
    assert!(result.contains(MARKER), "the content did flow through");

    // Bad shapes: answers and the model answer with the marker where a type is wrong.
    let mut bad = d.clone();
    bad["humanAnswers"][1]["answerContent"][REKOGNITION_MODERATION_SOURCE] =
        json!({"moderationLabels": [{"name": 5, "label": MARKER}]});
    errors.push(w.complete(&d, &bad).await.unwrap_err().to_string());
    let mut bad = d.clone();
    bad["aiServiceRequest"]["image"]["s3Object"]["version"] = json!([MARKER]);
    errors.push(w.complete(&d, &bad).await.unwrap_err().to_string());
    let mut v = serde_json::to_value(&model).unwrap();
    v["createdAt"] = json!(MARKER);
    let model_key = model_answer_key("reviewed/", &model.object(), &model.human_loop_name);
    w.put(RESULTS, &model_key, &serde_json::to_vec(&v).unwrap())
        .await;
    errors.push(w.complete(&d, &d).await.unwrap_err().to_string());

    let lines: Vec<String> = captured
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t == thread)
        .map(|(_, line)| line.clone())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no model answer is stored")),
        "{lines:#?}"
    );
    assert!(lines.len() >= 5, "{lines:#?}");
    for text in lines.iter().chain(&errors) {
        assert!(!text.contains(MARKER), "{text}");
    }
}
