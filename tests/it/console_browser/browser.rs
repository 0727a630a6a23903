//! Headless Chromium driven over WebDriver: Debian's chromedriver as a child in its own
//! process group, a fantoccini session on it, waits with generous limits, and screenshots.
//!
//! The flags are those that work as root on a closed network (../shared/TOOLCHAIN.md). The
//! driver and the browser it starts are killed by process group when the [`Browser`] is
//! dropped, so a failing test leaves nothing running.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Debian's browser and its WebDriver (`scripts/setup.sh` installs both).
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any one thing on a page may take to show up on a busy 2-core machine.
pub(crate) const PAGE_LIMIT: Duration = Duration::from_secs(60);

/// A browser session and the driver behind it.
pub(crate) struct Browser {
    /// The WebDriver session; `None` once closed.
    client: Option<Client>,
    /// chromedriver, leading its own process group (the browser joins it); `None` once
    /// stopped.
    driver: Option<Child>,
    /// Where screenshots (and the driver's log) go.
    pub(crate) shots: PathBuf,
    /// The browser's own fresh profile, removed with it.
    profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver on a free port and open a headless Chromium session on it.
    ///
    /// Panics, naming `scripts/setup.sh`, when Chromium or its driver is not installed.
    pub(crate) async fn start(shots: &Path) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the console browser tests need Debian's chromium and \
                 chromium-driver; run scripts/setup.sh (CI installs them)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = File::create(shots.join("chromedriver.log")).expect("driver log file");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::Builder::new()
            .prefix("console-browser-")
            .tempdir()
            .expect("profile dir");
        let mut browser = Self {
            client: None,
            driver: Some(driver),
            shots: shots.to_owned(),
            profile,
        };
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--window-size=1440,1000", "--lang=zh-CN",
                    // A wall screen or a console left alone rings without a click first.
                    "--autoplay-policy=no-user-gesture-required",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        // The driver listens within milliseconds; a busy machine may take longer.
        let deadline = tokio::time::Instant::now() + PAGE_LIMIT;
        let client = loop {
            let attempt = ClientBuilder::rustls()
                .expect("TLS roots for the WebDriver client")
                .capabilities(caps.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    assert!(
                        !browser.driver.as_ref().is_some_and(has_exited),
                        "chromedriver exited; see {}",
                        shots.join("chromedriver.log").display()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from {CHROMEDRIVER}: {e}"),
            }
        };
        browser.client = Some(client);
        browser
    }

    /// The session.
    pub(crate) fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Resize the window so that the page's viewport is `width`×`height` (the window's
    /// own bars are added).
    pub(crate) async fn size(&self, width: u32, height: u32) {
        let set = |w: u32, h: u32| async move {
            self.client()
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("window size {w}x{h}: {e}"));
        };
        set(width, height).await;
        let bars = self
            .js(
                "return [outerWidth - innerWidth, outerHeight - innerHeight];",
                vec![],
            )
            .await;
        let extra = |i: usize| u32::try_from(bars[i].as_i64().unwrap_or(0).max(0)).unwrap_or(0);
        if extra(0) > 0 || extra(1) > 0 {
            set(width + extra(0), height + extra(1)).await;
        }
    }

    /// Open `url`.
    pub(crate) async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Wait until an element matching `css` is in the page and displayed; `what` names it
    /// in the failure.
    pub(crate) async fn visible(&self, css: &str, what: &str) -> Element {
        self.until(what, || async {
            for e in self.client().find_all(Locator::Css(css)).await.ok()? {
                if e.is_displayed().await.unwrap_or(false) {
                    return Some(e);
                }
            }
            None
        })
        .await
    }

    /// Click the element matching `css`, found afresh for each try: a live page may redraw
    /// it between finding and clicking, which is not a failure. `what` names it.
    pub(crate) async fn click_afresh(&self, css: &str, what: &str) {
        self.until(what, || async {
            let element = self.client().find(Locator::Css(css)).await.ok()?;
            element.click().await.ok()
        })
        .await;
    }

    /// Whether an element matching `css` is displayed now.
    pub(crate) async fn shows(&self, css: &str) -> bool {
        let Ok(all) = self.client().find_all(Locator::Css(css)).await else {
            return false;
        };
        for e in all {
            if e.is_displayed().await.unwrap_or(false) {
                return true;
            }
        }
        false
    }

    /// Poll `check` every 200 ms until it gives `Some`, for at most [`PAGE_LIMIT`]; on
    /// time-out, save a screenshot named after `what` and fail naming it.
    pub(crate) async fn until<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        self.until_within(what, PAGE_LIMIT, check).await
    }

    /// [`Browser::until`] with its own limit.
    pub(crate) async fn until_within<T, F, Fut>(
        &self,
        what: &str,
        limit: Duration,
        mut check: F,
    ) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if tokio::time::Instant::now() >= deadline {
                let name = format!("failed-{}", slug(what));
                let saved = self.try_screenshot(&name).await;
                panic!("timed out after {limit:?} waiting for {what} (page as it was: {saved})");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Run `script` in the page (its `arguments` are `args`) and return its value.
    pub(crate) async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Press and release one key, sent to whatever has the focus (as a person types).
    pub(crate) async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client()
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Save the page as `<shots>/<name>.png`, check it is a PNG, and return its path.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client()
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 2_000,
            "screenshot {name} is not a PNG of a page ({} bytes)",
            png.len()
        );
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// A screenshot for a failure report: its path, or why there is none.
    async fn try_screenshot(&self, name: &str) -> String {
        match self.client().screenshot().await {
            Ok(png) => {
                let path = self.shots.join(format!("{name}.png"));
                match std::fs::write(&path, png) {
                    Ok(()) => path.display().to_string(),
                    Err(e) => format!("not saved: {e}"),
                }
            }
            Err(e) => format!("no screenshot: {e}"),
        }
    }

    /// Close the session, then stop the driver.
    pub(crate) async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), client.close()).await;
        }
    }
}

impl Drop for Browser {
    /// The driver's whole process group (the driver and the browser it started) goes, even
    /// when the test failed half way.
    fn drop(&mut self) {
        // Without the runtime the session cannot be closed politely; killing the group
        // ends it as surely.
        drop(self.client.take());
        if let Some(mut driver) = self.driver.take() {
            kill_group(&mut driver, "-KILL");
        }
    }
}

/// Send `signal` to `child`'s process group (it leads one) and reap it.
///
/// Call once, before anything else reaps the child: until it is reaped its pid (and so
/// its group id) cannot be reused, so the signal reaches only what it started.
pub(crate) fn kill_group(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// Whether `child` has exited (a zombie not yet reaped), without reaping it.
pub(crate) fn has_exited(child: &Child) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
        .ok()
        .and_then(|stat| {
            let after_name = &stat[stat.rfind(')')? + 1..];
            after_name.split_whitespace().next().map(|s| s == "Z")
        })
        .unwrap_or(true)
}

/// A file-name-safe form of `text`.
fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}
