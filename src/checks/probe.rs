//! One attempt of a check: a GET, or a program run. [`SystemProber`] does it for real; tests
//! give it a real loopback server and real programs.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;

/// The most of a body or of a program's output kept for the user: the last lines.
const OUTPUT_LINES: usize = 20;
const OUTPUT_LINE_CHARS: usize = 300;
/// The most of a response body read.
#[cfg(feature = "aws")]
const BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub passed: bool,
    /// `answered 200`, `exited with status 1`, `cannot connect: ...`.
    pub summary: String,
    pub output: String,
}

impl Attempt {
    fn failed(summary: String) -> Attempt {
        Attempt {
            passed: false,
            summary,
            output: String::new(),
        }
    }
}

#[async_trait]
pub trait Prober: Send + Sync {
    /// GET `url`; passed when it answers 2xx within `limit`.
    async fn http(&self, url: &str, limit: Duration) -> Attempt;
    /// Run `argv` (no shell) with no input; passed when it exits 0 within `limit`.
    async fn command(&self, argv: &[String], limit: Duration) -> Attempt;
}

/// Probes over the network and on this machine.
pub struct SystemProber;

#[async_trait]
impl Prober for SystemProber {
    async fn http(&self, url: &str, limit: Duration) -> Attempt {
        http::get(url, limit).await
    }

    async fn command(&self, argv: &[String], limit: Duration) -> Attempt {
        let Some((program, args)) = argv.split_first() else {
            return Attempt::failed("the command is empty".into());
        };
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A check that outlives its timeout is killed, not left running.
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => return Attempt::failed(format!("cannot run `{program}`: {e}")),
        };
        match tokio::time::timeout(limit, child.wait_with_output()).await {
            Err(_) => Attempt::failed(format!(
                "still running after {}s, stopped",
                whole_seconds(limit)
            )),
            Ok(Err(e)) => Attempt::failed(format!("cannot run `{program}`: {e}")),
            Ok(Ok(out)) => {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                Attempt {
                    passed: out.status.success(),
                    summary: match out.status.code() {
                        Some(code) => format!("exited with status {code}"),
                        None => "was killed by a signal".into(),
                    },
                    output: last_lines(&text),
                }
            }
        }
    }
}

/// A limit in whole seconds, rounded up: what is left of a 2s timeout after a few
/// milliseconds is "2s", not "1s".
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The last [`OUTPUT_LINES`] lines of `text`, each cut to a readable length: a check's output
/// is shown to explain a failure, not to flood the terminal.
pub(crate) fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skipped = lines.len().saturating_sub(OUTPUT_LINES);
    let mut out: Vec<String> = lines[skipped..]
        .iter()
        .map(|line| crate::spec::diagnostic::clip(line, OUTPUT_LINE_CHARS))
        .collect();
    if skipped > 0 {
        out.insert(
            0,
            format!(
                "({} not shown)",
                crate::english::count(skipped, "earlier line")
            ),
        );
    }
    out.join("\n")
}

#[cfg(feature = "aws")]
mod http {
    //! GET over HTTP or HTTPS with the TLS stack the AWS SDK already brings (hyper, rustls with
    //! aws-lc, the system's root certificates).

    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    use super::{Attempt, BODY_BYTES, last_lines};

    pub async fn get(url: &str, limit: Duration) -> Attempt {
        let request = match ::http::Request::get(url)
            .header(
                "user-agent",
                concat!("rehearsal/", env!("CARGO_PKG_VERSION"), " check"),
            )
            .body(Empty::<Bytes>::new())
        {
            Ok(request) => request,
            Err(e) => return Attempt::failed(format!("`{url}` is not a URL: {e}")),
        };
        let client: Client<_, Empty<Bytes>> =
            Client::builder(TokioExecutor::new()).build(connector());
        let exchange = async {
            let response = client.request(request).await.map_err(|e| {
                // The top error says only "client error (Connect)"; the cause says why.
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why = s.to_string();
                    source = s.source();
                }
                format!("cannot connect: {why}")
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), BODY_BYTES)
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_else(|_| format!("(a body longer than {BODY_BYTES} bytes)"));
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(limit, exchange).await {
            Err(_) => Attempt::failed(format!("no answer within {}s", super::whole_seconds(limit))),
            Ok(Err(why)) => Attempt::failed(why),
            Ok(Ok((status, body))) => Attempt {
                passed: status.is_success(),
                summary: format!("answered {status}"),
                output: last_lines(&body),
            },
        }
    }

    fn connector()
    -> hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let with_roots = match builder.with_provider_and_native_roots(provider) {
            Ok(b) => b,
            // No system certificates: plain HTTP still works, HTTPS fails with a TLS error
            // that says the certificate is not trusted.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(
                    rustls::crypto::aws_lc_rs::default_provider().into(),
                )
                .with_safe_default_protocol_versions()
                .expect("aws-lc supports the default protocol versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            ),
        };
        with_roots.https_or_http().enable_http1().build()
    }
}

#[cfg(not(feature = "aws"))]
mod http {
    use std::time::Duration;

    use super::Attempt;

    pub async fn get(url: &str, _limit: Duration) -> Attempt {
        Attempt::failed(format!(
            "cannot GET {url}: this rehearsal was built without its network stack (the `aws` \
             feature)"
        ))
    }
}
