//! SSL_GET's TLS client. keepalived's default SSL context verifies no
//! certificate (real servers often present self-signed ones), so neither
//! does this; the handshake signature is still checked against the
//! presented key, as OpenSSL does with verification off. SNI is sent only
//! with `enable_sni`, and only for a virtualhost that is a DNS name.
//!
//! rustls speaks TLS 1.2 and 1.3 only, where keepalived's OpenSSL may
//! also accept older versions.

use super::{Step, failed, timed};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Handshakes over `tcp` within `limit`, with `sni` as server name if given.
pub(super) async fn connect(
    tcp: TcpStream,
    ip: IpAddr,
    sni: Option<&str>,
    limit: Duration,
) -> Step<TlsStream<TcpStream>> {
    let name = sni.and_then(|h| ServerName::try_from(h.to_owned()).ok());
    let config = config(name.is_some())?;
    let name = name.unwrap_or(ServerName::IpAddress(ip.into()));
    let hs = TlsConnector::from(config).connect(name, tcp);
    timed(limit, "TLS handshake", hs).await
}

/// The two client configurations, with and without SNI, built once.
fn config(sni: bool) -> Step<Arc<ClientConfig>> {
    static CONFIGS: OnceLock<Result<[Arc<ClientConfig>; 2], String>> = OnceLock::new();
    let built = CONFIGS.get_or_init(|| Ok([build(false)?, build(true)?]));
    match built {
        Ok(c) => Ok(c[usize::from(sni)].clone()),
        Err(e) => Err(failed("TLS setup", e)),
    }
}

fn build(sni: bool) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let mut c = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    c.enable_sni = sni;
    Ok(Arc::new(c))
}

/// Accepts any certificate chain; checks handshake signatures only.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
