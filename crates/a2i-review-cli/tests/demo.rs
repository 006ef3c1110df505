//! `a2i-review demo`'s raw-media path, end to end: the form image and the photos go through
//! the real start handlers in raw-media mode, Textract and Rekognition on a2i-local (replaying
//! the demo's recordings), A2I's evaluation of the flow definitions' conditions, the built-in
//! loops, the scripted reviewer's built-in answers and the real status handlers; the reviewed
//! results are read back from the kept data directory through a2i-local's public API.

use a2i_review::builtin::{ModelAnswer, TaskType};
use a2i_review_cli::demo::{self, DemoOptions, RawObject, INPUT_BUCKET, RESULTS_BUCKET};
use serde_json::Value;

async fn get(s3: &aws_sdk_s3::Client, uri: &str) -> Vec<u8> {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not an s3:// URI: {uri}"));
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{uri}: {e:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

fn counts(o: &RawObject) -> (&str, TaskType, usize, usize, usize, usize) {
    (
        o.object.as_str(),
        o.task_type,
        o.analysed,
        o.started,
        o.skipped,
        o.failed,
    )
}

#[tokio::test]
async fn the_raw_media_path_analyses_every_object_and_joins_reviews_with_model_answers() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("kept");
    let mut out = Vec::new();
    let report = demo::run(
        &DemoOptions {
            data_dir: Some(dir.clone()),
            ..DemoOptions::default()
        },
        &mut out,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8(out).unwrap();

    // The built-in path: the form and the beach photo get loops, the lighthouse none.
    let objects: Vec<_> = report.raw_objects.iter().map(counts).collect();
    assert_eq!(
        objects,
        [
            (
                "raw/forms/claim-form.png",
                TaskType::TextractForms,
                1,
                1,
                0,
                0
            ),
            (
                "raw/photos/beach.jpg",
                TaskType::RekognitionModeration,
                1,
                1,
                0,
                0
            ),
            (
                "raw/photos/lighthouse.png",
                TaskType::RekognitionModeration,
                1,
                0,
                1,
                0
            ),
        ],
        "{text}"
    );
    assert!(
        report.raw_objects[0].why.contains("\"Claim amount:\""),
        "{text}"
    );
    assert!(
        report.raw_objects[1].why.contains("Swimwear or Underwear"),
        "{text}"
    );
    // The custom path beside it is unchanged.
    assert_eq!(report.rows.len(), 5, "{text}");
    assert_eq!(report.raw_rows.len(), 2, "{text}");
    for needle in [
        "CUSTOM TASK TYPE",
        "BUILT-IN TASK TYPES",
        "no condition held",
        "loops started",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }

    let local = a2i_local::LocalA2i::builder()
        .data_dir(&dir)
        .start()
        .await
        .expect("a2i-local starts on the kept directory");
    let s3 = local.s3_client();

    // Every analysed object's model answer is stored, with the service's answer and
    // HumanLoopActivationOutput; the lighthouse's names no loop.
    for object in &report.raw_objects {
        assert!(
            object.model_answer_uri.starts_with(&format!(
                "s3://{RESULTS_BUCKET}/reviewed/{INPUT_BUCKET}/incoming/{}/",
                object.object
            )),
            "{object:?}"
        );
        let answer = ModelAnswer::parse(&get(&s3, &object.model_answer_uri).await)
            .unwrap_or_else(|e| panic!("{}: {e}", object.model_answer_uri));
        assert_eq!(answer.task_type, object.task_type);
        assert_eq!(answer.source.key, format!("incoming/{}", object.object));
        assert_eq!(answer.human_loop_name, object.human_loop_name);
        assert_eq!(answer.human_loop_arn.is_some(), object.started == 1);
        assert!(
            answer.response["HumanLoopActivationOutput"]
                ["HumanLoopActivationConditionsEvaluationResults"]
                .is_string(),
            "{}",
            answer.response
        );
    }

    // Each built-in loop's reviewed result: next to its object, Completed, the reviewer's
    // answer keyed by the request source, joined with the model answer of the same loop.
    for (row, object) in report.raw_rows.iter().zip(&report.raw_objects) {
        assert_eq!(row.loop_name, object.human_loop_name);
        assert_eq!(row.status, "Completed", "{row:?}");
        assert_eq!(
            row.result_uri,
            object.model_answer_uri.replace(".model.json", ".json")
        );
        let result: Value = serde_json::from_slice(&get(&s3, &row.result_uri).await).unwrap();
        assert_eq!(result["humanLoopName"], row.loop_name.as_str());
        let source = object.task_type.request_source().unwrap();
        let answer = &result["humanAnswers"][0]["answerContent"][source];
        assert!(answer.is_object(), "{source} answer in {result}");
        // The join: the stored model answer's key and response, and the model's side of the
        // summary next to the reviewer's.
        let model_key = object
            .model_answer_uri
            .strip_prefix(&format!("s3://{RESULTS_BUCKET}/"))
            .unwrap();
        assert_eq!(result["modelAnswerKey"], model_key, "{result}");
        let stored = ModelAnswer::parse(&get(&s3, &object.model_answer_uri).await).unwrap();
        assert_eq!(result["modelAnswer"], stored.response, "{result}");
        assert_eq!(result["taskType"], object.task_type.as_str(), "{result}");
    }
    let form = &report.raw_rows[0].note;
    assert!(
        form.contains("\"Claim amount:\" \"$1,840\" corrected to \"$1,840.00\""),
        "{form}"
    );
    let photo = &report.raw_rows[1].note;
    assert!(
        photo.contains("model said Swimwear or Underwear, Male Swimwear or Underwear")
            && photo.contains("reviewer confirmed Swimwear or Underwear"),
        "{photo}"
    );
    local.shutdown().await;
}
