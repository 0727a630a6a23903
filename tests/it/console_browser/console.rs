//! What a person does in the console, in the browser: log in and out, open a page from the
//! navigation, switch the language, type into a form.

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};

use super::browser::Browser;
use super::demo::Demo;

/// The console of a running demo, in a browser.
pub(crate) struct Console<'a> {
    pub(crate) browser: &'a Browser,
    /// The demo it shows.
    pub(crate) demo: &'a Demo,
}

impl Console<'_> {
    /// Open the console's front page.
    pub(crate) async fn open(&self) {
        self.browser.goto(&self.demo.console).await;
    }

    /// The login form, once shown; its title says whether it is the first-start setup.
    pub(crate) async fn login_form(&self) -> Element {
        self.browser.visible("form#login", "the login form").await
    }

    /// Fill the login (or setup) form as `username` and submit it.
    async fn submit_login(&self, username: &str, password: &str) {
        let form = self.login_form().await;
        type_into(&form, "input[name=username]", username).await;
        type_into(&form, "input[name=password]", password).await;
        form.find(Locator::Css("button[type=submit]"))
            .await
            .expect("the login button")
            .click()
            .await
            .expect("click the login button");
    }

    /// Log in with a wrong `password`: the page stays on the form and says why; returns
    /// what it says.
    pub(crate) async fn log_in_refused(&self, username: &str, password: &str) -> String {
        self.submit_login(username, password).await;
        let message = self
            .browser
            .until("the login form to say why it refused", || async {
                self.text_of("#login-error").await.filter(|e| !e.is_empty())
            })
            .await;
        assert!(
            self.browser.shows("form#login").await && !self.browser.shows("#logout").await,
            "still logged out after a refused login"
        );
        message
    }

    /// Fill the login (or setup) form as `username` and submit it; wait until logged in.
    pub(crate) async fn log_in(&self, username: &str, password: &str) {
        self.submit_login(username, password).await;
        let what = format!("{username} to be logged in");
        self.browser
            .until(&what, || async {
                if let Some(error) = self.text_of("#login-error").await
                    && !error.is_empty()
                {
                    panic!("logging in as {username} failed in the page: {error}");
                }
                (self.browser.shows("#logout").await && !self.browser.shows("form#login").await)
                    .then_some(())
            })
            .await;
    }

    /// Log out with the page's button and wait for the login form.
    pub(crate) async fn log_out(&self) {
        self.browser
            .visible("#logout", "the log-out button")
            .await
            .click()
            .await
            .expect("click log out");
        self.login_form().await;
    }

    /// Open page `name` from the navigation and wait until its section shows.
    pub(crate) async fn page(&self, name: &str) -> Element {
        let link = format!("a[data-page=\"{name}\"]");
        self.browser
            .visible(&link, &format!("the navigation link to {name}"))
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {link}: {e}"));
        self.browser
            .visible(&format!("section#page-{name}"), &format!("page {name}"))
            .await
    }

    /// The `lang` of the document now.
    pub(crate) async fn lang(&self) -> String {
        self.browser
            .js("return document.documentElement.lang;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The navigation links' texts, in order.
    pub(crate) async fn nav_texts(&self) -> Vec<String> {
        let texts = self
            .browser
            .js(
                "return [...document.querySelectorAll('a[data-page]')]\
                 .filter((a) => a.offsetParent !== null).map((a) => a.textContent.trim());",
                vec![],
            )
            .await;
        serde_json::from_value(texts).unwrap_or_default()
    }

    /// The text of the first element matching `css`, if any.
    pub(crate) async fn text_of(&self, css: &str) -> Option<String> {
        let e = self.browser.client().find(Locator::Css(css)).await.ok()?;
        e.text().await.ok()
    }

    /// Call the console's API from the page, with the page's own session and CSRF token
    /// (to check what the screen shows against the record); the status and the JSON body.
    pub(crate) async fn api(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let script = r"
            const [method, path, body, done] = arguments;
            const me = await fetch('/api/me').then((r) => r.json());
            const res = await fetch(path, {
                method,
                headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf || '' },
                body: method === 'GET' ? undefined : JSON.stringify(body),
            });
            done([res.status, await res.json().catch(() => null)]);
        ";
        let answer = self
            .browser
            .client()
            .execute_async(
                &format!("(async () => {{ {script} }})();"),
                vec![json!(method), json!(path), body.clone()],
            )
            .await
            .unwrap_or_else(|e| panic!("{method} {path} from the page: {e}"));
        let status = answer[0].as_u64().unwrap_or_default() as u16;
        (status, answer[1].clone())
    }
}

/// Clear the field `css` inside `scope` and type `text` into it.
pub(crate) async fn type_into(scope: &Element, css: &str, text: &str) {
    let field = scope
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no field {css}: {e}"));
    field.clear().await.expect("clear the field");
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}
