//! Who may read the console and who may act on it, as notebook servers do it: `run` prints a
//! login link with a one-time code; following it sets a session cookie (HttpOnly,
//! SameSite=Strict). Two roles: a viewer reads, an operator may also approve and reject.
//!
//! Sessions are signed with a secret kept in the state directory, not held in memory, so that a
//! console stays logged in across a restart of `run` and reconnects on its own. Requests that
//! change something also carry a CSRF token derived from the session (a page from another site
//! cannot read it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

pub const SECRET_FILE: &str = "console-secret";
pub const OPERATOR_TOKEN_FILE: &str = "console-operator-token";
pub const VIEWER_TOKEN_FILE: &str = "console-viewer-token";
pub const COOKIE: &str = "orchestrate_session";
/// How long a session lasts: a control-room shift.
const SESSION: Duration = Duration::from_secs(12 * 3600);
/// How long a printed login link stays usable.
const CODE_LIFETIME: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// A valid session: its role and the CSRF token its pages carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub role: Role,
    pub csrf: String,
}

pub struct Auth {
    secret: Vec<u8>,
    /// The long-lived tokens in the state directory, typed into the login form.
    operator_token: String,
    viewer_token: String,
    /// Printed login codes not yet used.
    codes: Mutex<HashMap<String, (Role, Instant)>>,
}

impl Auth {
    /// Reads (or creates, private to the user) the secret and the role tokens in `state_dir`.
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            secret: crate::files::token(&state_dir.join(SECRET_FILE))?.into_bytes(),
            operator_token: crate::files::token(&state_dir.join(OPERATOR_TOKEN_FILE))?,
            viewer_token: crate::files::token(&state_dir.join(VIEWER_TOKEN_FILE))?,
            codes: Mutex::new(HashMap::new()),
        })
    }

    #[cfg(test)]
    fn with_secret(secret: &str) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            operator_token: "op-token".into(),
            viewer_token: "view-token".into(),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// A code that logs one browser in once, within half an hour.
    pub fn one_time_code(&self, role: Role) -> String {
        let code = format!("{:032x}", rand::rng().random::<u128>());
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, (_, at)| at.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), (role, Instant::now()));
        code
    }

    /// The role a login code or role token grants; a one-time code is used up.
    pub fn redeem(&self, given: &str) -> Option<Role> {
        if eq(given, &self.operator_token) {
            return Some(Role::Operator);
        }
        if eq(given, &self.viewer_token) {
            return Some(Role::Viewer);
        }
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        match codes.remove(given) {
            Some((role, at)) if at.elapsed() < CODE_LIFETIME => Some(role),
            _ => None,
        }
    }

    /// A new session cookie's value for `role`: `role.expiry.nonce.mac`.
    pub fn session_cookie(&self, role: Role, now_unix: u64) -> String {
        let body = format!(
            "{}.{}.{:016x}",
            role.as_str(),
            now_unix + SESSION.as_secs(),
            rand::rng().random::<u64>()
        );
        let mac = self.mac("session", &body);
        format!("{body}.{mac}")
    }

    /// The session a request's cookie carries, if it is genuine and current.
    pub fn session(&self, headers: &HeaderMap, now_unix: u64) -> Option<Session> {
        let value = cookie(headers, COOKIE)?;
        let (body, mac) = value.rsplit_once('.')?;
        if !eq(mac, &self.mac("session", body)) {
            return None;
        }
        let mut parts = body.split('.');
        let role = Role::parse(parts.next()?)?;
        let expiry: u64 = parts.next()?.parse().ok()?;
        if expiry <= now_unix {
            return None;
        }
        Some(Session {
            role,
            csrf: self.mac("csrf", value),
        })
    }

    fn mac(&self, purpose: &str, body: &str) -> String {
        // HMAC takes a key of any length; were it ever refused, nothing would match.
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return format!("unmatched-{:032x}", rand::rng().random::<u128>());
        };
        m.update(purpose.as_bytes());
        m.update(b"|");
        m.update(body.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }
}

/// The `Set-Cookie` value that stores a session (or, with an empty value, removes it).
pub fn set_cookie(value: &str) -> String {
    let age = if value.is_empty() {
        0
    } else {
        SESSION.as_secs()
    };
    format!("{COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict")
}

/// Whether a state-changing request carries the session's CSRF token.
pub fn csrf_ok(headers: &HeaderMap, session: &Session) -> bool {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|got| eq(got, &session.csrf))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("other=1; {COOKIE}={v}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn a_login_code_works_once_and_the_role_tokens_always() {
        let auth = Auth::with_secret("s");
        let code = auth.one_time_code(Role::Viewer);
        assert_eq!(auth.redeem(&code), Some(Role::Viewer));
        assert_eq!(auth.redeem(&code), None);
        assert_eq!(auth.redeem("op-token"), Some(Role::Operator));
        assert_eq!(auth.redeem("op-token"), Some(Role::Operator));
        assert_eq!(auth.redeem("view-token"), Some(Role::Viewer));
        assert_eq!(auth.redeem(""), None);
    }

    #[test]
    fn a_session_is_read_back_and_a_forged_or_expired_one_is_not() {
        let auth = Auth::with_secret("s");
        let v = auth.session_cookie(Role::Operator, 1_000);
        let s = auth.session(&with_cookie(&v), 2_000).unwrap();
        assert_eq!(s.role, Role::Operator);
        // Another secret (another state) does not accept it.
        assert!(
            Auth::with_secret("t")
                .session(&with_cookie(&v), 2_000)
                .is_none()
        );
        // Nor a viewer's session promoted by hand.
        let viewer = auth.session_cookie(Role::Viewer, 1_000);
        let forged = viewer.replacen("viewer", "operator", 1);
        assert!(auth.session(&with_cookie(&forged), 2_000).is_none());
        // Nor after twelve hours.
        assert!(auth.session(&with_cookie(&v), 1_000 + 12 * 3600).is_none());
        assert!(auth.session(&HeaderMap::new(), 2_000).is_none());
    }

    proptest::proptest! {
        /// Whatever a client sends as cookies, nothing panics and nothing signs it in.
        #[test]
        fn no_cookie_but_a_signed_one_is_a_session(raw in "\\PC{0,200}") {
            let auth = Auth::with_secret("s");
            let mut h = HeaderMap::new();
            if let Ok(v) = raw.parse() {
                h.insert(header::COOKIE, v);
            }
            proptest::prop_assert!(auth.session(&h, 1).is_none());
            if let Ok(v) = format!("{COOKIE}={raw}").parse() {
                h.insert(header::COOKIE, v);
            }
            proptest::prop_assert!(auth.session(&h, 1).is_none());
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let auth = Auth::with_secret("s");
        let a = auth
            .session(&with_cookie(&auth.session_cookie(Role::Operator, 0)), 1)
            .unwrap();
        let b = auth
            .session(&with_cookie(&auth.session_cookie(Role::Operator, 0)), 1)
            .unwrap();
        assert_ne!(a.csrf, b.csrf);
        let mut h = HeaderMap::new();
        h.insert("x-csrf-token", a.csrf.parse().unwrap());
        assert!(csrf_ok(&h, &a));
        assert!(!csrf_ok(&h, &b));
        assert!(!csrf_ok(&HeaderMap::new(), &a));
    }
}
