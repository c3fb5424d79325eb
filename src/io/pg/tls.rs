//! rustls client configurations for libpq's sslmodes: `prefer`/`require` encrypt without
//! checking the certificate (as libpq does), `verify-ca` checks the chain against
//! `sslrootcert`, `verify-full` also checks the host name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{Endpoint, SslMode};

use super::error::{Kind, PgError};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connector for `ep`, or `None` when TLS is off (`disable`, or a unix socket).
pub fn connector(ep: &Endpoint) -> Result<Option<MakeRustlsConnect>, PgError> {
    if ep.sslmode == SslMode::Disable || ep.host.starts_with('/') {
        return Ok(None);
    }
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::new(Kind::Tls, format!("TLS setup: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match ep.sslmode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(NoVerify(algorithms)),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = root_store(ep)?;
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self::provider())
                    .build()
                    .map_err(|e| PgError::new(Kind::Tls, format!("TLS setup: {e}")))?;
            Arc::new(ChainVerifier {
                inner,
                check_name: ep.sslmode == SslMode::VerifyFull,
            })
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

fn root_store(ep: &Endpoint) -> Result<RootCertStore, PgError> {
    let path: PathBuf = match &ep.sslrootcert {
        Some(p) => p.clone(),
        None => std::env::var_os("HOME")
            .map(|h| Path::new(&h).join(".postgresql/root.crt"))
            .unwrap_or_else(|| PathBuf::from("root.crt")),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            PgError::new(
                Kind::Tls,
                format!(
                    "sslmode={} needs a CA certificate: cannot read sslrootcert {} ({e})",
                    ep.sslmode,
                    path.display()
                ),
            )
        })?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(PgError::new(
            Kind::Tls,
            format!("sslrootcert {} holds no usable certificate", path.display()),
        ));
    }
    Ok(roots)
}

/// libpq's `require`: encrypted, but any certificate is accepted.
#[derive(Debug)]
struct NoVerify(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca` / `verify-full`: the chain must lead to `sslrootcert`; the name is checked
/// only for `verify-full`.
#[derive(Debug)]
struct ChainVerifier {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
