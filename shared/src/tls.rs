//! TLS to the backing services: which roots a connection trusts, and the crypto provider.
//!
//! A service's URL travels with its [`Roots`] as an [`Endpoint`], so every connect
//! (`db::pool`, `amqp::connection`, [`crate::redis`]) verifies the server against the same
//! certificates: the system's (rustls-native-certs, the store lapin and redis load too)
//! and those of `CITA_TLS_CA_FILE`, read and checked once at start. Whether a connection
//! uses TLS is the URL's: `postgres://…?sslmode=require` (or `verify-full`), `amqps://`,
//! `rediss://`. Such a URL never falls back to plain text.

use std::{fmt, path::Path, sync::Arc};

use base64::Engine;
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin} holds no PEM certificate")]
    NoCertificate { origin: String },
    #[error("{origin} is not valid PEM")]
    Pem {
        origin: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("certificate {index} of {origin} cannot be a root")]
    NotARoot {
        origin: String,
        index: usize,
        #[source]
        source: rustls::Error,
    },
    #[error("building the TLS client configuration")]
    Config(#[source] rustls::Error),
}

/// Installs ring as the process's rustls provider (aws-lc-rs is kept out of the tree: it
/// builds C for minutes). lapin's and redis's TLS use the process default; calling this
/// again, or after another caller did, changes nothing.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Root certificates trusted besides the system's (`CITA_TLS_CA_FILE`); none by default.
#[derive(Clone, Default)]
pub struct Roots(Option<Arc<Extra>>);

struct Extra {
    /// Where they came from, for messages.
    origin: String,
    /// As read: lapin takes them as PEM text.
    pem: String,
    certs: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Roots(system)"),
            Some(extra) => write!(
                f,
                "Roots(system + {} from {})",
                extra.certs.len(),
                extra.origin
            ),
        }
    }
}

impl Roots {
    /// The system's roots and the certificates of the PEM file at `path`, which must hold
    /// at least one, each usable as a root.
    pub fn from_pem_file(path: &Path) -> Result<Self, TlsError> {
        let origin = path.display().to_string();
        let pem = std::fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::from_pem(pem, origin)
    }

    /// As [`Roots::from_pem_file`], from PEM text (`origin` names it in errors).
    pub fn from_pem(pem: impl Into<String>, origin: impl Into<String>) -> Result<Self, TlsError> {
        let (pem, origin) = (pem.into(), origin.into());
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::Pem {
                origin: origin.clone(),
                source,
            })?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate { origin });
        }
        // What a root store would refuse at connect time is refused at start instead.
        let mut check = RootCertStore::empty();
        for (index, cert) in certs.iter().enumerate() {
            check
                .add(cert.clone())
                .map_err(|source| TlsError::NotARoot {
                    origin: origin.clone(),
                    index: index + 1,
                    source,
                })?;
        }
        Ok(Roots(Some(Arc::new(Extra { origin, pem, certs }))))
    }

    /// The extra certificates as PEM text, if any (lapin adds them to the system's).
    pub fn extra_pem(&self) -> Option<&str> {
        self.0.as_ref().map(|extra| extra.pem.as_str())
    }

    /// The system's roots and the extra ones. The system's are read at each call: they
    /// are needed once per pool or connection, and a machine's store can change.
    pub fn store(&self) -> RootCertStore {
        let mut store = RootCertStore::empty();
        // Certificates the system store holds but cannot parse are skipped, as lapin and
        // redis skip them; a machine without any store trusts only the extra roots.
        let system = rustls_native_certs::load_native_certs();
        for error in &system.errors {
            tracing::debug!(%error, "reading the system's root certificates");
        }
        store.add_parsable_certificates(system.certs);
        if let Some(extra) = &self.0 {
            store.add_parsable_certificates(extra.certs.iter().cloned());
        }
        store
    }

    /// Every trusted root as PEM text (redis takes its whole root store in that form).
    pub fn store_pem(&self) -> Vec<u8> {
        let mut pem = String::new();
        let system = rustls_native_certs::load_native_certs();
        let extra = self.0.iter().flat_map(|extra| extra.certs.iter());
        for cert in system.certs.iter().chain(extra) {
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            let encoded = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            // Base64 is ASCII: any byte offset is a character boundary.
            let mut rest = encoded.as_str();
            while !rest.is_empty() {
                let (line, tail) = rest.split_at(rest.len().min(64));
                pem.push_str(line);
                pem.push('\n');
                rest = tail;
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        pem.into_bytes()
    }

    /// A client configuration on ring that verifies the server's chain against
    /// [`Roots::store`] and its name against the URL's host, without client certificates.
    pub fn client_config(&self) -> Result<ClientConfig, TlsError> {
        Ok(
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(TlsError::Config)?
                .with_root_certificates(self.store())
                .with_no_client_auth(),
        )
    }
}

/// A backing service's URL and the roots its TLS trusts. `Debug` shows no part of the
/// URL (it may hold a password).
#[derive(Clone, Debug)]
pub struct Endpoint {
    url: Secret,
    roots: Roots,
}

impl Endpoint {
    /// `url`, trusting the system's roots only.
    pub fn new(url: impl Into<String>) -> Self {
        Endpoint {
            url: Secret::new(url),
            roots: Roots::default(),
        }
    }

    /// The same URL, trusting `roots`.
    pub fn with_roots(self, roots: Roots) -> Self {
        Endpoint { roots, ..self }
    }

    pub fn url(&self) -> &Secret {
        &self.url
    }

    /// The URL itself; every use of it is easy to find, as with [`Secret::expose`].
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    pub fn roots(&self) -> &Roots {
        &self.roots
    }
}

impl From<Secret> for Endpoint {
    /// A URL trusting the system's roots only.
    fn from(url: Secret) -> Self {
        Endpoint {
            url,
            roots: Roots::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_with_its_name() {
        let err = Roots::from_pem("not a certificate\n", "/etc/cita/ca.pem").unwrap_err();
        assert_eq!(err.to_string(), "/etc/cita/ca.pem holds no PEM certificate");
        let err = Roots::from_pem_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert_eq!(err.to_string(), "cannot read /nonexistent/ca.pem");
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = Roots::from_pem(garbage, "ca.pem").unwrap_err();
        assert!(matches!(err, TlsError::NotARoot { index: 1, .. }), "{err}");
    }

    #[test]
    fn the_debug_form_names_the_origin_not_the_url() {
        let endpoint = Endpoint::new("postgres://cita:hunter2@db/cita");
        let shown = format!("{endpoint:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Roots(system)"), "{shown}");
    }
}
