//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`):
//! the dashboard's pages as a person's browser gets them, and screenshots of them in
//! `target/screenshots/`.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine;
use cita_shared::testing::eventually;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or("/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&driver_path).exists() && std::path::Path::new(&chromium).exists(),
            "the browser tests need Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        eventually(Duration::from_secs(20), "chromedriver is ready", || {
            let (http, url) = (http.clone(), format!("{base}/status"));
            async move {
                let status: Value = http.get(url).send().await.ok()?.json().await.ok()?;
                (status["value"]["ready"] == true).then_some(())
            }
        })
        .await;
        let profile = tempdir();
        let mut options = json!({
                "binary": chromium,
                // Without the background-networking flags Chromium keeps calling Google.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                         format!("--user-data-dir={}", profile.display()),
                         format!("--window-size={width},{height}")],
        });
        // A desktop window is at least 500 pixels wide: a phone is emulated.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1}});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"));
        Browser {
            driver,
            http,
            session: format!("{base}/session/{id}"),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"].get("error").is_some() {
            panic!("webdriver {path}: {answer}");
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until the page's address contains `part`.
    pub async fn wait_for_url(&self, part: &str) {
        let what = format!("the browser reaches …{part}…");
        eventually(Duration::from_secs(10), &what, || async move {
            self.url().await.contains(part).then_some(())
        })
        .await;
    }

    /// Waits until an element matches `css` (a page that is still loading has none).
    pub async fn wait_for(&self, css: &str) {
        eventually(
            Duration::from_secs(10),
            "the element appears",
            || async move { (!self.all(css).await.is_empty()).then_some(()) },
        )
        .await;
    }

    pub async fn all(&self, css: &str) -> Vec<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    async fn one(&self, css: &str) -> String {
        self.all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.one(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.one(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Logs in at `base` as someone would: the number as `typed`, then the code WhatsApp
    /// brought to `phone`; back once the day is shown.
    pub async fn enter(&self, api: &super::Api, base: &str, typed: &str, phone: &str) {
        self.goto(&format!("{base}/entrar")).await;
        self.type_into("#telefono", typed).await;
        self.click("button[type=submit]").await;
        self.wait_for("#codigo").await;
        let code = api.code_sent_to(phone).await;
        self.type_into("#codigo", &code).await;
        self.click("button[type=submit]").await;
        self.wait_for(".legend").await;
    }

    /// Clicks `css` and waits until the page it leads to has loaded (the old one is
    /// marked first, so an element of the old page is never taken for the new one's).
    pub async fn submit(&self, css: &str) {
        self.eval("document.documentElement.dataset.left = 'yes'; return null")
            .await;
        self.click(css).await;
        eventually(Duration::from_secs(10), "the next page loads", || async move {
            let loaded = self
                .eval("return document.readyState === 'complete' && !document.documentElement.dataset.left")
                .await;
            (loaded == true).then_some(())
        })
        .await;
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.all(css).await {
            let text = self
                .call(
                    reqwest::Method::GET,
                    &format!("/element/{element}/text"),
                    None,
                )
                .await;
            texts.push(text.as_str().unwrap_or_default().to_owned());
        }
        texts
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Saves a screenshot as `target/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    /// Ends the session (which closes Chromium), then stops the driver; blocking and
    /// by hand, as a test that panicked has no runtime left to ask with.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let rest = self.session.trim_start_matches("http://");
        if let Some((host, path)) = rest.split_once('/')
            && let Ok(mut stream) = std::net::TcpStream::connect(host)
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                stream,
                "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cita-chromium-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
