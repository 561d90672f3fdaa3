//! `spawn_app`: the real application on port 0, with a fresh database per test:
//! a SQLite file in a temporary directory, or a new PostgreSQL database that is
//! dropped afterwards.

use app::server::config::Config;
use app::server::state::AppState;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Client, Response};
use server::Application;
use std::future::Future;
use std::sync::Arc;

pub const BROWSER_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// A browser-like client: keeps cookies, follows no redirects, sends a desktop user agent.
pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
    base: String,
}

fn admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

async fn pg_admin() -> Option<sqlx::PgPool> {
    match sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect(&admin_url())
        .await
    {
        Ok(p) => Some(p),
        Err(e) => {
            if in_ci() {
                panic!("PostgreSQL is not reachable at {} under CI=true: {e}", admin_url());
            }
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! PostgreSQL is NOT reachable ({e}).\n\
                 !!! SKIPPING this test's PostgreSQL run. Set CI=true to make this fail.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}

/// Creates a fresh database and returns its URL (and, for PostgreSQL, its name).
async fn fresh_database(db: Db) -> Option<(String, Option<tempfile::TempDir>, Option<String>)> {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            Some((url, Some(dir), None))
        }
        Db::Postgres => {
            let admin = pg_admin().await?;
            let name = format!("tributary_test_{}", hex::encode(rand::random::<[u8; 8]>()));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("create test database");
            admin.close().await;
            let mut url = url::Url::parse(&admin_url()).expect("admin url");
            url.set_path(&name);
            Some((url.to_string(), None, Some(name)))
        }
    }
}

async fn drop_database(name: &str) {
    if let Some(admin) = pg_admin().await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}

pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::for_database(database_url);
    config.server.site_addr = "127.0.0.1:0".parse().unwrap();
    config.database.max_connections = 8;
    // Two server threads whatever the machine, as in production on two cores.
    config.server.threads = 2;
    // Tests sign up many users from 127.0.0.1; the limit's own tests set it.
    config.accounts.signup_max_per_hour_per_ip = 10_000;
    config
}

impl TestApp {
    /// A running application whose database the caller owns (and drops).
    pub fn for_state(base: String, state: AppState, database_url: String) -> TestApp {
        TestApp {
            base,
            state,
            database_url,
            _dir: None,
            pg_name: None,
        }
    }

    /// Starts another instance of the application on the same database.
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Config)) -> (String, AppState) {
        let mut config = test_config(&self.database_url);
        tweak(&mut config);
        start(config).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base, BROWSER_UA)
    }

    pub fn browser_with_ua(&self, ua: &str) -> Browser {
        Browser::new(&self.base, ua)
    }

    /// A new member, logged in, in a new browser.
    pub async fn member(&self, email: &str) -> Browser {
        let b = self.browser();
        let res = b.signup(email, PASSWORD, "Member").await;
        assert_eq!(
            res.status(),
            200,
            "signup of {email} failed: {}",
            res.text().await.unwrap_or_default()
        );
        b
    }

    /// A new admin (created through the same code path as `tributary create-admin`), logged in.
    pub async fn admin(&self, email: &str) -> Browser {
        app::server::accounts::signup::create_admin(&self.state.db, &self.state.config, email, PASSWORD)
            .await
            .expect("create admin");
        let b = self.browser();
        let res = b.login(email, PASSWORD).await;
        assert_eq!(res.status(), 200, "admin login failed");
        b
    }
}

/// A fresh PostgreSQL database: its URL and name (`None` when PostgreSQL is unreachable
/// outside CI).
pub async fn fresh_postgres() -> Option<(String, String)> {
    let (url, _, name) = fresh_database(Db::Postgres).await?;
    Some((url, name?))
}

pub async fn drop_postgres(name: &str) {
    drop_database(name).await
}

/// Starts the application with `config`: its base URL and state.
pub async fn start_app(config: Config) -> (String, AppState) {
    start(config).await
}

async fn start(config: Config) -> (String, AppState) {
    if std::env::var("TEST_LOG").is_ok() {
        server::telemetry::init();
    }
    let app = Application::build(config).await.expect("the application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run());
    (base, state)
}

/// Runs `body` against a fresh application on `db`; skips PostgreSQL loudly when it
/// is unreachable (fails under CI=true). The database is dropped afterwards, also
/// when the body panics.
pub async fn run<F, Fut>(db: Db, tweak: impl FnOnce(&mut Config), body: F)
where
    F: FnOnce(Arc<TestApp>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((url, dir, pg_name)) = fresh_database(db).await else {
        return;
    };
    let mut config = test_config(&url);
    tweak(&mut config);
    let (base, state) = start(config).await;
    let app = Arc::new(TestApp {
        base,
        state,
        database_url: url,
        _dir: dir,
        pg_name: pg_name.clone(),
    });
    let outcome = tokio::spawn(body(app.clone())).await;
    app.state.db.close().await;
    if let Some(name) = &app.pg_name {
        drop_database(name).await;
    }
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

impl Browser {
    pub fn new(base: &str, ua: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_str(ua).unwrap());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        Browser {
            client,
            jar,
            base: base.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .expect("GET")
    }

    /// A server-function call as a script makes it: form body, JSON answer.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// A plain HTML form post, as a browser without JavaScript makes it.
    pub async fn post_html_form(&self, path: &str, referer: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header("Origin", self.base.clone())
            .header("Referer", self.url(referer))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn signup(&self, email: &str, password: &str, name: &str) -> Response {
        self.post_form(
            "/api/signup",
            &[("email", email), ("password", password), ("display_name", name)],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/api/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn logout(&self) -> Response {
        self.post_form("/api/logout", &[]).await
    }

    /// The logged-in user's email, or `None`.
    pub async fn whoami(&self) -> Option<String> {
        let res = self.get_json("/api/me").await;
        assert_eq!(res.status(), 200);
        let v: serde_json::Value = res.json().await.expect("json");
        v["email"].as_str().map(String::from)
    }

    /// The value of a cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&self.base).unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(String::from))
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = reqwest::Url::parse(&self.base).unwrap();
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }
}

pub async fn json(res: Response) -> serde_json::Value {
    let status = res.status();
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
}

/// `Set-Cookie` headers of a response.
pub fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect()
}

/// Defines one test per database: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::db_test!($name, config = |_c| {}, |$app| $body);
    };
    ($name:ident, config = $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::run($crate::helpers::Db::Sqlite, $tweak, |$app| async move $body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::run($crate::helpers::Db::Postgres, $tweak, |$app| async move $body).await
            }
        }
    };
}

/// One integer from a query on the app's database (`?` placeholders work on both).
pub async fn scalar(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    use sea_orm::ConnectionTrait;
    let db = &app.state.db.read;
    let row = db
        .query_one(app::server::sql::stmt(db.get_database_backend(), sql, values))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

/// Rows of a query, as JSON objects keyed by column name.
pub async fn rows(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> Vec<serde_json::Value> {
    use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue};
    let db = &app.state.db.read;
    let stmt = app::server::sql::stmt(db.get_database_backend(), sql, values);
    JsonValue::find_by_statement(stmt).all(db).await.expect("query")
}

/// The identity cookie value a response set, if any.
pub fn identity_cookie(res: &Response) -> Option<String> {
    set_cookies(res).into_iter().find_map(|c| {
        c.strip_prefix("tributary_id=")
            .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            .filter(|v| !v.is_empty())
    })
}

/// An API client with a fresh key.
pub struct Api {
    pub client: Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub async fn new(app: &TestApp) -> Api {
        let k = app::server::api_keys::create(&app.state.db.write, "tests", None)
            .await
            .expect("an API key");
        Api::with_key(app, &k.secret)
    }

    pub fn with_key(app: &TestApp, key: &str) -> Api {
        Api {
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            base: app.base.clone(),
            key: key.to_string(),
        }
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> Response {
        self.client
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("GET")
    }
}
