//! Headless Chromium for the dashboard tests: a chromedriver on a free loopback port, one
//! WebDriver session with a throwaway profile, and the few steps a test takes as a person
//! would (open a page, type, click, wait for text, take a screenshot).
//!
//! The browser comes from `PUNCHCARD_TEST_CHROMIUM` and `PUNCHCARD_TEST_CHROMEDRIVER`
//! (default `/usr/bin/chromium` and `/usr/bin/chromedriver`); scripts a test puts into pages
//! come from `crates/server/tests/browser-deps` (`npm ci` there). Outside CI a missing browser
//! or script skips the test with a message; with `CI=true` it fails the test.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// How long a step waits for the page before the test fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,900",
];

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Says why a browser test cannot run: outside CI it is skipped with `msg`, in CI it fails.
fn unavailable(msg: &str) {
    if in_ci() {
        panic!("{msg}: browser tests may not be skipped in CI");
    }
    eprintln!("{msg}: skipping the browser test");
}

/// A script that gives every page a `BarcodeDetector` for QR codes backed by the jsQR decoder
/// (see `barcode_detector.js`), for [`Browser::run_on_every_page`]; `None` when jsQR is not
/// installed (outside CI: skip; in CI: fail).
pub fn qr_barcode_detector() -> Option<String> {
    let jsqr = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser-deps/node_modules/jsqr/dist/jsQR.js");
    let Ok(decoder) = std::fs::read_to_string(&jsqr) else {
        unavailable(&format!(
            "{} not found (run `npm ci` in crates/server/tests/browser-deps)",
            jsqr.display()
        ));
        return None;
    };
    Some(include_str!("barcode_detector.js").replace("/*JSQR*/", &decoder))
}

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    path.is_file().then_some(path)
}

/// Where screenshots go: `target/screenshots/` under the workspace.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// A chromedriver process and one browser session; the process group ends on drop.
pub struct Browser {
    pub client: Client,
    /// The dashboard's base URL (`http://127.0.0.1:port`).
    pub base: String,
    driver: Child,
    /// chromedriver's URL, for the Chrome-specific commands fantoccini does not wrap.
    driver_url: String,
    _profile: tempfile::TempDir,
    log: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or answers `None` (with a message) when
    /// the binaries are missing outside CI.
    pub async fn launch(base: &str) -> Option<Browser> {
        Self::launch_with(base, &[]).await
    }

    /// [`Browser::launch`] with a camera that films `video` (a Y4M file, looped): Chromium's
    /// fake capture device, with the permission prompt answered yes.
    pub async fn launch_with_camera(base: &str, video: &Path) -> Option<Browser> {
        Self::launch_with(
            base,
            &[
                "--use-fake-device-for-media-stream".to_string(),
                "--use-fake-ui-for-media-stream".to_string(),
                format!("--use-file-for-fake-video-capture={}", video.display()),
            ],
        )
        .await
    }

    async fn launch_with(base: &str, extra_args: &[String]) -> Option<Browser> {
        let chromium = binary("PUNCHCARD_TEST_CHROMIUM", "/usr/bin/chromium");
        let driver = binary("PUNCHCARD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let (chromium, driver) = match (chromium, driver) {
            (Some(c), Some(d)) => (c, d),
            _ => {
                unavailable(
                    "Chromium or chromedriver not found (set PUNCHCARD_TEST_CHROMIUM and \
                     PUNCHCARD_TEST_CHROMEDRIVER, or install chromium and chromium-driver)",
                );
                return None;
            }
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let log = profile.path().join("chromedriver.log");
        // A port taken between our probe and chromedriver's bind is rare; try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = spawn_driver(&driver, port, &log);
            let url = format!("http://127.0.0.1:{port}");
            match connect(&url, &chromium, profile.path(), extra_args).await {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        base: base.trim_end_matches('/').to_string(),
                        driver: child,
                        driver_url: url,
                        _profile: profile,
                        log,
                    });
                }
                Err(e) => {
                    last_error = e;
                    kill_group(&mut child);
                }
            }
        }
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        panic!(
            "cannot start a browser session: {last_error}\nchromedriver log (tail):\n{}",
            tail(&log_text, 4000)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Opens a dashboard path.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .path()
            .to_string()
    }

    /// Waits until the browser shows `path`.
    pub async fn wait_path(&self, path: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected to be on {path}, still on {now}\npage text:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Waits until the page shows `needle` (visible text, case-sensitive).
    pub async fn wait_text(&self, needle: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected the page at {} to show {needle:?}; it shows:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails the test, saying where the browser is and what it shows.
    pub async fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\non {}, which shows:\n{}",
            self.path().await,
            self.text().await
        )
    }

    /// Waits for an element that `locator` finds.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        match self
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(locator)
            .await
        {
            Ok(el) => el,
            Err(e) => self.fail(&format!("no element {locator:?}: {e}")).await,
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(Locator::Css(css)).await
    }

    /// Types `value` into the field `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value} in {css}: {e}"));
    }

    /// The button (or submit input, or link styled as one) whose label is `label`.
    pub async fn button(&self, label: &str) -> Element {
        let xpath = format!(
            "//button[normalize-space()={l}] | //input[@type='submit' and @value={l}] | //a[normalize-space()={l}]",
            l = xpath_literal(label)
        );
        self.wait_for(Locator::XPath(&xpath)).await
    }

    /// Clicks the button labelled `label`, scrolled to the middle of the screen first (as a
    /// person scrolls it clear of a fixed tab bar).
    pub async fn click(&self, label: &str) {
        let button = self.button(label).await;
        let _ = self
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&button).unwrap_or_default()],
            )
            .await;
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {label:?}: {e}"));
    }

    /// Clicks the first link whose text is `label`.
    pub async fn click_link(&self, label: &str) {
        let xpath = format!("//a[normalize-space()={}]", xpath_literal(label));
        self.wait_for(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click link {label:?}: {e}"));
    }

    /// Accepts a `confirm()` dialog if one opens within a moment.
    pub async fn accept_confirm(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Ok(text) = self.client.get_alert_text().await {
                self.client.accept_alert().await.expect("accept dialog");
                return Some(text);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emulates a phone screen of `width` x `height` CSS pixels (a desktop window cannot
    /// shrink that far), until [`Browser::desktop`].
    pub async fn phone(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
    }

    /// Back to the desktop window.
    pub async fn desktop(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
    }

    /// Saves a PNG of the whole page as a phone of `width` x `height` shows it.
    pub async fn screenshot_phone(&self, name: &str, width: u32, height: u32) -> PathBuf {
        let full = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(height as u64) as u32;
        self.phone(width, full.clamp(height, 4000)).await;
        let path = self.screenshot(name).await;
        self.phone(width, height).await;
        path
    }

    /// Slows uploads to `bytes_per_second` (0: back to full speed), to watch their progress.
    pub async fn throttle_uploads(&self, bytes_per_second: u64) {
        self.cdp("Network.enable", json!({})).await;
        let upload: i64 = if bytes_per_second == 0 {
            -1
        } else {
            bytes_per_second as i64
        };
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload}),
        )
        .await;
    }

    /// Runs `source` in every document opened from now on, before the page's own scripts
    /// (a DevTools script: the page's Content-Security-Policy does not apply to it).
    pub async fn run_on_every_page(&self, source: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": source}),
        )
        .await;
    }

    /// Runs a DevTools protocol command through chromedriver.
    async fn cdp(&self, cmd: &str, params: serde_json::Value) {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let res = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver_url
            ))
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let status = res.status();
        assert!(
            status.is_success(),
            "{cmd}: {status} {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Saves a PNG of the viewport as `target/screenshots/<name>.png`.
    /// The page is no wider than a `width`-pixel phone screen (a phone widens the layout to
    /// the widest element, so both widths tell).
    pub async fn assert_fits_screen(&self, width: u32) {
        let measured = self
            .client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth,
                         Array.from(document.querySelectorAll('body *'))
                           .filter(e => e.getBoundingClientRect().right > window.visualViewport.width + 1)
                           .slice(0, 40)
                           .map(e => e.tagName.toLowerCase() + '.' + e.className + '=' + Math.round(e.getBoundingClientRect().right)).join(', ')];",
                vec![],
            )
            .await
            .expect("measure the page");
        let inner = measured[0].as_u64().unwrap_or(0);
        let scroll = measured[1].as_u64().unwrap_or(0);
        assert!(
            inner == u64::from(width) && scroll <= u64::from(width),
            "{} is wider than a {width}px phone (viewport {inner}, page {scroll}); too wide: {}",
            self.path().await,
            measured[2]
        );
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Saves a PNG of the whole page (not just the viewport).
    pub async fn screenshot_full(&self, name: &str) -> PathBuf {
        let (w, h) = self.client.get_window_size().await.expect("window size");
        let height = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(h);
        let grow = height > h;
        if grow {
            self.client
                .set_window_size(w as u32, (height + 120).min(4000) as u32)
                .await
                .expect("resize");
        }
        let path = self.screenshot(name).await;
        if grow {
            self.client
                .set_window_size(w as u32, h as u32)
                .await
                .expect("resize back");
        }
        path
    }

    /// Ends the browser session (Chromium quits), then chromedriver.
    pub async fn quit(mut self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        kill_group(&mut self.driver);
    }

    /// chromedriver's log so far, for failure messages.
    pub fn driver_log(&self) -> String {
        tail(
            &std::fs::read_to_string(&self.log).unwrap_or_default(),
            4000,
        )
        .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn_driver(driver: &Path, port: u16, log: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so ending it also ends the Chromium it started.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()))
}

/// Ends chromedriver and everything in its process group (Chromium and its helpers).
fn kill_group(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pgid = child.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

async fn connect(
    url: &str,
    chromium: &Path,
    profile: &Path,
    extra_args: &[String],
) -> Result<Client, String> {
    // Wait for chromedriver to listen.
    let deadline = Instant::now() + Duration::from_secs(15);
    let http = reqwest::Client::new();
    loop {
        match http.get(format!("{url}/status")).send().await {
            Ok(r) if r.status().is_success() => break,
            _ if Instant::now() > deadline => {
                return Err(format!("chromedriver did not answer at {url}"))
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
    args.extend(extra_args.iter().cloned());
    args.push(format!(
        "--user-data-dir={}",
        profile.join("chrome").display()
    ));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
        },
        // Dialogs stay open until the test answers them.
        "unhandledPromptBehavior": "ignore",
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(url)
        .await
        .map_err(|e| e.to_string())
}

/// An XPath string literal for `s` (XPath 1.0 has no escapes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// The six-digit code of the newest mail under `dir` that was not in `seen` and carries one
/// (alerts and notices carry none), waiting for it to arrive.
pub async fn wait_for_code(dir: &Path, seen: &[PathBuf]) -> String {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let fresh: Vec<PathBuf> = mail_files(dir)
            .into_iter()
            .filter(|p| !seen.contains(p))
            .collect();
        for mail in fresh.iter().rev() {
            let text = std::fs::read_to_string(mail).expect("read mail");
            if let Some(code) = six_digit_code(&text) {
                return code;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "no new mail with a code in {} ({} new mails without one)",
                dir.display(),
                fresh.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The mail files under `dir`, oldest first (names start with the send time).
pub fn mail_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort();
    files
}

/// A line of the body that is exactly six digits.
fn six_digit_code(mail: &str) -> Option<String> {
    let body = mail
        .split_once("\r\n\r\n")
        .or_else(|| mail.split_once("\n\n"))?
        .1;
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// A small, valid one-page PDF (its xref offsets computed, so strict readers accept it).
pub fn tiny_pdf() -> Vec<u8> {
    let content = "BT /F1 24 Tf 72 760 Td (Certificate of registration) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A short Y4M video (640x480, 4:2:0) of a QR code of `text` held still in front of the
/// camera: what Chromium's fake capture device films.
pub fn qr_video(text: &str) -> Vec<u8> {
    let (w, h) = (640usize, 480usize);
    let code = qrcode::QrCode::new(text.as_bytes()).expect("a QR code");
    let modules = code.width();
    let colors = code.to_colors();
    let scale = (h - 40) / (modules + 8);
    let side = (modules + 8) * scale;
    let (left, top) = ((w - side) / 2, (h - side) / 2);
    let mut luma = vec![200u8; w * h];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / scale, y / scale);
            let dark = (4..modules + 4).contains(&mx)
                && (4..modules + 4).contains(&my)
                && colors[(my - 4) * modules + (mx - 4)] == qrcode::Color::Dark;
            luma[(top + y) * w + left + x] = if dark { 16 } else { 235 };
        }
    }
    let chroma = vec![128u8; (w / 2) * (h / 2)];
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..10 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.extend_from_slice(&chroma);
        out.extend_from_slice(&chroma);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_in_mail_bodies() {
        let mail = "Subject: Your code\r\nTo: a@b.c\r\n\r\nHello,\r\n\r\n    123456\r\n\r\nhttp://127.0.0.1:1234/x\r\n";
        assert_eq!(six_digit_code(mail).as_deref(), Some("123456"));
        assert_eq!(six_digit_code("Subject: 123456\r\n\r\nno code"), None);
    }

    #[test]
    fn xpath_literals_quote_anything() {
        assert_eq!(xpath_literal("Send code"), "'Send code'");
        assert_eq!(xpath_literal("Don't"), "\"Don't\"");
        assert_eq!(xpath_literal("a'b\"c"), "concat('a', \"'\", 'b\"c')");
    }
}
