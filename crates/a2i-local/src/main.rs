//! The `a2i-local` command: a local A2I runtime and S3 for a2i-review.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use a2i_local::{ControlPlaneLimits, FaultConfig, LocalA2i, LocalA2iHandle};
use clap::{Args, Parser, Subcommand};

/// A local, wire-compatible Amazon A2I runtime with an embedded S3.
#[derive(Debug, Parser)]
#[command(name = "a2i-local", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the A2I runtime, the SageMaker control plane and S3 until Ctrl-C; prints the
    /// endpoints and the variables for `cargo lambda watch --env-file`.
    // Boxed: the server's many options would make every command as large as `serve`.
    Serve(Box<ServeArgs>),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to bind both ports to. Loopback by default: a2i-local checks no A2I signatures.
    #[arg(long, default_value = "127.0.0.1", env = "A2I_LOCAL_BIND")]
    bind: IpAddr,
    /// Port of the A2I runtime (0 = a free port).
    #[arg(long, default_value_t = 9100, env = "A2I_LOCAL_A2I_PORT")]
    a2i_port: u16,
    /// Port of the embedded S3 (0 = a free port).
    #[arg(long, default_value_t = 9101, env = "A2I_LOCAL_S3_PORT")]
    s3_port: u16,
    /// Keep loops and S3 objects here across restarts (a temp directory otherwise).
    #[arg(long, env = "A2I_LOCAL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Region used where a flow-definition ARN has none, and for clients.
    #[arg(long, default_value = a2i_local::DEFAULT_REGION)]
    region: String,
    /// Account of the example flow-definition ARN printed at start.
    #[arg(long, default_value = a2i_local::DEFAULT_ACCOUNT)]
    account: String,
    /// The flow definition's S3OutputPath: where output.json files go.
    #[arg(long, default_value = a2i_local::DEFAULT_OUTPUT_PATH)]
    output_path: String,
    /// POST status-change events to this URL (repeatable), e.g.
    /// http://127.0.0.1:9000/2015-03-31/functions/status-handler/invocations
    #[arg(long = "event-url")]
    event_urls: Vec<String>,
    /// Append status-change events to this JSON Lines file (repeatable).
    #[arg(long = "event-file")]
    event_files: Vec<PathBuf>,
    /// Pipeline mode: objects uploaded under this s3://bucket/prefix produce S3 events.
    #[arg(long)]
    input_path: Option<String>,
    /// POST S3 event notifications to this URL (repeatable), e.g.
    /// http://127.0.0.1:9000/2015-03-31/functions/start-handler/invocations
    #[arg(long = "s3-event-url")]
    s3_event_urls: Vec<String>,
    /// Append S3 event notifications to this JSON Lines file (repeatable).
    #[arg(long = "s3-event-file")]
    s3_event_files: Vec<PathBuf>,
    /// Also write the environment variables to this file (for `cargo lambda watch --env-file`).
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// Keep stopped loops `Stopping` this long before they become `Stopped`.
    #[arg(long, default_value_t = 0)]
    stopping_delay_ms: u64,
    /// Fault knob: latency added to every A2I operation, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fault knob: requests-per-second quota; excess requests get ThrottlingException.
    #[arg(long)]
    rps: Option<f64>,
    /// Fault knob: probability (0 to 1) of an injected 500 InternalServerException.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Fault knob: seed of the error injection, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Strict mode: StartHumanLoop on a flow definition that does not exist on the control
    /// plane answers ResourceNotFoundException, as A2I does.
    #[arg(long, env = "A2I_LOCAL_STRICT")]
    strict: bool,
    /// Create the task UIs and flow definitions of this JSON file at start (repeatable);
    /// unchanged ones are kept across restarts, changed ones replaced.
    #[arg(long = "resources", value_name = "FILE")]
    resources: Vec<PathBuf>,
    /// Most human task UIs the control plane holds; more is ResourceLimitExceeded.
    #[arg(long, default_value_t = ControlPlaneLimits::default().human_task_uis)]
    max_human_task_uis: usize,
    /// Most flow definitions the control plane holds; more is ResourceLimitExceeded.
    #[arg(long, default_value_t = ControlPlaneLimits::default().flow_definitions)]
    max_flow_definitions: usize,
    /// Directory of recorded Textract / Rekognition answers that the built-in task types
    /// replay (one JSON file per document; see docs/built-in-task-types.md).
    #[arg(long = "recorded-analyses", env = "A2I_LOCAL_RECORDED_ANALYSES")]
    recorded_analyses: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; RUST_LOG overrides.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await.map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err((message, code)) => {
            eprintln!("a2i-local: {message}");
            code
        }
    }
}

/// A failure to report: the message and the exit status.
type Failure = (String, ExitCode);

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    serve_until_signal(args)
        .await
        .map_err(|message| (message, ExitCode::FAILURE))
}

async fn serve_until_signal(args: ServeArgs) -> Result<(), String> {
    if !args.bind.is_loopback() {
        tracing::warn!(bind = %args.bind, "binding to a non-loopback address: anyone who can reach it can start, answer and delete loops and read every object");
    }
    let mut builder = LocalA2i::builder()
        .bind_ip(args.bind)
        .a2i_port(args.a2i_port)
        .s3_port(args.s3_port)
        .region(args.region)
        .account(args.account)
        .output_path(args.output_path)
        .stopping_delay(Duration::from_millis(args.stopping_delay_ms))
        .strict(args.strict)
        .control_plane_limits(ControlPlaneLimits {
            human_task_uis: args.max_human_task_uis,
            flow_definitions: args.max_flow_definitions,
        })
        .faults(FaultConfig {
            latency: Duration::from_millis(args.latency_ms),
            requests_per_second: args.rps,
            error_rate: args.error_rate,
            seed: args.seed,
        });
    if let Some(dir) = args.data_dir {
        builder = builder.data_dir(dir);
    }
    for url in args.event_urls {
        builder = builder.event_url(url);
    }
    for file in args.event_files {
        builder = builder.event_file(file);
    }
    if let Some(input) = args.input_path {
        builder = builder.input_path(input);
    }
    for url in args.s3_event_urls {
        builder = builder.s3_event_url(url);
    }
    for file in args.s3_event_files {
        builder = builder.s3_event_file(file);
    }
    for file in args.resources {
        builder = builder.resources_file(file);
    }
    if let Some(dir) = &args.recorded_analyses {
        let recorded = a2i_local::RecordedAnalyses::load(dir).map_err(|e| e.to_string())?;
        println!(
            "{} recorded analyses loaded from {}",
            recorded.len(),
            dir.display()
        );
        builder = builder.recorded_analyses(recorded);
    }
    let local = builder.start().await.map_err(|e| e.to_string())?;
    print_banner(&local);
    if let Some(path) = &args.env_file {
        std::fs::write(path, env_lines(&local))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("(also written to {})", path.display());
    }
    wait_for_shutdown_signal().await;
    println!("shutting down…");
    local.shutdown().await;
    Ok(())
}

fn env_lines(local: &LocalA2iHandle) -> String {
    local
        .env_vars()
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

fn print_banner(local: &LocalA2iHandle) {
    println!("a2i-local is running");
    println!("  A2I runtime:  {}", local.a2i_endpoint());
    println!(
        "  SageMaker:    {} (control plane: task UIs, flow definitions, RenderUiTemplate)",
        local.sagemaker_endpoint()
    );
    if local.is_strict() {
        println!("  strict:       StartHumanLoop needs an existing flow definition");
    }
    println!("  control:      {}/_local/health", local.a2i_endpoint());
    println!("  portal:       {}", local.portal_url());
    println!("  S3:           {}", local.s3_endpoint());
    println!(
        "  Textract:     {} (AnalyzeDocument, replayed)",
        local.a2i_endpoint()
    );
    println!(
        "  Rekognition:  {} (DetectModerationLabels, replayed)",
        local.a2i_endpoint()
    );
    println!("  output path:  {}", local.output_location());
    if let Some(input) = local.input_location() {
        println!("  input path:   {input}");
    }
    println!("  data dir:     {}", local.data_dir().display());
    println!(
        "  example FlowDefinitionArn: {}",
        local.flow_definition_arn("my-flow")
    );
    println!();
    println!("# for `cargo lambda watch --env-file FILE` (or export them):");
    print!("{}", env_lines(local));
    println!();
    println!("Ctrl-C to stop.");
}

async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(term) => term,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
