//! The built-in task types on a2i-local: Textract `AnalyzeDocument` and Rekognition
//! `DetectModerationLabels` with `HumanLoopConfig`, through the real SDK clients over HTTP,
//! answering from recorded model outputs and starting loops as A2I does.

mod common;

use std::sync::{Arc, Mutex};

use a2i_local::{FlowLookup, FlowPolicy, RecordedAnalyses, S3Location, WorkerAnswer};
use aws_sdk_rekognition::types::{
    HumanLoopConfig as RekLoopConfig, Image, S3Object as RekS3Object,
};
use aws_sdk_textract::error::ProvideErrorMetadata;
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{Document, FeatureType, HumanLoopConfig, S3Object};
use common::{start_with, Local};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const REGION_ACCOUNT: &str = "arn:aws:sagemaker:us-east-1:111122223333";
const BUCKET: &str = "raw-media";

/// A PNG as far as every service's sniffing goes (the signature), unique per `tag`.
fn png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Flow definitions the tests control, as the control plane would answer them.
#[derive(Debug, Default)]
struct Flows(Mutex<Vec<FlowPolicy>>);

impl Flows {
    fn add(&self, name: &str, source: Option<&str>, conditions: Option<&str>) -> String {
        let arn = format!("{REGION_ACCOUNT}:flow-definition/{name}");
        self.0.lock().unwrap().push(FlowPolicy {
            name: name.to_owned(),
            arn: arn.clone(),
            output: S3Location {
                bucket: "a2i-local-output".into(),
                prefix: String::new(),
            },
            task_count: 1,
            task_time_limit: std::time::Duration::from_secs(3600),
            availability_lifetime: std::time::Duration::from_secs(86400),
            human_task_ui_arn: None,
            title: None,
            description: None,
            keywords: Vec::new(),
            request_source: source.map(str::to_owned),
            activation_conditions: conditions.map(str::to_owned),
        });
        arn
    }
}

impl FlowLookup for Flows {
    fn flow(&self, name: &str) -> Option<FlowPolicy> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|f| f.name == name)
            .cloned()
    }
}

const MODERATION: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";
const FORMS: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";

const SWIMWEAR_OVER_60: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"Swimwear","ConfidenceGreaterThan":60}}]}"#;
const TOTAL_UNSURE: &str = r#"{"Conditions":[{"Or":[
  {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Total:","ImportantFormKeyAliases":["Total"],"KeyValueBlockConfidenceLessThan":45,"WordBlockConfidenceLessThan":85}},
  {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy Number:"}}]}]}"#;

fn labels(confidence: f64) -> Value {
    json!({"ModerationLabels": [
        {"Confidence": confidence, "Name": "Swimwear", "ParentName": "Suggestive", "TaxonomyLevel": 2},
        {"Confidence": 55.0, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1}
    ], "ModerationModelVersion": "7.0"})
}

fn form(key_confidence: f64, with_policy_number: bool) -> Value {
    let mut blocks = vec![
        json!({"BlockType": "PAGE", "Id": "p", "Page": 1}),
        json!({"BlockType": "KEY_VALUE_SET", "Id": "k1", "EntityTypes": ["KEY"], "Confidence": key_confidence, "Page": 1,
               "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}, {"Type": "CHILD", "Ids": ["w1"]}]}),
        json!({"BlockType": "KEY_VALUE_SET", "Id": "v1", "EntityTypes": ["VALUE"], "Confidence": key_confidence, "Page": 1,
               "Relationships": [{"Type": "CHILD", "Ids": ["w2"]}]}),
        json!({"BlockType": "WORD", "Id": "w1", "Text": "Total", "Confidence": 99.1, "Page": 1}),
        json!({"BlockType": "WORD", "Id": "w2", "Text": "$148.99", "Confidence": 98.2, "Page": 1}),
    ];
    if with_policy_number {
        blocks.extend([
            json!({"BlockType": "KEY_VALUE_SET", "Id": "k2", "EntityTypes": ["KEY"], "Confidence": 97.0, "Page": 1,
                   "Relationships": [{"Type": "VALUE", "Ids": ["v2"]}, {"Type": "CHILD", "Ids": ["w3", "w4"]}]}),
            json!({"BlockType": "KEY_VALUE_SET", "Id": "v2", "EntityTypes": ["VALUE"], "Confidence": 97.0, "Page": 1,
                   "Relationships": [{"Type": "CHILD", "Ids": ["w5"]}]}),
            json!({"BlockType": "WORD", "Id": "w3", "Text": "Policy", "Confidence": 99.0, "Page": 1}),
            json!({"BlockType": "WORD", "Id": "w4", "Text": "Number:", "Confidence": 99.0, "Page": 1}),
            json!({"BlockType": "WORD", "Id": "w5", "Text": "P-1", "Confidence": 99.0, "Page": 1}),
        ]);
    }
    json!({"DocumentMetadata": {"Pages": 1}, "Blocks": blocks, "AnalyzeDocumentModelVersion": "1.0"})
}

struct Setup {
    local: Local,
    flows: Arc<Flows>,
}

async fn setup(recordings: &[(&str, &[u8], Value)]) -> Setup {
    let mut recorded = RecordedAnalyses::empty();
    for (service, bytes, response) in recordings {
        let doc = json!({"service": service, "match": {"sha256": sha256_hex(bytes)}, "response": response});
        recorded.add_json(doc.to_string().as_bytes()).unwrap();
    }
    let flows = Arc::new(Flows::default());
    let lookup: Arc<dyn FlowLookup> = flows.clone();
    let local = start_with(|b| {
        b.bucket(BUCKET)
            .recorded_analyses(recorded)
            .flow_lookup(lookup)
    })
    .await;
    Setup { local, flows }
}

impl Setup {
    async fn put(&self, key: &str, bytes: &[u8]) {
        self.local
            .s3()
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    fn rekognition(&self) -> aws_sdk_rekognition::Client {
        let conf = aws_sdk_rekognition::config::Builder::from(&self.local.handle.sdk_config())
            .endpoint_url(self.local.handle.a2i_endpoint())
            .build();
        aws_sdk_rekognition::Client::from_conf(conf)
    }

    fn textract(&self) -> aws_sdk_textract::Client {
        let conf = aws_sdk_textract::config::Builder::from(&self.local.handle.sdk_config())
            .endpoint_url(self.local.handle.a2i_endpoint())
            .build();
        aws_sdk_textract::Client::from_conf(conf)
    }

    async fn moderate(
        &self,
        key: &str,
        loop_name: &str,
        flow: &str,
    ) -> Result<
        aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsOutput,
        aws_sdk_rekognition::error::SdkError<
            aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsError,
        >,
    > {
        self.rekognition()
            .detect_moderation_labels()
            .image(
                Image::builder()
                    .s3_object(RekS3Object::builder().bucket(BUCKET).name(key).build())
                    .build(),
            )
            .human_loop_config(
                RekLoopConfig::builder()
                    .human_loop_name(loop_name)
                    .flow_definition_arn(flow)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
    }

    async fn analyse(
        &self,
        document: Document,
        loop_name: &str,
        flow: &str,
    ) -> Result<
        aws_sdk_textract::operation::analyze_document::AnalyzeDocumentOutput,
        aws_sdk_textract::error::SdkError<
            aws_sdk_textract::operation::analyze_document::AnalyzeDocumentError,
        >,
    > {
        self.textract()
            .analyze_document()
            .document(document)
            .feature_types(FeatureType::Forms)
            .human_loop_config(
                HumanLoopConfig::builder()
                    .human_loop_name(loop_name)
                    .flow_definition_arn(flow)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
    }
}

fn s3_document(key: &str) -> Document {
    Document::builder()
        .s3_object(S3Object::builder().bucket(BUCKET).name(key).build())
        .build()
}

fn error_code<E: aws_sdk_textract::error::ProvideErrorMetadata>(err: &E) -> (String, String) {
    (
        err.code().unwrap_or("").to_owned(),
        err.message().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn a_flagged_image_starts_a_loop_with_the_built_in_input_and_a_redelivery_starts_nothing_new()
{
    let image = png("beach");
    let s = setup(&[("rekognition", &image, labels(88.5))]).await;
    let flow = s
        .flows
        .add("moderation", Some(MODERATION), Some(SWIMWEAR_OVER_60));
    s.put("photos/beach.png", &image).await;

    let out = s
        .moderate("photos/beach.png", "beach-1", &flow)
        .await
        .unwrap();
    assert_eq!(out.moderation_labels().len(), 2);
    let activation = out
        .human_loop_activation_output()
        .expect("activation output");
    let arn = activation
        .human_loop_arn()
        .expect("a loop was started")
        .to_owned();
    assert!(arn.ends_with(":human-loop/beach-1"), "{arn}");
    assert_eq!(
        activation.human_loop_activation_reasons(),
        ["ConditionsEvaluation"]
    );
    let results: Value = serde_json::from_str(
        activation
            .human_loop_activation_conditions_evaluation_results()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(results["Conditions"][0]["EvaluationResult"], true);

    let record = s.local.handle.human_loop("beach-1").unwrap();
    let input: Value = serde_json::from_str(&record.input_content).unwrap();
    assert_eq!(
        input["aiServiceRequest"]["image"]["s3Object"],
        json!({"bucket": BUCKET, "name": "photos/beach.png"})
    );
    assert_eq!(
        input["aiServiceRequest"]["humanLoopConfig"]["humanLoopName"],
        "beach-1"
    );
    assert_eq!(
        input["aiServiceResponse"]["moderationLabels"][0]["name"],
        "Swimwear"
    );
    assert_eq!(input["humanTaskActivationConditionResults"], results);
    // Only the label the condition flagged is put in front of the reviewer.
    assert_eq!(
        input["selectedAiServiceResponse"]["moderationLabels"],
        json!([{"confidence": 88.5, "name": "Swimwear", "parentName": "Suggestive", "taxonomyLevel": 2}])
    );

    // The same upload analysed again (a redelivered event): the same loop, nothing new.
    let again = s
        .moderate("photos/beach.png", "beach-1", &flow)
        .await
        .unwrap();
    assert_eq!(
        again
            .human_loop_activation_output()
            .unwrap()
            .human_loop_arn(),
        Some(arn.as_str())
    );
    assert_eq!(s.local.handle.pending().len(), 1);

    // Answered, the name is spent: Textract's observed answer for a finished loop.
    let answer =
        json!({"AWS/Rekognition/DetectModerationLabels/Image/V3": {"moderationLabels": []}});
    let ended = s
        .local
        .handle
        .answer("beach-1", &[WorkerAnswer::new(answer.clone())])
        .await
        .unwrap();
    // output.json has the real built-in file's layout: the input's members at the top level,
    // no inputContent.
    let uri = ended.output_s3_uri.expect("a Completed loop's output");
    let (bucket, key) = uri.trim_start_matches("s3://").split_once('/').unwrap();
    let object = s
        .local
        .s3()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let output: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    let mut members: Vec<&str> = output
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "aiServiceRequest",
            "aiServiceResponse",
            "awsManagedHumanLoopRequestSource",
            "flowDefinitionArn",
            "humanAnswers",
            "humanLoopName",
            "humanTaskActivationConditionResults",
            "selectedAiServiceResponse"
        ]
    );
    assert_eq!(output["awsManagedHumanLoopRequestSource"], MODERATION);
    for member in [
        "aiServiceRequest",
        "aiServiceResponse",
        "humanTaskActivationConditionResults",
        "selectedAiServiceResponse",
    ] {
        assert_eq!(output[member], input[member], "{member}");
    }
    assert_eq!(output["humanAnswers"][0]["answerContent"], answer);
    let err = s
        .moderate("photos/beach.png", "beach-1", &flow)
        .await
        .unwrap_err();
    let (code, message) = error_code(err.as_service_error().unwrap());
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("already exists and is finished"),
        "{message}"
    );
}

#[tokio::test]
async fn an_image_no_condition_flags_is_answered_without_a_loop() {
    let image = png("park");
    let s = setup(&[("rekognition", &image, labels(30.0))]).await;
    let flow = s
        .flows
        .add("moderation", Some(MODERATION), Some(SWIMWEAR_OVER_60));
    s.put("photos/park.png", &image).await;
    let out = s
        .moderate("photos/park.png", "park-1", &flow)
        .await
        .unwrap();
    // MinConfidence defaults to 50: the 30% label is not returned.
    assert_eq!(out.moderation_labels().len(), 1);
    let activation = out.human_loop_activation_output().unwrap();
    assert_eq!(activation.human_loop_arn(), None);
    assert!(activation.human_loop_activation_reasons().is_empty());
    let results: Value = serde_json::from_str(
        activation
            .human_loop_activation_conditions_evaluation_results()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(results["Conditions"][0]["EvaluationResult"], false);
    assert!(s.local.handle.pending().is_empty());
}

#[tokio::test]
async fn a_single_page_form_with_an_unsure_key_starts_a_loop_and_a_confident_one_does_not() {
    let unsure = png("form-unsure");
    let sure = png("form-sure");
    let s = setup(&[
        ("textract", &unsure, form(41.3, true)),
        ("textract", &sure, form(96.0, true)),
    ])
    .await;
    let flow = s.flows.add("forms", Some(FORMS), Some(TOTAL_UNSURE));
    s.put("forms/unsure.png", &unsure).await;

    let out = s
        .analyse(s3_document("forms/unsure.png"), "form-1", &flow)
        .await
        .unwrap();
    assert_eq!(out.blocks().len(), 10);
    let arn = out
        .human_loop_activation_output()
        .unwrap()
        .human_loop_arn()
        .unwrap();
    assert!(arn.ends_with("human-loop/form-1"));
    let record = s.local.handle.human_loop("form-1").unwrap();
    let input: Value = serde_json::from_str(&record.input_content).unwrap();
    assert_eq!(input["aiServiceRequest"]["featureTypes"], json!(["FORMS"]));
    assert_eq!(input["aiServiceResponse"]["documentMetadata"]["pages"], 1);
    let results = &input["humanTaskActivationConditionResults"]["Conditions"][0];
    assert_eq!(results["EvaluationResult"], true);
    assert_eq!(results["Or"][0]["EvaluationResult"], true);
    assert_eq!(results["Or"][1]["EvaluationResult"], false);
    let selected: Vec<&str> = input["selectedAiServiceResponse"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(selected, ["k1", "v1", "w1", "w2"]);

    // Sent as bytes this time: analysed the same way, no loop for a confident form.
    let out = s
        .analyse(
            Document::builder().bytes(Blob::new(sure.clone())).build(),
            "form-2",
            &flow,
        )
        .await
        .unwrap();
    assert!(out
        .human_loop_activation_output()
        .unwrap()
        .human_loop_arn()
        .is_none());
    assert!(s.local.handle.human_loop("form-2").is_err());
}

#[tokio::test]
async fn requests_the_emulator_cannot_answer_are_clear_typed_errors() {
    let image = png("known");
    let s = setup(&[("rekognition", &image, labels(90.0))]).await;
    let moderation = s
        .flows
        .add("moderation", Some(MODERATION), Some(SWIMWEAR_OVER_60));
    let custom = s.flows.add("custom", None, None);
    s.put("known.png", &image).await;
    s.put("unknown.png", &png("never recorded")).await;
    s.put("notes.txt", b"plain text").await;
    let two_pages = b"%PDF-1.4\n<</Type/Pages/Count 2>>\n<</Type/Page>>\n<</Type/Page>>".to_vec();
    s.put("two-pages.pdf", &two_pages).await;

    // No recording: the message says how to make one, naming the object and its digest.
    let err = s
        .moderate("unknown.png", "u-1", &moderation)
        .await
        .unwrap_err();
    let (code, message) = error_code(err.as_service_error().unwrap());
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("s3://raw-media/unknown.png") && message.contains("--recorded-analyses"),
        "{message}"
    );

    // Not an image.
    let err = s
        .moderate("notes.txt", "t-1", &moderation)
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_invalid_image_format_exception(),
        "{err:?}"
    );

    // A missing object.
    let err = s
        .moderate("gone.png", "g-1", &moderation)
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_invalid_s3_object_exception(),
        "{err:?}"
    );

    // A flow definition of a custom task type: its request source does not match.
    let err = s.moderate("known.png", "c-1", &custom).await.unwrap_err();
    let (_, message) = error_code(err.as_service_error().unwrap());
    assert!(message.contains("HumanLoopRequestSource"), "{message}");

    // An unknown flow definition: Rekognition's ResourceNotFoundException.
    let missing = format!("{REGION_ACCOUNT}:flow-definition/nope");
    let err = s.moderate("known.png", "n-1", &missing).await.unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{err:?}"
    );

    // A two-page PDF cannot go through synchronous AnalyzeDocument.
    let forms = s.flows.add("forms", Some(FORMS), Some(TOTAL_UNSURE));
    let err = s
        .analyse(s3_document("two-pages.pdf"), "p-1", &forms)
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_unsupported_document_exception(), "{err:?}");
    assert!(service.message().unwrap().contains("2 pages"));

    // Nothing was started by any of them.
    assert!(s.local.handle.pending().is_empty());
}
