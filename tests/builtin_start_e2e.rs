//! The start handler's raw-media mode end to end on a2i-local: real SDK clients over HTTP,
//! a2i-local replaying recorded Textract and Rekognition answers, evaluating the flow
//! definition's activation conditions and starting loops with A2I's built-in input.

mod common;

use std::sync::Arc;
use std::time::Duration;

use a2i_local::WorkerAnswer;
use a2i_local::{FlowPolicy, LocalA2i, LocalA2iHandle, RecordedAnalyses, S3Location, StaticFlows};
use a2i_review::builtin::{model_answer_key, ModelAnswer, TaskType};
use a2i_review::config::StartConfig;
use a2i_review::loop_name::loop_name;
use a2i_review::source::ObjectRef;
use a2i_review::start::{BuiltinClients, FailureKind, StartError, StartHandler, Summary};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BUCKET: &str = "raw-media";
const RESULTS: &str = "review-results";
const MODERATION: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";
const FORMS: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
const SWIMWEAR_OVER_60: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"Swimwear","ConfidenceGreaterThan":60}}]}"#;
const TOTAL_UNSURE: &str = r#"{"Conditions":[{"Or":[
  {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Total","KeyValueBlockConfidenceLessThan":45,"WordBlockConfidenceLessThan":85}},
  {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy Number:"}}]}]}"#;

/// A PNG as far as the services' sniffing goes, unique per `tag`.
fn png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

fn labels(confidence: f64) -> Value {
    json!({"ModerationLabels": [
        {"Confidence": confidence, "Name": "Swimwear", "ParentName": "Suggestive", "TaxonomyLevel": 2},
        {"Confidence": 55.5, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1}
    ], "ModerationModelVersion": "7.0"})
}

/// A one-page form: "Total" with `confidence`, and a policy number.
fn form(confidence: f64) -> Value {
    json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
        {"BlockType": "PAGE", "Id": "p", "Page": 1, "Geometry": {"BoundingBox": {"Width": 1.0, "Height": 1.0, "Left": 0.0, "Top": 0.0},
            "Polygon": [{"X": 0.0, "Y": 0.0}, {"X": 1.0, "Y": 0.0}]}},
        {"BlockType": "KEY_VALUE_SET", "Id": "k1", "EntityTypes": ["KEY"], "Confidence": confidence, "Page": 1,
         "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}, {"Type": "CHILD", "Ids": ["w1"]}]},
        {"BlockType": "KEY_VALUE_SET", "Id": "v1", "EntityTypes": ["VALUE"], "Confidence": confidence, "Page": 1,
         "Relationships": [{"Type": "CHILD", "Ids": ["w2"]}]},
        {"BlockType": "WORD", "Id": "w1", "Text": "Total", "TextType": "PRINTED", "Confidence": 99.1, "Page": 1},
        {"BlockType": "WORD", "Id": "w2", "Text": "$148.99", "TextType": "PRINTED", "Confidence": 98.2, "Page": 1},
        {"BlockType": "KEY_VALUE_SET", "Id": "k2", "EntityTypes": ["KEY"], "Confidence": 97.0, "Page": 1,
         "Relationships": [{"Type": "VALUE", "Ids": ["v2"]}, {"Type": "CHILD", "Ids": ["w3", "w4"]}]},
        {"BlockType": "KEY_VALUE_SET", "Id": "v2", "EntityTypes": ["VALUE"], "Confidence": 97.0, "Page": 1,
         "Relationships": [{"Type": "CHILD", "Ids": ["w5"]}]},
        {"BlockType": "WORD", "Id": "w3", "Text": "Policy", "Confidence": 99.0, "Page": 1},
        {"BlockType": "WORD", "Id": "w4", "Text": "Number:", "Confidence": 99.0, "Page": 1},
        {"BlockType": "WORD", "Id": "w5", "Text": "P-1", "Confidence": 99.0, "Page": 1},
        {"BlockType": "SELECTION_ELEMENT", "Id": "s1", "SelectionStatus": "SELECTED", "Confidence": 90.5, "Page": 1}
    ], "AnalyzeDocumentModelVersion": "1.0"})
}

struct Env {
    local: LocalA2iHandle,
    flows: Arc<StaticFlows>,
}

/// a2i-local with `recordings` (service, bytes, answer) and the two buckets.
async fn env(recordings: &[(&str, &[u8], Value)]) -> Env {
    let mut recorded = RecordedAnalyses::empty();
    for (service, bytes, response) in recordings {
        let digest = hex::encode(Sha256::digest(bytes));
        let doc = json!({"service": service, "match": {"sha256": digest}, "response": response});
        recorded.add_json(doc.to_string().as_bytes()).unwrap();
    }
    let flows = StaticFlows::new().shared();
    let lookup: a2i_local::SharedFlowLookup = flows.clone();
    let local = LocalA2i::builder()
        .bucket(BUCKET)
        .bucket(RESULTS)
        .recorded_analyses(recorded)
        .flow_lookup(lookup)
        .start()
        .await
        .expect("a2i-local starts");
    Env { local, flows }
}

impl Env {
    fn flow(&self, name: &str, source: &str, conditions: &str) -> String {
        let arn = self.local.flow_definition_arn(name);
        self.flows.insert(FlowPolicy {
            name: name.to_owned(),
            arn: arn.clone(),
            output: S3Location {
                bucket: "a2i-local-output".into(),
                prefix: String::new(),
            },
            task_count: 1,
            task_time_limit: Duration::from_secs(3600),
            availability_lifetime: Duration::from_secs(86400),
            human_task_ui_arn: None,
            title: None,
            description: None,
            keywords: Vec::new(),
            request_source: Some(source.to_owned()),
            activation_conditions: Some(conditions.to_owned()),
        });
        arn
    }

    /// The start handler of `task_type` on `flow`, with every client on a2i-local's ports.
    async fn handler(&self, task_type: TaskType, flow: &str) -> StartHandler {
        let env = [
            ("TASK_TYPE", task_type.as_str().to_owned()),
            ("FLOW_DEFINITION_ARN", flow.to_owned()),
            ("RESULTS_BUCKET", RESULTS.to_owned()),
            ("LOOP_NAME_PREFIX", "media".to_owned()),
        ];
        let config = StartConfig::from_lookup(move |k| {
            env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap();
        let sdk = self.local.sdk_config();
        let clients = BuiltinClients {
            textract: aws_sdk_textract::Client::from_conf(
                aws_sdk_textract::config::Builder::from(&sdk)
                    .endpoint_url(self.local.a2i_endpoint())
                    .build(),
            ),
            rekognition: aws_sdk_rekognition::Client::from_conf(
                aws_sdk_rekognition::config::Builder::from(&sdk)
                    .endpoint_url(self.local.a2i_endpoint())
                    .build(),
            ),
        };
        StartHandler::with_builtin_clients(
            config,
            self.local.s3_client(),
            self.local.a2i_client(),
            clients,
        )
        .await
        .unwrap()
    }

    /// Uploads `bytes` and returns the event S3 would send, and the object.
    async fn upload(&self, key: &str, bytes: &[u8]) -> (Value, ObjectRef) {
        let out = self
            .local
            .s3_client()
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
        let etag = out.e_tag().unwrap().trim_matches('"').to_owned();
        let object = ObjectRef {
            bucket: BUCKET.into(),
            key: key.into(),
            version_id: None,
            e_tag: Some(etag.clone()),
        };
        (
            common::s3_put_event(BUCKET, key, &etag, bytes.len()),
            object,
        )
    }

    async fn model_answer(&self, object: &ObjectRef) -> ModelAnswer {
        let key = model_answer_key("reviewed/", object, &loop_name(Some("media"), object, 0));
        let body = self
            .local
            .s3_client()
            .get_object()
            .bucket(RESULTS)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("model answer {key}: {e:?}"))
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        ModelAnswer::parse(&body).unwrap()
    }
}

fn summary_of(r: Result<Summary, StartError>) -> Summary {
    match r {
        Ok(s) => s,
        Err(StartError::ItemsFailed { summary }) => summary,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// (analysed, flagged, started, alreadyStarted, skipped, failed)
fn counts(s: &Summary) -> (usize, usize, usize, usize, usize, usize) {
    (
        s.analysed,
        s.flagged,
        s.started,
        s.already_started,
        s.skipped,
        s.failed,
    )
}

/// The stored answer is the recording plus the activation output, which agrees with the
/// loop's input.
fn assert_answer_is_the_recording(answer: &ModelAnswer, recording: &Value, input: Option<&Value>) {
    let mut response = answer.response.clone();
    let activation = response
        .as_object_mut()
        .unwrap()
        .remove("HumanLoopActivationOutput")
        .expect("HumanLoopActivationOutput is stored");
    assert_eq!(&response, recording);
    let results: Value = serde_json::from_str(
        activation["HumanLoopActivationConditionsEvaluationResults"]
            .as_str()
            .expect("the evaluation results stay a JSON string"),
    )
    .unwrap();
    match input {
        Some(input) => {
            assert_eq!(results, input["humanTaskActivationConditionResults"]);
            assert_eq!(
                activation["HumanLoopArn"].as_str(),
                answer.human_loop_arn.as_deref()
            );
            assert_eq!(
                activation["HumanLoopActivationReasons"],
                json!(["ConditionsEvaluation"])
            );
        }
        None => {
            assert!(activation.get("HumanLoopArn").is_none());
            assert_eq!(results["Conditions"][0]["EvaluationResult"], false);
        }
    }
}

#[tokio::test]
async fn a_flagged_image_gets_a_built_in_loop_its_answer_is_stored_and_redelivery_starts_nothing() {
    let image = png("beach");
    let e = env(&[("rekognition", &image, labels(88.5))]).await;
    let flow = e.flow("moderation", MODERATION, SWIMWEAR_OVER_60);
    let (sink, emf) = a2i_review::metrics::MetricsSink::memory();
    let handler = e
        .handler(TaskType::RekognitionModeration, &flow)
        .await
        .with_metrics(sink);
    let (event, object) = e.upload("photos/beach day.png", &image).await;

    let first = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&first), (1, 1, 1, 0, 0, 0), "{first:?}");
    assert_eq!((first.objects, first.items), (1, 1));
    // The EMF record counts the object and A2I's evaluation of each condition.
    let record: Value = serde_json::from_str(&emf.lock().unwrap()[0]).unwrap();
    for (metric, n) in [
        ("Objects", 1),
        ("Items", 1),
        ("Analysed", 1),
        ("Started", 1),
        ("Activated.Conditions[0]", 1),
        ("Failed.UnsupportedMedia", 0),
    ] {
        assert_eq!(record[metric], json!(n), "{metric}: {record}");
    }
    let name = loop_name(Some("media"), &object, 0);
    let record = e.local.human_loop(&name).expect("A2I started the loop");
    let input: Value = serde_json::from_str(&record.input_content).unwrap();
    assert_eq!(
        input["aiServiceRequest"]["image"]["s3Object"],
        json!({"bucket": BUCKET, "name": "photos/beach day.png"})
    );
    assert_eq!(
        input["aiServiceRequest"]["humanLoopConfig"]["flowDefinitionArn"],
        flow
    );

    let answer = e.model_answer(&object).await;
    assert_eq!(answer.human_loop_arn.as_deref(), Some(record.arn.as_str()));
    assert_eq!(answer.task_type, TaskType::RekognitionModeration);
    assert_answer_is_the_recording(&answer, &labels(88.5), Some(&input));

    // Redelivered: looked up, nothing sent.
    for _ in 0..2 {
        let again = handler.handle(&event).await.unwrap();
        assert_eq!(counts(&again), (0, 1, 0, 1, 0, 0), "{again:?}");
    }
    assert_eq!(e.local.pending().len(), 1);

    // Answered (finished): a redelivery still starts nothing.
    e.local
        .answer(
            &name,
            &[WorkerAnswer::new(
                json!({MODERATION: {"moderationLabels": []}}),
            )],
        )
        .await
        .unwrap();
    let late = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&late), (0, 1, 0, 1, 0, 0), "{late:?}");
}

#[tokio::test]
async fn a_single_page_form_with_an_unsure_total_gets_a_loop_and_its_full_answer_stored() {
    let scan = png("claim-form");
    let e = env(&[("textract", &scan, form(41.3))]).await;
    let flow = e.flow("forms", FORMS, TOTAL_UNSURE);
    let handler = e.handler(TaskType::TextractForms, &flow).await;
    let (event, object) = e.upload("forms/claim.png", &scan).await;

    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (1, 1, 1, 0, 0, 0), "{summary:?}");
    let name = loop_name(Some("media"), &object, 0);
    let record = e.local.human_loop(&name).unwrap();
    let input: Value = serde_json::from_str(&record.input_content).unwrap();
    assert_eq!(input["aiServiceRequest"]["featureTypes"], json!(["FORMS"]));
    assert_eq!(
        input["aiServiceRequest"]["document"]["s3Object"]["name"],
        "forms/claim.png"
    );
    let answer = e.model_answer(&object).await;
    assert_eq!(answer.request_source, FORMS);
    assert_answer_is_the_recording(&answer, &form(41.3), Some(&input));

    let again = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&again), (0, 1, 0, 1, 0, 0), "{again:?}");
}

#[tokio::test]
async fn an_image_no_condition_flags_starts_nothing_but_its_answer_is_stored() {
    let image = png("park");
    let e = env(&[("rekognition", &image, labels(30.0))]).await;
    let flow = e.flow("moderation", MODERATION, SWIMWEAR_OVER_60);
    let handler = e.handler(TaskType::RekognitionModeration, &flow).await;
    let (event, object) = e.upload("photos/park.png", &image).await;

    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (1, 0, 0, 0, 1, 0), "{summary:?}");
    assert!(e.local.pending().is_empty());
    let answer = e.model_answer(&object).await;
    assert_eq!(answer.human_loop_arn, None);
    // Rekognition's default MinConfidence (50) leaves the 30% label out, as AWS does.
    let mut expected = labels(30.0);
    expected["ModerationLabels"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    assert_answer_is_the_recording(&answer, &expected, None);

    // Redelivered: analysed again, still no loop, the same answer.
    let again = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&again), (1, 0, 0, 0, 1, 0), "{again:?}");
    assert_eq!(e.model_answer(&object).await, answer);
}

#[tokio::test]
async fn a_multi_page_pdf_and_a_text_file_are_non_retryable_failures_naming_the_object() {
    let e = env(&[]).await;
    let forms = e.flow("forms", FORMS, TOTAL_UNSURE);
    let moderation = e.flow("moderation", MODERATION, SWIMWEAR_OVER_60);

    let textract = e.handler(TaskType::TextractForms, &forms).await;
    let two_pages = b"%PDF-1.4\n<</Type/Pages/Count 2>>\n<</Type/Page>>\n<</Type/Page>>";
    let (event, _) = e.upload("forms/two pages.pdf", two_pages).await;
    let err = textract.handle(&event).await.unwrap_err();
    assert!(!err.to_string().is_empty());
    let summary = summary_of(Err(err));
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    let f = &summary.failures[0];
    assert_eq!(
        (f.kind, f.retryable),
        (FailureKind::UnsupportedMedia, false)
    );
    assert!(
        f.reason.contains("s3://raw-media/forms/two pages.pdf"),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("UnsupportedDocumentException"),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("single-page documents only"),
        "{}",
        f.reason
    );
    assert!(f.reason.contains("TASK_TYPE=custom"), "{}", f.reason);

    let rekognition = e
        .handler(TaskType::RekognitionModeration, &moderation)
        .await;
    let (event, _) = e.upload("photos/notes.txt", b"plain text").await;
    let summary = summary_of(rekognition.handle(&event).await);
    let f = &summary.failures[0];
    assert_eq!(
        (f.kind, f.retryable),
        (FailureKind::UnsupportedMedia, false)
    );
    assert!(
        f.reason.contains("InvalidImageFormatException"),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("s3://raw-media/photos/notes.txt"),
        "{}",
        f.reason
    );
    assert!(e.local.pending().is_empty());
}

/// What the model read in the next test: must reach the stored answer, never a log line or a
/// payload.
const MARKER: &str = "ZQXBLOCKTEXTQXZ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_bootstrap_runs_the_raw_media_mode_from_its_environment_without_logging_content()
{
    let scan = png("bootstrap-form");
    let mut recording = form(41.3);
    recording["Blocks"][4]["Text"] = json!(MARKER);
    let e = env(&[("textract", &scan, recording.clone())]).await;
    let flow = e.flow("forms", FORMS, TOTAL_UNSURE);
    let (event, object) = e.upload("forms/bootstrap.png", &scan).await;

    let mut vars: Vec<(String, String)> = e
        .local
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    vars.extend(
        [
            ("TASK_TYPE", "textract-forms"),
            ("FLOW_DEFINITION_ARN", flow.as_str()),
            ("RESULTS_BUCKET", RESULTS),
            ("LOOP_NAME_PREFIX", "media"),
            ("TEXTRACT_FEATURE_TYPES", "FORMS,TABLES"),
            ("RUST_LOG", "trace"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mut function = lambda_harness::Function::new(env!("CARGO_BIN_EXE_start-handler"))
        .name("start-handler")
        .envs(vars)
        .start()
        .await
        .unwrap_or_else(|e| panic!("start-handler starts: {e}; logs: {:#?}", e.logs()));
    let first = function.invoke_json(&event).await.unwrap();
    assert!(first.outcome.error().is_none(), "{:?}", first.outcome);
    let again = function.invoke_json(&event).await.unwrap();
    let report = function.finish().await;

    let summary: Value = serde_json::from_slice(first.outcome.payload()).unwrap();
    assert_eq!(
        (&summary["analysed"], &summary["started"]),
        (&json!(1), &json!(1)),
        "{summary}"
    );
    let summary: Value = serde_json::from_slice(again.outcome.payload()).unwrap();
    assert_eq!(summary["alreadyStarted"], json!(1), "{summary}");
    let name = loop_name(Some("media"), &object, 0);
    let input: Value =
        serde_json::from_str(&e.local.human_loop(&name).unwrap().input_content).unwrap();
    assert_eq!(
        input["aiServiceRequest"]["featureTypes"],
        json!(["FORMS", "TABLES"])
    );
    // The content flowed: the stored answer holds it.
    let answer = e.model_answer(&object).await;
    assert_answer_is_the_recording(&answer, &recording, Some(&input));

    let traced = report
        .logs
        .iter()
        .filter(|l| l.text.contains("\"TRACE\""))
        .count();
    assert!(traced > 0, "trace logging is on");
    for line in &report.logs {
        assert!(
            !line.text.contains(MARKER),
            "content in a log line: {}",
            line.text
        );
    }
    for payload in [first.outcome.payload(), again.outcome.payload()] {
        assert!(!String::from_utf8_lossy(payload).contains(MARKER));
    }
}
