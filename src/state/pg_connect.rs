//! A connection to the PostgreSQL state, over TLS where the server offers it: `sslmode` as
//! PostgreSQL's URLs give it (`disable`; `prefer`, the default, TLS when the server has it;
//! `require`), and unlike libpq's `prefer` and `require`, the server's certificate is always
//! verified, against the system's roots or the CA file of the URL's `sslrootcert=PATH`
//! (a managed PostgreSQL's CA bundle): a state is never written to an unverified server.

use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Connects; the connection is driven in the background until the client is dropped or the
/// server goes. The error says what failed, in full, without the password.
pub async fn connect(url: &str) -> Result<Client, String> {
    let (rest, root_cert) = split_root_cert(url);
    let config: Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| super::describe(&e))?;
    let client = if config.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| super::describe(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    } else {
        let tls = MakeRustlsConnect::new(client_config(root_cert.as_deref())?);
        let (client, connection) = config.connect(tls).await.map_err(|e| {
            let text = super::describe(&e);
            if text.contains("invalid peer certificate") && root_cert.is_none() {
                format!(
                    "{text} (no CA this host trusts signed the server's certificate: give the server's CA file as sslrootcert=PATH in the URL, such as your cloud's PostgreSQL CA bundle)"
                )
            } else {
                text
            }
        })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    };
    Ok(client)
}

/// The URL without `sslrootcert=…` (which the client does not take), and that path.
pub fn split_root_cert(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("sslrootcert=") {
            Some(path) => {
                root = Some(path.to_string());
                false
            }
            None => true,
        })
        .collect();
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, root)
}

fn client_config(root_cert: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect())
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("sslrootcert {path}: no PEM certificate in it"));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
        }
        None => {
            // A certificate the system cannot parse is skipped, as every TLS client does.
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::split_root_cert;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        assert_eq!(
            split_root_cert("postgres://u@h/d?sslmode=require&sslrootcert=/etc/ca.pem"),
            (
                "postgres://u@h/d?sslmode=require".to_string(),
                Some("/etc/ca.pem".to_string())
            )
        );
        assert_eq!(
            split_root_cert("postgres://u@h/d?sslrootcert=ca.pem"),
            ("postgres://u@h/d".to_string(), Some("ca.pem".to_string()))
        );
        assert_eq!(
            split_root_cert("postgres://u@h/d"),
            ("postgres://u@h/d".to_string(), None)
        );
    }
}
