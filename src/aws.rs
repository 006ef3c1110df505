//! The AWS SDK configuration both functions share, built once at cold start.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{proxy::ProxyConfig, Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine as _;

/// Attempts per A2I call (the first one included) before an item is reported as failed.
pub const A2I_MAX_ATTEMPTS: u32 = 5;

/// Loads the SDK configuration from the environment (credentials, region, and the standard
/// `AWS_ENDPOINT_URL*` variables, which is how the functions are pointed at a2i-local), with
/// timeouts so that a stuck call fails as a retryable error instead of eating the invocation,
/// and the HTTPS client of [`https_client`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

/// The retry policy of A2I calls: adaptive, so that a burst of `StartHumanLoop` calls slows
/// down to A2I's rate instead of spending the SDK's retry budget on throttled attempts.
///
/// Measured with `cargo bench -p a2i-review-cli --bench throughput` (600 items against a 50
/// requests/s quota, 20 ms latency): with the standard policy, 8 calls in flight left 7 items
/// failed and 32 in flight drained the retry budget, 510 items failing within a second; with
/// this one all 600 started at 1, 8 and 32 calls in flight. Since every flagged item is looked
/// up before it is started (`start::a2i`), a new loop takes two requests of a2i-local's single
/// quota: 19, 24 and 21 loops/s, with 0, 15 and 53 throttled attempts (40, 30 and 30 loops/s
/// when a loop took one request).
pub fn a2i_retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(A2I_MAX_ATTEMPTS)
}

/// The A2I runtime client of the functions, with [`a2i_retry_config`].
pub fn a2i_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sagemakera2iruntime::Client {
    let config = aws_sdk_sagemakera2iruntime::config::Builder::from(sdk)
        .retry_config(a2i_retry_config())
        .build();
    aws_sdk_sagemakera2iruntime::Client::from_conf(config)
}

/// Variables that make OpenSSL-style clients, and the SDK's native root loading, trust
/// certificates from a file or directory of the operator's choice.
const CUSTOM_CA_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxies from the environment),
/// except for where its trust anchors come from: Mozilla's root certificates compiled into the
/// binary ([`webpki_root_certs`]) instead of the system store.
///
/// Why: the SDK builds its TLS configuration when each client is created, and loading the
/// system store there (the CA bundle plus every file of `/etc/ssl/certs`, about 290 certificates
/// on Debian, each parsed) was most of the functions' cold start beyond a hello-world's. The
/// compiled-in set is the one browsers and `webpki-roots` trust, and covers every AWS endpoint
/// (Amazon Trust Services roots). Certificates are still verified: only the source of the
/// roots changes. An operator who needs a private CA sets `SSL_CERT_FILE` or `SSL_CERT_DIR`,
/// and then the system store is loaded as well, as before.
///
/// The TLS configuration is built once, on the first request, instead of once per client at
/// init and again on the first request (`TlsOnFirstRequest`). Measured with
/// `cargo bench --bench coldstart` (30 passes, release builds, side by side): start-handler
/// init 4.3 ms with compiled-in roots built at init, 3.1 ms built on first request, for a
/// hello-world's 1.8 ms; the first invocation took 0.1 ms longer.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(TlsOnFirstRequest(https_client_with(tls_context)))
}

/// Builds the TLS configuration when the first request needs a connection, not at init.
///
/// The SDK's client validates itself once per service client (S3, A2I) by building a
/// connector, TLS configuration included, and throwing it away; then the first request builds
/// the one it keeps (shared by both clients, whose timeouts are equal). Skipping the
/// validation leaves that single build, on the first request. Nothing else is validated there.
#[derive(Debug)]
struct TlsOnFirstRequest(SharedHttpClient);

impl HttpClient for TlsOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// [`https_client`] with the trust anchors `tls_context` makes, once, when the first
/// connector is built.
fn https_client_with(
    tls_context: impl Fn() -> TlsContext + Send + Sync + 'static,
) -> SharedHttpClient {
    let context = OnceLock::new();
    // The same connector as the SDK's default client, so timeouts, proxies and the sleep
    // implementation behave as they did; only the TLS context is ours.
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.get_or_init(&tls_context).clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The trust anchors of [`https_client`].
pub(crate) fn tls_context() -> TlsContext {
    let custom_ca = CUSTOM_CA_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|p| !p.is_empty()));
    let store = TrustStore::empty()
        .with_native_roots(custom_ca)
        .with_pem_certificate(compiled_in_roots_pem());
    // Building a context only moves its arguments; it has never failed, but if a future SDK
    // refused this one the SDK's defaults (the system store) still verify certificates.
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default()
}

/// Mozilla's root certificates as one PEM bundle, the form the SDK's trust store takes.
fn compiled_in_roots_pem() -> Vec<u8> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pem = Vec::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2048);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        let encoded = engine.encode(cert.as_ref());
        // RFC 7468: 64 characters a line.
        for line in encoded.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
}

/// Where the SDK logs whole response bodies and deserialized outputs (at TRACE).
const SDK_ORCHESTRATOR: &str = "aws_smithy_runtime::client::orchestrator";

/// The functions' log subscriber: `lambda_runtime`'s default one (it honours `AWS_LAMBDA_LOG_FORMAT=JSON`,
/// `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG`; CloudWatch needs them), except that the SDK
/// orchestrator never logs below DEBUG: at TRACE it prints every response body and
/// deserialized output, and a Textract or Rekognition answer, an output.json or a model answer
/// is content (block text, labels, reviewers' answers). Every bootstrap calls it first.
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber;
    use subscriber::filter::{EnvFilter, LevelFilter};
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = level
        .as_deref()
        .unwrap_or("INFO")
        .parse::<LevelFilter>()
        .unwrap_or(LevelFilter::INFO);
    // More specific than any level or target in RUST_LOG for these modules, so it wins.
    let cap = level.min(LevelFilter::DEBUG);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy()
        .add_directive(
            format!("{SDK_ORCHESTRATOR}={cap}")
                .parse()
                .expect("a constant target and a level make a directive"),
        );
    let collector = subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    if format.eq_ignore_ascii_case("json") {
        collector.json().init()
    } else {
        collector.init()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_s3::config::{Credentials, Region};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    /// A test CA (its key deleted) and a `localhost` / `127.0.0.1` certificate it signed.
    const CA: &[u8] = include_bytes!("../tests/fixtures/tls/ca.cert.pem");
    const CERT: &[u8] = include_bytes!("../tests/fixtures/tls/localhost.cert.pem");
    const KEY: &[u8] = include_bytes!("../tests/fixtures/tls/localhost.key.pem");

    #[test]
    fn compiled_in_roots_are_all_of_mozillas_including_the_amazon_roots() {
        let pem = compiled_in_roots_pem();
        let ders = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        let expected = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(expected.len() > 100, "{} roots", expected.len());
        assert_eq!(ders.len(), expected.len());
        assert!(ders.iter().zip(expected).all(|(a, b)| a == b));
        // AWS endpoints chain to Amazon Trust Services (Starfield G2 cross-signs them).
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = ders
                .iter()
                .any(|d| d.windows(name.len()).any(|w| w == name.as_bytes()));
            assert!(found, "{name} is not among the roots");
        }
        // The SDK panics on a root it cannot use as a trust anchor, so each one must parse.
        let mut store = rustls::RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(ders);
        assert_eq!((added, ignored), (expected.len(), 0));
    }

    /// A TLS server on 127.0.0.1 with the `localhost` certificate of the test CA that
    /// answers every request with an empty 200; returns its port and a count of completed
    /// handshakes.
    async fn test_ca_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let certs = CertificateDer::pem_slice_iter(CERT)
            .collect::<Result<Vec<_>, _>>()
            .expect("fixture certificate");
        let key = PrivateKeyDer::from_pem_slice(KEY).expect("fixture key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("fixture pair");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let port = listener.local_addr().expect("addr").port();
        let handshakes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = handshakes.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, counter) = (acceptor.clone(), counter.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut buf = vec![0u8; 16 * 1024];
                    // One request per connection is all the test sends.
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (port, handshakes)
    }

    fn s3_client(http: SharedHttpClient, port: u16) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .retry_config(RetryConfig::disabled())
            .http_client(http)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Counts what the SDK asks of an HTTP client.
    #[derive(Debug, Default)]
    struct Counts {
        validations: std::sync::atomic::AtomicUsize,
        connectors: std::sync::atomic::AtomicUsize,
    }

    #[derive(Debug)]
    struct Counting(std::sync::Arc<Counts>);

    impl HttpClient for Counting {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0
                .connectors
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            https_client().http_connector(settings, components)
        }

        fn validate_base_client_config(
            &self,
            _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder,
            _: &aws_smithy_types::config_bag::ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            self.0
                .validations
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn building_clients_builds_no_connector_and_the_first_request_builds_one() {
        let counting = std::sync::Arc::new(Counts::default());
        let inner = SharedHttpClient::new(Counting(counting.clone()));
        let lazy = SharedHttpClient::new(TlsOnFirstRequest(inner));
        let (port, _) = test_ca_server().await;
        let s3 = s3_client(lazy.clone(), port);
        let _other = s3_client(lazy, port);
        let count =
            |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(count(&counting.validations), 0, "nothing is built at init");
        assert_eq!(count(&counting.connectors), 0);
        // The request fails (the test CA is not trusted) after asking for its connector.
        let _ = s3.head_bucket().bucket("b").send().await;
        assert_eq!(count(&counting.connectors), 1);

        // Control: unwrapped, the SDK validates (and so builds) once per client.
        let direct = std::sync::Arc::new(Counts::default());
        let client = SharedHttpClient::new(Counting(direct.clone()));
        let _s3 = s3_client(client.clone(), port);
        let _a2i = s3_client(client, port);
        assert_eq!(count(&direct.validations), 2);
    }

    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(" / ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    #[tokio::test]
    async fn an_https_endpoint_whose_certificate_no_trusted_root_signed_is_refused() {
        let (port, handshakes) = test_ca_server().await;
        let err = s3_client(https_client(), port)
            .head_bucket()
            .bucket("b")
            .send()
            .await
            .expect_err("the certificate is not trusted");
        let text = chain(&err);
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert_eq!(handshakes.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_same_endpoint_is_reached_once_its_certificate_is_trusted() {
        // The control of the test above: the server and the client work, only trust differs.
        let (port, handshakes) = test_ca_server().await;
        let trusted = TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(CA))
            .build()
            .expect("context");
        let client = SharedHttpClient::new(TlsOnFirstRequest(https_client_with(move || {
            trusted.clone()
        })));
        s3_client(client, port)
            .head_bucket()
            .bucket("b")
            .send()
            .await
            .expect("trusted certificate, 200 answer");
        assert_eq!(handshakes.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
