//! A real headless Chromium driven through the W3C WebDriver protocol (Debian's `chromium` and
//! `chromium-driver`): the few commands the console's tests need, as JSON over HTTP on loopback.
//! chromedriver is started on a free port and killed, with the browser, when this is dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key W3C WebDriver gives an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new browser window of 1920×1080, headless.
    pub fn start() -> Self {
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver runs the console's browser tests: install Debian's chromium and \
                 chromium-driver (the README's set-up does)",
            );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut b = Self {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-default-apps", "--disable-sync", "--no-first-run",
                    "--window-size=1920,1080",
                    format!("--user-data-dir={}", b._profile.path().display()),
                ]
            }
        }}});
        let v = b.call(reqwest::Method::POST, "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        b
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// The command's value, or WebDriver's error (`stale element reference: …`).
    fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().expect("chromedriver answers").json().unwrap();
        match v["value"].get("error") {
            Some(e) => Err(format!(
                "{}: {}",
                e.as_str().unwrap_or_default(),
                v["value"]["message"].as_str().unwrap_or_default()
            )),
            None => Ok(v["value"].clone()),
        }
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call(
            reqwest::Method::POST,
            &self.at("/url"),
            Some(json!({"url": url})),
        );
    }

    pub fn url(&self) -> String {
        self.call(reqwest::Method::GET, &self.at("/url"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body: `return …`) in the page.
    pub fn js(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            &self.at("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Runs an async `script` whose last argument is its callback.
    pub fn js_async(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            &self.at("/execute/async"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Clicks the first element matching `css`, as a user would (finding it again if the
    /// page redrew it in between).
    pub fn click(&self, css: &str) {
        let mut last = String::new();
        for _ in 0..20 {
            let e = self.call(
                reqwest::Method::POST,
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            );
            let id = e[ELEMENT].as_str().expect("an element").to_string();
            match self.try_call(
                reqwest::Method::POST,
                &self.at(&format!("/element/{id}/click")),
                Some(json!({})),
            ) {
                Ok(_) => return,
                Err(e) if e.starts_with("stale element") => last = e,
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
        panic!("clicking {css}: {last}");
    }

    /// Polls `script` until it returns true, for at most `secs`.
    pub fn wait(&self, what: &str, secs: u64, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.js(script) == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting in the browser for {what}; the page: {}",
                self.js("return document.body ? document.body.innerText.slice(-1500) : ''")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sets the window's size, as a laptop's or a wall screen's.
    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            &self.at("/window/rect"),
            Some(json!({"width": width, "height": height})),
        );
    }

    pub fn screenshot(&self, to: &Path) {
        let b64 = self.call(reqwest::Method::GET, &self.at("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
