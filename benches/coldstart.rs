//! Cold start of the two functions next to a hello-world `lambda_runtime` bootstrap, each run
//! as Lambda runs it: the bootstrap spawned under a local Runtime API (`lambda-harness`), the
//! functions against an in-process a2i-local, the first event a real S3 notification (or A2I
//! status event) so that the first invocation does the real GetObject + StartHumanLoop (or
//! GetObject + PutObject).
//!
//! `cargo bench --bench coldstart` builds the release bootstraps (the deployable artifacts:
//! the release profile, into `<target>/coldstart`, because `cargo bench` holds the lock of
//! `<target>/release`) and runs `COLDSTART_PASSES` passes (default 7) of hello-world, start
//! handler and status handler, in an order that rotates from pass to pass, each with
//! `COLDSTART_WARM` warm invocations (default 5).
//! It prints the medians of init, first invocation, warm invocation and peak RSS, and the
//! ratio of each function's init to the hello-world's (the goal is ≤ 2×).
//! `COLDSTART_BIN_DIR=DIR` measures the three binaries found in `DIR` instead of building;
//! `COLDSTART_BASELINE_DIR=DIR` adds the `start-handler` and `status-handler` of `DIR` (another
//! build, say main's) to every pass, so two builds are compared side by side in one run.
//!
//! Under `cargo test` one short pass runs on the debug binaries (the hello-world is this
//! benchmark binary itself, re-executed), so the benchmark cannot rot; its numbers mean
//! nothing there. Numbers are never asserted: shared machines are noisy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{LocalA2i, LocalA2iHandle, WorkerAnswer};
use lambda_harness::{median, Function, Invocation, Outcome, Running};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Set in the environment of a re-executed benchmark binary that should act as the
/// hello-world bootstrap (test mode only).
const HELLO_ROLE: &str = "COLDSTART_BENCH_HELLO_ROLE";
const INPUT_BUCKET: &str = "coldstart-input";
const RESULTS_BUCKET: &str = "coldstart-results";
const FLOW: &str = "coldstart-flow";

/// Flags every item whose top prediction is below 0.6: the uploaded items all are.
const CONDITIONS: &str = r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}}]}"#;

/// The three bootstraps measured.
struct Binaries {
    hello: PathBuf,
    /// Extra variables for the hello-world (the role flag when it is this binary).
    hello_env: Vec<(String, String)>,
    start: PathBuf,
    status: PathBuf,
}

/// One bootstrap's numbers over the passes.
#[derive(Default)]
struct Samples {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    rss_kib: Vec<u64>,
}

impl Samples {
    fn add(&mut self, init: Duration, invocations: &[Invocation], rss_kib: Option<u64>) {
        self.init.push(init);
        if let Some((first, warm)) = invocations.split_first() {
            self.first.push(first.duration);
            self.warm.extend(warm.iter().map(|i| i.duration));
        }
        self.rss_kib.extend(rss_kib);
    }

    fn row(&self, name: &str) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut rss = self.rss_kib.clone();
        rss.sort_unstable();
        let rss_mib = rss.get(rss.len() / 2).map_or(0.0, |k| *k as f64 / 1024.0);
        format!(
            "{name:<18} {:>9.2} {:>10.2} {:>9.2} {:>14.1}",
            ms(median(&self.init)),
            ms(median(&self.first)),
            ms(median(&self.warm)),
            rss_mib
        )
    }
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else what `cargo metadata` says.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    PathBuf::from(
        meta["target_directory"]
            .as_str()
            .expect("cargo metadata names the target directory"),
    )
}

/// The release bootstraps: from `COLDSTART_BIN_DIR`, or built now into `<target>/coldstart`.
fn release_binaries() -> Binaries {
    let dir = match std::env::var_os("COLDSTART_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let target = target_dir().join("coldstart");
            eprintln!(
                "building the release bootstraps into {} (the first time takes minutes)",
                target.display()
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            // One package per build: built together, cargo would unify their features and
            // the functions would not be the binaries `cargo build --release` deploys.
            for (package, bins) in [
                ("a2i-review", &["start-handler", "status-handler"][..]),
                ("lambda-harness", &["hello-bootstrap"][..]),
            ] {
                let mut build = std::process::Command::new(&cargo);
                build
                    .args(["build", "--release", "--locked", "--target-dir"])
                    .arg(&target)
                    .args(["-p", package])
                    .current_dir(env!("CARGO_MANIFEST_DIR"));
                for bin in bins {
                    build.args(["--bin", bin]);
                }
                let status = build.status().expect("cargo build runs");
                assert!(status.success(), "the release build of {package} failed");
            }
            target.join("release")
        }
    };
    let bin = |name: &str| {
        let path = dir.join(name);
        assert!(path.is_file(), "{} is missing", path.display());
        path
    };
    Binaries {
        hello: bin("hello-bootstrap"),
        hello_env: Vec::new(),
        start: bin("start-handler"),
        status: bin("status-handler"),
    }
}

/// The debug bootstraps cargo built for this benchmark, and this binary as the hello-world.
fn test_binaries() -> Binaries {
    Binaries {
        hello: std::env::current_exe().expect("the benchmark knows its own path"),
        hello_env: vec![(HELLO_ROLE.into(), "1".into())],
        start: PathBuf::from(env!("CARGO_BIN_EXE_start-handler")),
        status: PathBuf::from(env!("CARGO_BIN_EXE_status-handler")),
    }
}

/// The hello-world bootstrap, for test mode (the release one is `lambda-harness`'s
/// `hello-bootstrap`, the same code).
fn run_hello_world() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    let result = runtime.block_on(lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<Value>| async move {
            Ok::<_, lambda_runtime::Error>(
                json!({"message": "hello", "requestId": event.context.request_id}),
            )
        },
    )));
    if let Err(e) = result {
        eprintln!("hello-world: {e}");
        std::process::exit(1);
    }
}

/// a2i-local with the input bucket watched and every S3 and status event collected.
struct Local {
    handle: LocalA2iHandle,
    s3_events: mpsc::UnboundedReceiver<Value>,
    status_events: mpsc::UnboundedReceiver<Value>,
}

fn collector(tx: mpsc::UnboundedSender<Value>) -> a2i_local::EventCallback {
    let tx = Arc::new(Mutex::new(tx));
    Arc::new(move |event| {
        let sent = tx.lock().map(|tx| tx.send(event).is_ok()).unwrap_or(false);
        Box::pin(async move {
            if sent {
                Ok(())
            } else {
                Err("the benchmark stopped listening".to_owned())
            }
        })
    })
}

impl Local {
    async fn start() -> Self {
        let (s3_tx, s3_events) = mpsc::unbounded_channel();
        let (status_tx, status_events) = mpsc::unbounded_channel();
        let handle = LocalA2i::builder()
            .input_path(format!("s3://{INPUT_BUCKET}/incoming"))
            .bucket(RESULTS_BUCKET)
            .s3_event_callback("coldstart", collector(s3_tx))
            .event_callback("coldstart", collector(status_tx))
            .start()
            .await
            .expect("a2i-local starts");
        Self {
            handle,
            s3_events,
            status_events,
        }
    }

    /// Uploads a JSON Lines object of three low-confidence predictions over S3's HTTP port
    /// and returns the S3 notification it produced.
    async fn upload(&mut self, key: &str) -> Value {
        let body: String = (0..3)
            .map(|i| {
                json!({"documentId": format!("{key}-{i}"), "predictions": [
                    {"label": "billing", "confidence": 0.41}, {"label": "other", "confidence": 0.3}]})
                .to_string()
                    + "\n"
            })
            .collect();
        self.handle
            .s3_client()
            .put_object()
            .bucket(INPUT_BUCKET)
            .key(format!("incoming/{key}"))
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("upload");
        tokio::time::timeout(Duration::from_secs(10), self.s3_events.recv())
            .await
            .expect("the upload is notified")
            .expect("collector alive")
    }

    /// Answers the oldest pending loop and returns its status-change event.
    async fn answer_one(&mut self) -> Value {
        let pending = self.handle.pending();
        let name = &pending
            .first()
            .expect("a loop waits for review")
            .human_loop_name;
        self.handle
            .answer(name, &[WorkerAnswer::new(json!({"label": "billing"}))])
            .await
            .expect("answered");
        tokio::time::timeout(Duration::from_secs(10), self.status_events.recv())
            .await
            .expect("the status change is delivered")
            .expect("collector alive")
    }

    fn start_handler_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .handle
            .env_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push((
            "FLOW_DEFINITION_ARN".into(),
            self.handle.flow_definition_arn(FLOW),
        ));
        env.push(("ACTIVATION_CONDITIONS".into(), CONDITIONS.into()));
        env.push(("LOOP_NAME_PREFIX".into(), "coldstart".into()));
        env
    }

    fn status_handler_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .handle
            .env_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("RESULTS_BUCKET".into(), RESULTS_BUCKET.into()));
        env
    }
}

/// Runs a bootstrap: start, one invocation per event (each must succeed), finish.
async fn run(
    bootstrap: &Path,
    name: &str,
    env: &[(String, String)],
    events: Vec<Value>,
    check: impl Fn(&Value),
) -> (Duration, Vec<Invocation>, Option<u64>) {
    let mut running: Running = Function::new(bootstrap)
        .name(name)
        .envs(env.iter().cloned())
        .start()
        .await
        .unwrap_or_else(|e| panic!("{name} starts: {e}; logs: {:?}", e.logs()));
    let init = running.init_duration();
    let mut invocations = Vec::new();
    for event in &events {
        let invocation = running
            .invoke_json(event)
            .await
            .unwrap_or_else(|e| panic!("{name} answers: {e}; logs: {:?}", e.logs()));
        match &invocation.outcome {
            Outcome::Response(body) => {
                check(&serde_json::from_slice(body).expect("a JSON response"))
            }
            Outcome::Error(e) => panic!(
                "{name} failed: {:?}; logs: {:?}",
                e.body,
                running.logs_so_far()
            ),
        }
        invocations.push(invocation);
    }
    let report = running.finish().await;
    (init, invocations, report.peak_rss_kib)
}

/// An environment variable.
type Var = (String, String);

/// What a bootstrap is given.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Hello,
    Start,
    Status,
}

/// One bootstrap measured in every pass.
struct Variant {
    name: String,
    role: Role,
    path: PathBuf,
    samples: Samples,
}

fn main() {
    if std::env::var_os(HELLO_ROLE).is_some() {
        return run_hello_world();
    }
    let measuring = std::env::args().any(|a| a == "--bench");
    let number = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (binaries, passes, warm) = if measuring {
        (
            release_binaries(),
            number("COLDSTART_PASSES", 7),
            number("COLDSTART_WARM", 5),
        )
    } else {
        (test_binaries(), 1, 1)
    };
    let variant = |name: &str, role, path: &Path| Variant {
        name: name.into(),
        role,
        path: path.to_path_buf(),
        samples: Samples::default(),
    };
    let mut variants = vec![
        variant("hello-world", Role::Hello, &binaries.hello),
        variant("start-handler", Role::Start, &binaries.start),
        variant("status-handler", Role::Status, &binaries.status),
    ];
    // Another build of the functions, measured in the same passes (side by side).
    if let Some(dir) = std::env::var_os("COLDSTART_BASELINE_DIR").filter(|_| measuring) {
        let dir = PathBuf::from(dir);
        variants.push(variant(
            "start (baseline)",
            Role::Start,
            &dir.join("start-handler"),
        ));
        variants.push(variant(
            "status (baseline)",
            Role::Status,
            &dir.join("status-handler"),
        ));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let mut local = Local::start().await;
        let start_env = local.start_handler_env();
        let status_env = local.status_handler_env();
        let mut uploads = 0;
        for pass in 0..passes {
            // Rotate the order, so that no bootstrap always runs right after another.
            let n = variants.len();
            for k in 0..n {
                let v = &mut variants[(pass + k) % n];
                // Events are prepared before the bootstrap starts, so a2i-local's work is not
                // measured: a new object per start-handler invocation (new loops each time),
                // and for the status handler loops started earlier, answered now.
                let mut events = Vec::new();
                for _ in 0..=warm {
                    events.push(match v.role {
                        Role::Hello => json!({"hello": "world"}),
                        Role::Start => {
                            uploads += 1;
                            local.upload(&format!("object-{uploads}.jsonl")).await
                        }
                        Role::Status => local.answer_one().await,
                    });
                }
                let (env, check): (&[Var], fn(&Value)) = match v.role {
                    Role::Hello => (&binaries.hello_env, |_| {}),
                    Role::Start => (&start_env, |summary| {
                        assert_eq!(summary["failed"], 0, "{summary}");
                        assert_eq!(summary["flagged"], 3, "{summary}");
                    }),
                    Role::Status => (&status_env, |out| {
                        assert_eq!(out["outcome"], "written", "{out}");
                    }),
                };
                let (init, invocations, rss) = run(&v.path, &v.name, env, events, check).await;
                v.samples.add(init, &invocations, rss);
            }
        }

        println!(
            "cold start, {passes} passes in rotating order, {warm} warm invocations each (medians){}",
            if measuring {
                ""
            } else {
                " [test mode: debug builds, numbers meaningless]"
            }
        );
        println!(
            "{:<18} {:>9} {:>10} {:>9} {:>14} {:>11}",
            "bootstrap", "init ms", "first ms", "warm ms", "peak RSS MiB", "init/hello"
        );
        let hello_init = median(&variants[0].samples.init).as_secs_f64();
        for v in &variants {
            println!(
                "{} {:>10.2}x",
                v.samples.row(&v.name),
                median(&v.samples.init).as_secs_f64() / hello_init
            );
        }
        println!("goal: start-handler init <= 2x the hello-world's");
        local.handle.shutdown().await;
    });
}
