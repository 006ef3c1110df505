//! `a2i-review loops` against a started a2i-local, with real SDK clients over HTTP on
//! loopback: listing with filters and pages, joining the registry, stop and delete of one loop
//! and of a filter (dry run, consent, idempotency), and the built binary configured only by
//! the standard AWS endpoint variables.

use std::process::Command;
use std::time::{Duration, SystemTime};

use a2i_local::{LocalA2i, LocalA2iHandle, WorkerAnswer};
use a2i_review_cli::loops::{
    self, Action, ActionOptions, Clients, Consent, LoopsError, Outcome, OutputMode,
    RegistryLocation, Selection, Target,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemakera2iruntime::types::{HumanLoopInput, HumanLoopStatus};
use serde_json::{json, Value};

const RESULTS: &str = "loops-results";

async fn local() -> LocalA2iHandle {
    LocalA2i::builder()
        .bucket(RESULTS)
        .start()
        .await
        .expect("a2i-local starts")
}

fn clients(local: &LocalA2iHandle) -> Clients {
    Clients {
        a2i: local.a2i_client(),
        s3: local.s3_client(),
    }
}

fn flow(local: &LocalA2iHandle, name: &str) -> String {
    local.flow_definition_arn(name)
}

/// Starts `name` on `flow` through the A2I port.
async fn start(local: &LocalA2iHandle, flow: &str, name: &str) {
    local
        .a2i_client()
        .start_human_loop()
        .human_loop_name(name)
        .flow_definition_arn(flow)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(json!({"taskObject": {"secret": "ITEM-CONTENT"}}).to_string())
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("start {name}: {e:?}"));
}

/// Four loops on one flow definition: one per final status, and one waiting.
async fn four_loops(local: &LocalA2iHandle, flow: &str) {
    for name in ["waiting", "answered", "expired", "stopped"] {
        start(local, flow, name).await;
    }
    local
        .answer("answered", &[WorkerAnswer::new(json!({"ok": true}))])
        .await
        .unwrap();
    local.expire("expired").await.unwrap();
    local.stop("stopped").await.unwrap();
    local.settled().await;
}

fn status(local: &LocalA2iHandle, name: &str) -> String {
    match local.human_loop(name) {
        Ok(r) => r.status.as_str().to_owned(),
        Err(_) => "absent".to_owned(),
    }
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

async fn list_jsonl(
    c: &Clients,
    selection: &Selection,
    registry: Option<&RegistryLocation>,
) -> Vec<Value> {
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    loops::list(
        c,
        selection,
        registry,
        OutputMode::JsonLines,
        &mut out,
        &mut diag,
    )
    .await
    .unwrap();
    lines(&out)
}

fn names(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["humanLoopName"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn list_reports_every_loop_with_status_and_age_and_filters_by_status_age_and_time() {
    let local = local().await;
    let (f, other) = (flow(&local, "ops-list"), flow(&local, "ops-other"));
    four_loops(&local, &f).await;
    start(&local, &other, "elsewhere").await;
    let c = clients(&local);

    let all = list_jsonl(&c, &Selection::all(&f), None).await;
    assert_eq!(
        names(&all),
        ["waiting", "answered", "expired", "stopped"],
        "oldest first, one flow definition"
    );
    let by_name = |n: &str| {
        all.iter()
            .find(|r| r["humanLoopName"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("waiting")["status"], "InProgress");
    assert_eq!(by_name("answered")["status"], "Completed");
    assert_eq!(by_name("expired")["status"], "Failed");
    assert!(by_name("expired")["failureReason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(by_name("stopped")["status"], "Stopped");
    assert_eq!(by_name("waiting")["flowDefinitionArn"], f.as_str());
    assert!(by_name("waiting")["ageSeconds"].as_u64().unwrap() < 60);
    assert_eq!(by_name("waiting")["registry"], "not-looked-up");

    let mut s = Selection::all(&f);
    s.statuses = vec![HumanLoopStatus::Failed, HumanLoopStatus::Stopped];
    assert_eq!(
        names(&list_jsonl(&c, &s, None).await),
        ["expired", "stopped"]
    );

    // Nothing is a week old now; eight days from now, everything is.
    let mut s = Selection::all(&f);
    s.older_than = Some(Duration::from_secs(7 * 86_400));
    assert!(list_jsonl(&c, &s, None).await.is_empty());
    s.now = SystemTime::now() + Duration::from_secs(8 * 86_400);
    s.statuses = vec![HumanLoopStatus::InProgress];
    let old = list_jsonl(&c, &s, None).await;
    assert_eq!(names(&old), ["waiting"]);
    assert!(old[0]["ageSeconds"].as_u64().unwrap() >= 8 * 86_400);

    let mut s = Selection::all(&f);
    s.created_after = Some(SystemTime::now() + Duration::from_secs(3_600));
    assert!(list_jsonl(&c, &s, None).await.is_empty());
    s.created_after = Some(SystemTime::now() - Duration::from_secs(3_600));
    assert_eq!(list_jsonl(&c, &s, None).await.len(), 4);

    // The table: a header, one row per loop, a count per status.
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    loops::list(
        &c,
        &Selection::all(&f),
        None,
        OutputMode::Text,
        &mut out,
        &mut diag,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("NAME") && rows[0].contains("STATUS") && rows[0].contains("AGE"),
        "{text}"
    );
    assert!(
        rows[1].starts_with("waiting") && rows[1].contains("InProgress"),
        "{text}"
    );
    assert_eq!(
        rows.last().copied(),
        Some("4 loops: 1 InProgress, 1 Completed, 1 Failed, 1 Stopped")
    );
    assert!(!text.contains("ITEM-CONTENT"));
    local.shutdown().await;
}

#[tokio::test]
async fn list_pages_through_every_loop() {
    let local = local().await;
    let f = flow(&local, "ops-pages");
    for i in 0..230 {
        start(&local, &f, &format!("page-loop-{i:03}")).await;
    }
    let c = clients(&local);
    let all = list_jsonl(&c, &Selection::all(&f), None).await;
    assert_eq!(all.len(), 230, "three pages of at most 100");
    let mut seen: Vec<&str> = names(&all);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 230, "no loop twice");
    local.shutdown().await;
}

async fn put(local: &LocalA2iHandle, key: &str, body: String) {
    local
        .s3_client()
        .put_object()
        .bucket(RESULTS)
        .key(key)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .unwrap();
}

fn registration(name: &str, flow: &str) -> Value {
    json!({
        "schema": "a2i-review/loop-registration/v1",
        "humanLoopName": name,
        "flowDefinitionArn": flow,
        "source": {"bucket": "in", "key": "batches/day 1.jsonl", "versionId": "v7", "eTag": "e1"},
        "itemIndex": 3, "line": 4, "inputSha256": "ab".repeat(32),
        "createdAt": "2026-11-29T10:00:00Z", "restartOf": null, "generation": 0
    })
}

#[tokio::test]
async fn list_and_describe_join_each_loop_with_its_registration() {
    let local = local().await;
    let f = flow(&local, "ops-registry");
    four_loops(&local, &f).await;
    let registry = RegistryLocation {
        bucket: RESULTS.into(),
        prefix: "loops/".into(),
    };
    put(
        &local,
        "loops/expired.json",
        registration("expired", &f).to_string(),
    )
    .await;
    let mut broken = registration("stopped", &f);
    broken["itemIndex"] = json!("ITEM-CONTENT");
    put(&local, "loops/stopped.json", broken.to_string()).await;
    let c = clients(&local);

    let all = list_jsonl(&c, &Selection::all(&f), Some(&registry)).await;
    let by_name = |n: &str| {
        all.iter()
            .find(|r| r["humanLoopName"] == n)
            .unwrap()
            .clone()
    };
    let expired = by_name("expired");
    assert_eq!(expired["registry"], "registered");
    assert_eq!(expired["source"]["key"], "batches/day 1.jsonl");
    assert_eq!(expired["source"]["versionId"], "v7");
    assert_eq!(
        (expired["itemIndex"].as_u64(), expired["line"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(expired["generation"], 0);
    assert_eq!(by_name("waiting")["registry"], "unregistered");
    let stopped = by_name("stopped");
    assert_eq!(stopped["registry"], "unreadable");
    let why = stopped["registryError"].as_str().unwrap();
    assert!(
        why.contains("loops/stopped.json") && why.contains("itemIndex"),
        "{why}"
    );
    assert!(!why.contains("ITEM-CONTENT"), "{why}");

    let mut out = Vec::new();
    loops::describe(
        &c,
        "expired",
        Some(&registry),
        OutputMode::Text,
        SystemTime::now(),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("status            Failed"), "{text}");
    assert!(
        text.contains("source            s3://in/batches/day 1.jsonl line 4"),
        "{text}"
    );
    assert!(text.contains("failure code"), "{text}");
    let mut out = Vec::new();
    loops::describe(
        &c,
        "answered",
        None,
        OutputMode::JsonLines,
        SystemTime::now(),
        &mut out,
    )
    .await
    .unwrap();
    let record = &lines(&out)[0];
    assert_eq!(record["status"], "Completed");
    assert!(record["outputS3Uri"]
        .as_str()
        .unwrap()
        .ends_with("/output.json"));
    assert!(record["humanLoopArn"]
        .as_str()
        .unwrap()
        .ends_with("/answered"));

    let err = loops::describe(
        &c,
        "nope",
        None,
        OutputMode::Text,
        SystemTime::now(),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LoopsError::NotFound { ref name } if name == "nope"),
        "{err}"
    );
    local.shutdown().await;
}

async fn act(
    c: &Clients,
    action: Action,
    target: Target,
    dry_run: bool,
    consent: Consent<'_>,
) -> Result<(Vec<(String, Outcome)>, String), LoopsError> {
    let options = ActionOptions {
        target,
        dry_run,
        output: OutputMode::Text,
    };
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    let report = loops::act(c, action, &options, consent, &mut out, &mut diag).await?;
    let outcomes = report
        .results
        .into_iter()
        .map(|r| (r.name, r.outcome))
        .collect();
    Ok((outcomes, String::from_utf8(out).unwrap()))
}

fn one(name: &str) -> Target {
    Target::Name(name.to_owned())
}

#[tokio::test]
async fn stop_and_delete_of_one_loop_are_idempotent_and_say_what_they_did() {
    let local = local().await;
    let f = flow(&local, "ops-one");
    four_loops(&local, &f).await;
    let c = clients(&local);
    let outcome =
        |r: Result<(Vec<(String, Outcome)>, String), LoopsError>| r.unwrap().0.remove(0).1;

    // Dry run: nothing changes.
    let (results, text) = act(&c, Action::Stop, one("waiting"), true, Consent::Unavailable)
        .await
        .unwrap();
    assert!(
        matches!(results[0].1, Outcome::Would { action: "stop", .. }),
        "{results:?}"
    );
    assert!(
        text.contains("would stop") && text.contains("waiting (was InProgress)"),
        "{text}"
    );
    assert_eq!(status(&local, "waiting"), "InProgress");

    // A single loop needs no consent.
    assert_eq!(
        outcome(
            act(
                &c,
                Action::Stop,
                one("waiting"),
                false,
                Consent::Unavailable
            )
            .await
        ),
        Outcome::Stopped
    );
    local.settled().await;
    assert_eq!(status(&local, "waiting"), "Stopped");
    assert_eq!(
        outcome(
            act(
                &c,
                Action::Stop,
                one("waiting"),
                false,
                Consent::Unavailable
            )
            .await
        ),
        Outcome::AlreadyStopped
    );
    assert_eq!(
        outcome(
            act(
                &c,
                Action::Stop,
                one("answered"),
                false,
                Consent::Unavailable
            )
            .await
        ),
        Outcome::NotRunning
    );
    let err = act(
        &c,
        Action::Stop,
        one("never-was"),
        false,
        Consent::Unavailable,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LoopsError::NotFound { .. }), "{err}");

    start(&local, &f, "busy").await;
    assert_eq!(
        outcome(act(&c, Action::Delete, one("busy"), false, Consent::Unavailable).await),
        Outcome::NotDeletable
    );
    assert_eq!(status(&local, "busy"), "InProgress");
    let (results, _) = act(
        &c,
        Action::Delete,
        one("expired"),
        true,
        Consent::Unavailable,
    )
    .await
    .unwrap();
    assert!(matches!(
        results[0].1,
        Outcome::Would {
            action: "delete",
            ..
        }
    ));
    assert_eq!(status(&local, "expired"), "Failed");
    assert_eq!(
        outcome(
            act(
                &c,
                Action::Delete,
                one("expired"),
                false,
                Consent::Unavailable
            )
            .await
        ),
        Outcome::Deleted
    );
    assert_eq!(status(&local, "expired"), "absent");
    let (results, text) = act(
        &c,
        Action::Delete,
        one("expired"),
        false,
        Consent::Unavailable,
    )
    .await
    .unwrap();
    assert_eq!(
        results[0].1,
        Outcome::AlreadyDeleted,
        "deleting twice is not a failure"
    );
    assert!(text.contains("already deleted"), "{text}");
    local.shutdown().await;
}

#[tokio::test]
async fn a_bulk_action_needs_consent_and_acts_only_on_the_loops_its_filter_selects() {
    let local = local().await;
    let f = flow(&local, "ops-bulk");
    four_loops(&local, &f).await;
    for i in 0..12 {
        start(&local, &f, &format!("backlog-{i:02}")).await;
    }
    let c = clients(&local);
    let in_progress = || {
        let mut s = Selection::all(&f);
        s.statuses = vec![HumanLoopStatus::InProgress];
        // Eight days from now, every loop is older than a week.
        s.older_than = Some(Duration::from_secs(7 * 86_400));
        s.now = SystemTime::now() + Duration::from_secs(8 * 86_400);
        Target::Filter(s)
    };
    let still_waiting = |local: &LocalA2iHandle| {
        (0..12)
            .filter(|i| status(local, &format!("backlog-{i:02}")) == "InProgress")
            .count()
            + usize::from(status(local, "waiting") == "InProgress")
    };

    let (results, text) = act(&c, Action::Stop, in_progress(), true, Consent::Unavailable)
        .await
        .unwrap();
    assert_eq!(results.len(), 13, "{text}");
    assert!(results
        .iter()
        .all(|(_, o)| matches!(o, Outcome::Would { .. })));
    assert!(
        text.ends_with("stop (dry run, nothing changed): 13 loops: 13 would stop\n"),
        "{text}"
    );
    assert_eq!(still_waiting(&local), 13);

    let err = act(&c, Action::Stop, in_progress(), false, Consent::Unavailable)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LoopsError::ConsentRequired { count: 13, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--yes"), "{err}");
    let mut asked = Vec::new();
    let mut no = |q: &str| {
        asked.push(q.to_owned());
        Ok(false)
    };
    let err = act(
        &c,
        Action::Stop,
        in_progress(),
        false,
        Consent::Ask(&mut no),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LoopsError::Declined { count: 13, .. }),
        "{err}"
    );
    assert!(
        asked[0].starts_with("Stop 13 loops (flow definition")
            && asked[0].contains("status InProgress"),
        "{asked:?}"
    );
    assert_eq!(still_waiting(&local), 13, "nothing done without consent");

    let mut yes = |_: &str| Ok(true);
    let (results, _) = act(
        &c,
        Action::Stop,
        in_progress(),
        false,
        Consent::Ask(&mut yes),
    )
    .await
    .unwrap();
    assert_eq!(results.len(), 13);
    assert!(
        results.iter().all(|(_, o)| *o == Outcome::Stopped),
        "{results:?}"
    );
    local.settled().await;
    assert_eq!(still_waiting(&local), 0);
    assert_eq!(
        status(&local, "answered"),
        "Completed",
        "outside the filter"
    );

    // Delete every finished loop; a second run finds nothing left.
    let finished = || {
        let mut s = Selection::all(&f);
        s.statuses = vec![
            HumanLoopStatus::Completed,
            HumanLoopStatus::Failed,
            HumanLoopStatus::Stopped,
        ];
        Target::Filter(s)
    };
    let (results, _) = act(&c, Action::Delete, finished(), false, Consent::Given)
        .await
        .unwrap();
    assert_eq!(results.len(), 16);
    assert!(
        results.iter().all(|(_, o)| *o == Outcome::Deleted),
        "{results:?}"
    );
    let (results, text) = act(&c, Action::Delete, finished(), false, Consent::Unavailable)
        .await
        .unwrap();
    assert!(results.is_empty(), "{results:?}");
    assert!(text.contains("delete: 0 loops"), "{text}");
    local.shutdown().await;
}

/// The built binary, configured only by the standard AWS variables a2i-local prints.
fn binary(local: &LocalA2iHandle, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_a2i-review"));
    cmd.arg("loops")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("AWS_PROFILE");
    for (name, value) in local.env_vars() {
        cmd.env(name, value);
    }
    cmd.stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs")
}

// The binary runs as a blocking child process: a2i-local needs threads of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_uses_the_standard_aws_configuration_and_refuses_an_unconfirmed_bulk_action() {
    let local = local().await;
    let f = flow(&local, "ops-binary");
    four_loops(&local, &f).await;

    let out = binary(
        &local,
        &[
            "list",
            "--flow-definition-arn",
            &f,
            "--output",
            "jsonl",
            "--status",
            "InProgress",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&lines(&out.stdout)), ["waiting"]);

    let out = binary(
        &local,
        &[
            "stop",
            "--flow-definition-arn",
            &f,
            "--status",
            "InProgress",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("confirm with --yes"), "{stderr}");
    assert_eq!(status(&local, "waiting"), "InProgress");

    let out = binary(
        &local,
        &[
            "stop",
            "--flow-definition-arn",
            &f,
            "--status",
            "InProgress",
            "--yes",
            "--output",
            "jsonl",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = lines(&out.stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["outcome"], "stopped");
    assert_eq!(records[0]["statusBefore"], "InProgress");
    local.settled().await;
    assert_eq!(status(&local, "waiting"), "Stopped");

    let out = binary(&local, &["delete", "waiting"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = binary(&local, &["delete", "busy-or-not"]);
    assert!(out.status.success(), "an absent loop is already deleted");
    start(&local, &f, "busy").await;
    let out = binary(&local, &["delete", "busy"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an InProgress loop cannot be deleted"
    );
    let out = binary(&local, &["stop"]);
    assert_eq!(out.status.code(), Some(2));
    local.shutdown().await;
}

mod restart {
    use super::*;
    use a2i_review::config::{DocumentFormat, StartConfig, StatusConfig};
    use a2i_review::loop_input::LoopInput;
    use a2i_review::registry::{LoopRegistration, Registry};
    use a2i_review_cli::loops::{restart_name, RestartOptions};
    use a2i_review_cli::pipeline::{Pipeline, Route};

    const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/restart-test";
    const INPUT: &str = "restart-input";
    const KEY: &str = "incoming/scores/batch.jsonl";

    fn conditions(limit: f64) -> String {
        json!({"Conditions": [{"ConditionType": "JsonPathCheck",
            "ConditionParameters": {"Path": "$.score", "LessThan": limit}}]})
        .to_string()
    }

    async fn pipeline() -> Pipeline {
        let start = StartConfig::from_lookup(|name| match name {
            "FLOW_DEFINITION_ARN" => Some(FLOW.to_owned()),
            "ACTIVATION_CONDITIONS" => Some(conditions(0.5)),
            "LOOP_NAME_PREFIX" => Some("scores".to_owned()),
            _ => None,
        })
        .unwrap();
        let status = StatusConfig::from_lookup(|name| match name {
            "RESULTS_BUCKET" => Some(RESULTS.to_owned()),
            _ => None,
        })
        .unwrap();
        Pipeline::builder(format!("s3://{INPUT}/incoming"), status)
            .route(Route {
                name: "scores".into(),
                key_prefix: "incoming/scores/".into(),
                config: start,
            })
            .start()
            .await
            .unwrap()
    }

    /// The real start handler's loops for a three-line upload (lines 2 and 3 flagged), each
    /// registered as the start function registers it: name, item, digest of the input it sent.
    async fn registered_loops(p: &Pipeline) -> Vec<String> {
        let body = [0.9, 0.2, 0.35]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{}\n",
                    json!({"id": i, "score": s, "secret": "ITEM-CONTENT"})
                )
            })
            .collect::<String>();
        p.upload(KEY, body).await.unwrap();
        let local = p.local();
        let registry = Registry::new(local.s3_client(), RESULTS, "loops/");
        let mut names = Vec::new();
        for pending in local.pending() {
            let record = local.human_loop(&pending.human_loop_name).unwrap();
            let input: LoopInput = serde_json::from_str(&record.input_content).unwrap();
            if registry.read(&record.name).await.unwrap().is_none() {
                let r = LoopRegistration::new(
                    &record.name,
                    FLOW,
                    &input.source,
                    &record.input_content,
                    chrono::Utc::now(),
                );
                registry.write(&r).await.unwrap();
            }
            names.push(record.name);
        }
        names
    }

    fn options(name: &str, limit: f64, dry_run: bool) -> RestartOptions {
        RestartOptions {
            name: name.to_owned(),
            registry: RegistryLocation {
                bucket: RESULTS.into(),
                prefix: "loops/".into(),
            },
            conditions: a2i_review::config::parse_conditions_document(&conditions(limit)).unwrap(),
            format: DocumentFormat::Auto,
            items_path: None,
            media_path: None,
            content_classifiers: Vec::new(),
            dry_run,
            output: OutputMode::JsonLines,
        }
    }

    async fn restart(c: &Clients, o: &RestartOptions) -> Result<(Outcome, Value), LoopsError> {
        let mut out = Vec::new();
        let result = loops::restart(c, o, &mut out).await?;
        Ok((result.outcome, lines(&out).remove(0)))
    }

    #[tokio::test]
    async fn restarting_an_expired_loop_twice_starts_exactly_one_loop_with_the_same_input() {
        let p = pipeline().await;
        let names = registered_loops(&p).await;
        assert_eq!(names.len(), 2);
        let (expired, waiting) = (&names[0], &names[1]);
        let local = p.local();
        local.expire(expired).await.unwrap();
        local.settled().await;
        let c = clients(local);
        let before = list_jsonl(&c, &Selection::all(FLOW), None).await.len();

        // Only Failed and Stopped loops are restarted.
        let err = restart(&c, &options(waiting, 0.5, false))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("InProgress"), "{err}");

        // Other conditions would show the reviewer another input: refused, nothing started.
        let err = restart(&c, &options(expired, 0.3, false))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("SHA-256"), "{err}");
        assert!(!err.to_string().contains("ITEM-CONTENT"), "{err}");

        let new_name = restart_name(expired, 1);
        let (outcome, line) = restart(&c, &options(expired, 0.5, true)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Would {
                action: "restart",
                new_name: Some(new_name.clone())
            }
        );
        assert_eq!(line["dryRun"], true);
        assert!(
            local.human_loop(&new_name).is_err(),
            "a dry run starts nothing"
        );

        let (outcome, line) = restart(&c, &options(expired, 0.5, false)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Restarted {
                new_name: new_name.clone()
            }
        );
        assert_eq!(line["outcome"], "restarted");
        assert_eq!(line["newHumanLoopName"], new_name.as_str());
        let (outcome, line) = restart(&c, &options(expired, 0.5, false)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::AlreadyRestarted {
                new_name: new_name.clone(),
                status: "InProgress".into()
            }
        );
        assert_eq!(line["outcome"], "already-restarted");
        assert_eq!(
            list_jsonl(&c, &Selection::all(FLOW), None).await.len(),
            before + 1,
            "exactly one new loop"
        );

        // The new loop carries exactly the input the start handler sent, and is registered.
        let old = local.human_loop(expired).unwrap();
        let new = local.human_loop(&new_name).unwrap();
        assert_eq!(new.input_content, old.input_content);
        assert_eq!(new.flow_definition_arn, old.flow_definition_arn);
        let registry = Registry::new(local.s3_client(), RESULTS, "loops/");
        let original = registry.read(expired).await.unwrap().unwrap();
        let registration = registry
            .read(&new_name)
            .await
            .unwrap()
            .expect("the restart is registered");
        assert_eq!(registration.restart_of.as_deref(), Some(expired.as_str()));
        assert_eq!(registration.generation, 1);
        assert_eq!(registration.source, original.source);
        assert_eq!(
            (registration.item_index, registration.line),
            (original.item_index, original.line)
        );
        assert_eq!(registration.input_sha256, original.input_sha256);

        // The restart can itself be restarted once it fails: generation 2, same stem.
        local.stop(&new_name).await.unwrap();
        local.settled().await;
        let (outcome, _) = restart(&c, &options(&new_name, 0.5, false)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Restarted {
                new_name: restart_name(expired, 2)
            }
        );
        p.shutdown().await;
    }
}
