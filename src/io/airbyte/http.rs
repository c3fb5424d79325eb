//! One HTTP/1.1 request to Airbyte's API, over plain TCP or TLS, bounded in time as a
//! whole (connect, TLS, send, read the body). A connection per request: the API is asked
//! every few seconds at most, and a pool would only add state to go stale.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::Secret;
use crate::model::airbyte::ApiProblem;

/// Answers larger than this are refused: a jobs page is a few kB.
const MAX_BODY: usize = 4 << 20;

/// Where the API answers: parsed once, by the settings' own rules.
pub use crate::model::airbyte::ApiUrl as Target;

impl Target {
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }
}

/// An answer: its status and body, whatever the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A request, by method and path (with query) under the target's base path.
pub struct Request<'a> {
    pub method: &'static str,
    pub path: &'a str,
    pub bearer: Option<&'a Secret>,
    pub json: Option<String>,
}

/// Sends `req` and reads the whole answer within `limit`. Failures to get an answer
/// at all are [`ApiProblem::Unreachable`], in one line that names the address.
pub async fn send(
    target: &Target,
    req: Request<'_>,
    limit: Duration,
) -> Result<Answer, ApiProblem> {
    let address = format!("{}:{}", target.host, target.port);
    match tokio::time::timeout(limit, exchange(target, req)).await {
        Ok(r) => r.map_err(|e| ApiProblem::Unreachable(format!("Airbyte's API at {address}: {e}"))),
        Err(_) => Err(ApiProblem::Unreachable(format!(
            "Airbyte's API at {address} did not answer within {} s — is it up, and is the URL right?",
            limit.as_secs()
        ))),
    }
}

async fn exchange(target: &Target, req: Request<'_>) -> Result<Answer, String> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot connect ({e})"))?;
    tcp.set_nodelay(true).ok();
    if target.tls {
        let name = rustls_pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| format!("bad TLS name ({e})"))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed ({e})"))?;
        roundtrip(target, TokioIo::new(tls), req).await
    } else {
        roundtrip(target, TokioIo::new(tcp), req).await
    }
}

async fn roundtrip<IO>(target: &Target, io: IO, req: Request<'_>) -> Result<Answer, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed ({e})"))?;
    // The connection drives the socket; it ends when the answer is read or on error.
    let driver = tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(req.method)
        .uri(format!("{}{}", target.base_path, req.path))
        .header(hyper::header::HOST, target.host_header())
        .header(hyper::header::ACCEPT, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("syncwatch/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(token) = req.bearer {
        builder = builder.header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        );
    }
    let body = match req.json {
        Some(j) => {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
            Full::new(Bytes::from(j))
        }
        None => Full::new(Bytes::new()),
    };
    let request = builder
        .body(body)
        .map_err(|e| format!("bad request ({e})"))?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer ({e})"))?;
    let status = answer.status().as_u16();
    let body = Limited::new(answer.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed ({e})"))?
        .to_bytes()
        .to_vec();
    driver.abort();
    Ok(Answer { status, body })
}

/// Certificates from the system's bundle (`SSL_CERT_FILE`, else Debian's path): Airbyte
/// Cloud's and a company's own CA alike.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let path = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls::pki_types::CertificateDer::pem_file_iter(&path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read CA certificates {} ({e})", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(certs);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup ({e})"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::airbyte::scripted;

    #[test]
    fn urls_come_apart() {
        let t = Target::parse("http://localhost:8000").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port), (false, "localhost", 8000));
        let t = Target::parse("https://api.airbyte.com/proxy/").unwrap();
        assert_eq!((t.tls, t.port, t.base_path.as_str()), (true, 443, "/proxy"));
        assert_eq!(t.host_header(), "api.airbyte.com");
        let t = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        assert_eq!(t.host_header(), "[::1]:9000");
        for bad in [
            "localhost:8000",
            "http://",
            "http://h:0",
            "http://h:x",
            "ftp://h",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_request_carries_its_token_and_body_and_reads_any_status() {
        let (url, seen) = scripted::serve(vec![(500, "{\"message\":\"no\"}")]).await;
        let target = Target::parse(&format!("{url}/base")).unwrap();
        let token = Secret::new("tok-123");
        let answer = send(
            &target,
            Request {
                method: "POST",
                path: "/api/public/v1/jobs",
                bearer: Some(&token),
                json: Some("{\"a\":1}".into()),
            },
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 500);
        assert_eq!(answer.body, b"{\"message\":\"no\"}");
        let request = seen.lock().unwrap()[0].clone();
        assert!(
            request.starts_with("POST /base/api/public/v1/jobs HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer tok-123"),
            "{request}"
        );
        assert!(request.ends_with("{\"a\":1}"), "{request}");
    }

    #[tokio::test]
    async fn nobody_listening_is_one_line_naming_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let e = send(
            &target,
            Request {
                method: "GET",
                path: "/",
                bearer: None,
                json: None,
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ApiProblem::Unreachable(_)));
        assert!(
            text.starts_with(&format!(
                "Airbyte's API at 127.0.0.1:{port}: cannot connect"
            )),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }
}
