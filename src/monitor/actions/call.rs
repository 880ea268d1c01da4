//! Calling out: a JSON POST (webhooks and HTTP hooks) and a command with JSON on stdin (no
//! shell in between). Answers are capped and errors never carry a URL's query or a secret.

use std::process::Stdio;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The header carrying a webhook's signature: `sha256=` and the hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: &str = "X-Orchestrate-Signature-256";

/// The most of an answer that is read.
const MAX_ANSWER: usize = 64 * 1024;

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A URL without its credentials, query and fragment, for messages.
pub fn shown(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// POSTs `body` as JSON with `headers`; the answer's body on a 2xx.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req
        .send()
        .await
        .map_err(|e| format!("POST {}: {}", shown(url), e.without_url()))?;
    let status = r.status();
    let mut answer = Vec::new();
    let mut r = r;
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| format!("POST {}: {}", shown(url), e.without_url()))?
    {
        answer.extend_from_slice(&chunk);
        if answer.len() > MAX_ANSWER {
            return Err(format!(
                "POST {}: the answer is longer than {} KiB",
                shown(url),
                MAX_ANSWER / 1024
            ));
        }
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&answer);
        return Err(format!(
            "POST {}: {status} {}",
            shown(url),
            text.trim().chars().take(200).collect::<String>()
        ));
    }
    Ok(answer)
}

/// Runs `argv` with `input` on stdin; its stdout once it exits 0 within `timeout`. The
/// process is killed if it overruns.
pub async fn command(
    argv: &[String],
    input: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let (program, args) = argv.split_first().ok_or("an empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let run = async {
        if let Some(mut s) = stdin.take() {
            // A program that does not read its input is not an error.
            let _ = s.write_all(&input).await;
        }
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(MAX_ANSWER as u64 + 1).read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(4096).read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("`{program}` did not finish within {timeout:?}; it was killed"))?;
    let status = status.map_err(|e| format!("`{program}`: {e}"))?;
    if !status.success() {
        let tail = String::from_utf8_lossy(&err);
        let tail = tail.trim().lines().last().unwrap_or("");
        return Err(format!("`{program}` exited with {status}: {tail}"));
    }
    if out.len() > MAX_ANSWER {
        return Err(format!(
            "`{program}` wrote more than {} KiB",
            MAX_ANSWER / 1024
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `signature` is `body` signed with `secret` (compared in constant time).
    fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
        let Some(hex_sig) = signature.strip_prefix("sha256=") else {
            return false;
        };
        let Ok(want) = hex::decode(hex_sig) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&want).is_ok()
    }

    #[test]
    fn signatures_verify_and_catch_any_change() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify(b"Jefe", b"what do ya want for nothing!", &sig));
        assert!(!verify(b"jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify(
            b"Jefe",
            b"what do ya want for nothing?",
            "sha256=zz"
        ));
        assert!(!verify(b"Jefe", b"what do ya want for nothing?", &sig[7..]));
    }

    #[test]
    fn urls_are_shown_without_their_query() {
        assert_eq!(shown("http://h/p?token=s3cret#x"), "http://h/p");
        assert_eq!(shown("http://h/p"), "http://h/p");
        assert_eq!(shown("https://me:s3cret@h:8443/p/q"), "https://h:8443/p/q");
        assert_eq!(shown("https://me:s3cret@h"), "https://h");
    }

    #[tokio::test]
    async fn https_webhooks_are_spoken_over_tls() {
        // A plain TCP peer: the client must try a TLS handshake with it (and fail there),
        // not refuse the scheme as a build without TLS would.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let peer = tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            }
        });
        let e = crate::http::client(Duration::from_secs(5), Duration::from_secs(5))
            .unwrap()
            .post(format!("https://127.0.0.1:{port}/hook"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_connect() && !e.is_builder(), "{e:?}");
        peer.abort();
    }

    #[tokio::test]
    async fn a_command_reads_stdin_and_answers_on_stdout() {
        let argv = ["cat".to_string()];
        let out = command(&argv, b"{\"a\":1}".to_vec(), Duration::from_secs(5)).await;
        assert_eq!(out.as_deref(), Ok(&b"{\"a\":1}"[..]));
    }

    #[tokio::test]
    async fn a_failing_or_slow_command_is_an_error() {
        let sh = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
        let e = command(
            &sh("echo nope >&2; exit 3"),
            Vec::new(),
            Duration::from_secs(5),
        )
        .await;
        assert!(e.is_err_and(|e| e.contains("exited") && e.contains("nope")));
        let e = command(&sh("sleep 5"), Vec::new(), Duration::from_millis(200)).await;
        assert!(e.is_err_and(|e| e.contains("did not finish")));
        let e = command(
            &["/no/such/program".to_string()],
            Vec::new(),
            Duration::from_secs(1),
        )
        .await;
        assert!(e.is_err_and(|e| e.contains("cannot run")));
    }
}
