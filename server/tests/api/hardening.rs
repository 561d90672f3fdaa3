//! What an attacker tries: stored open redirects, malformed and oversized input, bursts
//! of log-ins and sign-ups, slow request heads; and what an operator needs: security
//! headers, honest probes, metrics.

use crate::db_test;
use crate::helpers::*;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use sea_orm::ConnectionTrait;
use std::time::Duration;

const ALLOWED: &str = "shop.example.com";
const SITE: &str = "http://127.0.0.1:3000";

/// Destinations an attacker would store. `{site}` is this site's base URL.
fn hostile_destinations() -> Vec<String> {
    let raw = [
        "{site}//evil.example",
        "{site}/\\evil.example",
        "{site}/..//evil.example",
        "{site}/.//evil.example",
        "{site}////evil.example",
        "{site}/%2e%2e//evil.example",
        "{site}/\t/evil.example",
        "{site}/\n/evil.example",
        "HTTP://127.0.0.1:3000//evil.example",
        "http://2130706433:3000//evil.example",
        "http://0x7f.1:3000//evil.example",
        "http://0177.0.0.1:3000//evil.example",
        "http://127.1:3000//evil.example",
        "http://127.0.0.1:3000/a/../..//evil.example",
        "http://127.0.0.1:3000\\@evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/..//evil.example",
        "/.//evil.example",
        "/./..//evil.example",
        "/a/../..//evil.example",
        "/%2e%2e//evil.example",
        "/.%2E//evil.example",
        "/%2E//evil.example",
        "/\u{0}//evil.example",
        "/\u{3000}/evil.example",
        " //evil.example",
        "https://evil.example",
        "http://evil.example/",
        "https://shop.example.com.evil.example/",
        "https://shop.example.com@evil.example/",
        "https://user:pw@shop.example.com/",
        "https://evil.example#@shop.example.com",
        "https://evil.example\\@shop.example.com",
        "https://shop.exa\tmple.com/",
        "http:evil.example",
        "http:/evil.example",
        "https:///evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://shop.example.com/",
        // On-site or allowed: these may be stored, and must redirect where they say.
        "/%5cevil.example",
        "/pricing?next=//evil.example",
        "{site}/welcome",
        "https://shop.example.com/cart",
    ];
    raw.iter().map(|d| d.replace("{site}", SITE)).collect()
}

/// Whether a `Location` keeps the browser on this site or sends it to an allowed host,
/// as a browser resolves it.
fn lands_safely(location: &str) -> bool {
    if location
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    let from = url::Url::parse("http://127.0.0.1:3000/r/code").unwrap();
    let Ok(to) = from.join(location) else { return false };
    if location.starts_with('/') {
        return !location.starts_with("//") && !to.path().starts_with("//") && to.host_str() == Some("127.0.0.1");
    }
    matches!(to.scheme(), "http" | "https") && to.username().is_empty() && to.host_str() == Some(ALLOWED)
}

/// Clicks `/r/<code>`: the link is refused with the not-found page, or it redirects safely.
async fn click_is_safe(app: &TestApp, code: &str, what: &str) {
    let res = app.browser().get(&format!("/r/{code}")).await;
    match res.status().as_u16() {
        404 => {
            let body = res.text().await.unwrap();
            assert!(body.contains("Link not found"), "{what}: {body}");
        }
        302 => {
            let location = res.headers()["location"].to_str().unwrap().to_string();
            assert!(lands_safely(&location), "{what} redirected to {location:?}");
        }
        s => panic!("{what}: /r/{code} answered {s}"),
    }
}

/// A refusal must name the destination field; an acceptance must redirect safely.
async fn stored_or_refused(app: &TestApp, res: reqwest::Response, what: &str) {
    let status = res.status().as_u16();
    let body = json(res).await;
    match status {
        200 | 201 => {
            let code = body["link"]["code"].as_str().unwrap().to_string();
            click_is_safe(app, &code, what).await;
        }
        // A field error; or, for a NUL, the form refused whole before any field is read.
        422 => assert!(
            body["error"]["field"] == "destination" || body["error"]["message"].as_str().unwrap().contains("NUL"),
            "{what}: {body}"
        ),
        s => panic!("{what}: answered {s}: {body}"),
    }
}

db_test!(
    hostile_destinations_are_refused_or_stay_on_this_site,
    config = |c| c.referrals.allowed_hosts = vec![ALLOWED.into()],
    |app| {
        let list = hostile_destinations();
        assert!(list.len() >= 40);
        let member = app.member("maker@example.com").await;
        let api = Api::new(&app).await;
        let admin = app.admin("admin@example.com").await;
        let updated = json(
            member
                .post_form("/api/links/create", &[("label", "to update"), ("destination", "/")])
                .await,
        )
        .await["link"]["code"]
            .as_str()
            .unwrap()
            .to_string();
        for (i, d) in list.iter().enumerate() {
            let what = format!("{d:?}");
            let label = format!("hostile {i}");
            let res = member
                .post_form("/api/links/create", &[("label", &label), ("destination", d)])
                .await;
            stored_or_refused(&app, res, &format!("create {what}")).await;

            let res = member
                .post_form(
                    "/api/links/update",
                    &[("code", &updated), ("label", "to update"), ("destination", d)],
                )
                .await;
            stored_or_refused(&app, res, &format!("update {what}")).await;

            let res = api
                .post(
                    "/links",
                    serde_json::json!({"user_email": "maker@example.com", "label": format!("api {i}"), "destination": d}),
                )
                .await;
            stored_or_refused(&app, res, &format!("API {what}")).await;

            // The UTM builder: its URL, followed, lands on this site.
            for code in [None, Some(updated.as_str())] {
                let mut query = vec![("destination", d.as_str()), ("utm_source", "news")];
                if let Some(c) = code {
                    query.push(("code", c));
                }
                let res = admin
                    .client
                    .get(admin.url("/api/admin/utm"))
                    .header(ACCEPT, "application/json")
                    .query(&query)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body = json(res).await;
                if status == 422 {
                    assert!(
                        body["error"]["field"] == "destination"
                            || body["error"]["message"].as_str().unwrap().contains("NUL"),
                        "UTM {what}: {body}"
                    );
                    continue;
                }
                assert_eq!(status, 200, "UTM {what}: {body}");
                let built = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
                assert_eq!(built.host_str(), Some("127.0.0.1"), "UTM {what}: {built}");
                assert!(!built.path().starts_with("//"), "UTM {what}: {built}");
                if built.path().starts_with("/r/") {
                    let pq = &built[url::Position::BeforePath..];
                    let res = app.browser().get(pq).await;
                    assert_eq!(res.status(), 302, "UTM {what}: {pq}");
                    let location = res.headers()["location"].to_str().unwrap();
                    assert!(lands_safely(location), "UTM {what}: {pq} -> {location:?}");
                }
            }
        }

        // The same list written straight into the database (rows from before the rules,
        // or by hand): every click is refused or stays on this site.
        let pg = app.database_url.starts_with("postgres");
        for (i, d) in list.iter().enumerate() {
            if pg && d.contains('\u{0}') {
                continue; // PostgreSQL text cannot hold NUL
            }
            let code = format!("raw{i}");
            app.state
                .db
                .write
                .execute(app::server::sql::stmt(
                    app.state.db.write.get_database_backend(),
                    "INSERT INTO links (code, code_key, owner_id, label, destination, active, is_personal, auto_created, created_at, updated_at) \
                     VALUES (?, ?, NULL, ?, ?, TRUE, FALSE, FALSE, 0, 0)",
                    vec![code.clone().into(), code.clone().into(), code.clone().into(), d.clone().into()],
                ))
                .await
                .unwrap();
            click_is_safe(&app, &code, &format!("stored {d:?}")).await;
            // `?redirect_to=` can only pick a path here, never an escape.
            let res = app
                .browser()
                .get(&format!("/r/{code}?redirect_to=%2F..%2F%2Fevil.example"))
                .await;
            if res.status() == 302 {
                assert!(lands_safely(res.headers()["location"].to_str().unwrap()));
            }
        }
        // Startup's check names the stored rows that fail.
        let refused = app::server::referrals::destination::refused_links(&app.state.db.read, &app.state.config)
            .await
            .unwrap();
        assert!(refused.iter().any(|l| l.code == "raw0"), "{refused:?}");
        assert!(refused.iter().all(|l| l.code.starts_with("raw")), "{refused:?}");
    }
);

/// Posts to `path` as a script would, adding each field the function says is missing,
/// until it runs; then the same fields as a plain form post. Neither may answer 5xx,
/// nor take more than 2 s.
async fn post_until_it_runs(b: &Browser, path: &str, value: &str) {
    let mut fields: Vec<(String, String)> = ["id", "code", "user_id", "campaign_id", "key_id", "form", "codes[0]"]
        .iter()
        .map(|f| (f.to_string(), value.to_string()))
        .collect();
    let send = |req: reqwest::RequestBuilder| async move {
        tokio::time::timeout(Duration::from_secs(2), req.send())
            .await
            .unwrap_or_else(|_| panic!("{path} did not answer within 2 s"))
            .unwrap()
    };
    for _ in 0..12 {
        let res = send(
            b.client
                .post(b.url(path))
                .header(ACCEPT, "application/json")
                .form(&fields),
        )
        .await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert!(status < 500, "{path} answered {status}: {text}");
        let missing = text
            .split("missing field '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .map(String::from);
        match missing {
            Some(m) if !fields.iter().any(|(f, _)| *f == m) => fields.push((m, value.to_string())),
            _ => {
                let res = send(
                    b.client
                        .post(b.url(path))
                        .header(ACCEPT, "text/html")
                        .header("Origin", b.url(""))
                        .header("Referer", b.url("/admin"))
                        .form(&fields),
                )
                .await;
                assert!(
                    res.status().as_u16() < 500,
                    "{path} (form post) answered {}",
                    res.status()
                );
                if let Some(location) = res.headers().get("location") {
                    // Back to the form (its page, as the framework spells it: the Referer).
                    let location = location.to_str().unwrap();
                    let local = location.strip_prefix(&b.url("")).unwrap_or(location);
                    assert!(lands_safely(local), "{path}: {location:?}");
                }
                return;
            }
        }
    }
    panic!("{path}: could not find its fields")
}

/// Every server function registered, with its method.
fn server_functions() -> Vec<(String, http::Method)> {
    let mut all: Vec<(String, http::Method)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

db_test!(control_characters_in_ids_never_answer_5xx, |app| {
    let visitor = app.browser();
    let member = app.member("m@example.com").await;
    let admin = app.admin("admin@example.com").await;
    let functions = server_functions();
    assert!(functions.len() > 30, "{functions:?}");
    for value in [
        "1\u{1}\r\nX-Injected: yes",
        "\u{7f}%00",
        "a\u{0}b",
        "9223372036854775808",
        "../é\u{202e}",
    ] {
        for (path, method) in &functions {
            for who in [&visitor, &member, &admin] {
                if *method == http::Method::POST {
                    if path.ends_with("/logout") {
                        continue;
                    }
                    post_until_it_runs(who, path, value).await;
                } else {
                    let query: Vec<(&str, &str)> = ["id", "code", "user_id", "campaign", "form", "destination"]
                        .iter()
                        .map(|f| (*f, value))
                        .collect();
                    let res = tokio::time::timeout(
                        Duration::from_secs(2),
                        who.client
                            .get(who.url(path))
                            .header(ACCEPT, "application/json")
                            .query(&query)
                            .send(),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{path} did not answer within 2 s"))
                    .unwrap();
                    assert!(res.status().as_u16() < 500, "GET {path} answered {}", res.status());
                }
            }
        }
        // Routes with an id or code in the path.
        let enc = app::util::urlencode(value);
        for path in [
            format!("/r/{enc}"),
            format!("/r/{enc}/"),
            format!("/links/{enc}"),
            format!("/admin/users/{enc}"),
            format!("/admin/campaigns/{enc}"),
            format!("/admin/identities/{enc}"),
            format!("/admin/conversions/{enc}"),
            format!("/admin/export/{enc}.csv"),
            format!("/admin/export/{enc}"),
            format!("/?ref={enc}"),
            format!("/?utm_source={enc}"),
            format!("/admin/users?q={enc}"),
            format!("/admin/links?q={enc}&status={enc}"),
            format!("/admin/referrers?q={enc}&campaign={enc}"),
            format!("/admin/responses?action={enc}&link={enc}"),
            format!("/admin/touchpoints?source={enc}&medium={enc}&utm_campaign={enc}"),
            format!("/admin/conversions?event={enc}&from={enc}&to={enc}"),
            format!("/admin/attribution?model={enc}&group={enc}&source_windows={enc}"),
            format!("/admin/campaigns?from={enc}&to={enc}"),
            format!("/admin?range={enc}&from={enc}"),
            format!("/admin/leaderboard?range={enc}"),
            format!("/admin/utm?destination={enc}&code={enc}&utm_source=x"),
            format!("/login?next={enc}"),
            "/admin/users?q=%FF%FE".to_string(),
        ] {
            for who in [&visitor, &member, &admin] {
                let res = tokio::time::timeout(Duration::from_secs(2), who.client.get(who.url(&path)).send())
                    .await
                    .unwrap_or_else(|_| panic!("{path} did not answer within 2 s"))
                    .unwrap();
                assert!(res.status().as_u16() < 500, "GET {path} answered {}", res.status());
            }
        }
        let api = Api::new(&app).await;
        for path in [
            format!("/conversions/{enc}/explain"),
            format!("/conversions?cursor={enc}&event={enc}"),
            format!("/attribution/report?group_by={enc}&model={enc}"),
        ] {
            let res = api.get(&path).await;
            assert!(
                res.status().as_u16() < 500,
                "GET /api/v1{path} answered {}",
                res.status()
            );
        }
        for (path, body) in [
            (
                "/links",
                serde_json::json!({"user_email": "m@example.com", "label": value, "destination": "/", "code": value}),
            ),
            (
                "/links",
                serde_json::json!({"user_id": value, "label": "x", "destination": "/"}),
            ),
            (
                "/conversions",
                serde_json::json!({"event": value, "visitor_id": value, "idempotency_key": value}),
            ),
            (
                "/conversions",
                serde_json::json!({"event": "purchase", "user_email": value, "value": value, "currency": value}),
            ),
            ("/conversions/confirm", serde_json::json!({"id": value})),
            (
                "/conversions/cancel",
                serde_json::json!({"source_type": value, "source_id": value, "event": value}),
            ),
            (
                "/responses",
                serde_json::json!({"action": value, "visitor_id": value, "target_type": value, "target_id": value}),
            ),
        ] {
            let res = api.post(path, body.clone()).await;
            assert!(
                res.status().as_u16() < 500,
                "POST /api/v1{path} {body} answered {}",
                res.status()
            );
        }
    }
});

db_test!(
    campaign_forms_from_a_visitor_with_a_control_character_are_refused,
    |app| {
        let visitor = app.browser();
        for path in ["/api/campaigns/update", "/api/campaigns/delete"] {
            let res = visitor
                .post_html_form(path, "/admin/campaigns", &[("id", "1\u{1}"), ("name", "x")])
                .await;
            // A plain form post goes back to the form, with its message kept for it.
            assert_eq!(res.status(), 302, "{path}");
            assert!(!res.headers()["location"].to_str().unwrap().contains('\u{1}'));
            let res = visitor.post_form(path, &[("id", "1\u{1}"), ("name", "x")]).await;
            assert_eq!(res.status(), 401, "{path}");
            assert_eq!(json(res).await["error"]["code"], "unauthorized");
        }
    }
);

db_test!(every_form_endpoint_refuses_oversized_and_invalid_utf8_bodies, |app| {
    let admin = app.admin("admin@example.com").await;
    let visitor = app.browser();
    let big = format!("id={}", "a".repeat(3 * 1024 * 1024));
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("oversized", big.into_bytes(), 413),
        ("raw invalid UTF-8", b"email=\xff\xfe&password=x".to_vec(), 422),
        ("escaped invalid UTF-8", b"email=%FF%FE&password=x".to_vec(), 422),
        ("invalid UTF-8 name", b"%C3=x".to_vec(), 422),
    ];
    for (path, method) in server_functions() {
        if method != http::Method::POST {
            continue;
        }
        for who in [&admin, &visitor] {
            for (what, body, status) in &cases {
                for accept in ["application/json", "text/html"] {
                    let res = tokio::time::timeout(
                        Duration::from_secs(2),
                        who.client
                            .post(who.url(&path))
                            .header(ACCEPT, accept)
                            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(body.clone())
                            .send(),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{path} ({what}) did not answer within 2 s"))
                    .unwrap();
                    assert_eq!(res.status().as_u16(), *status, "{path} ({what}, {accept})");
                    let text = res.text().await.unwrap();
                    if accept == "application/json" {
                        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                        let code = if *status == 413 {
                            "payload_too_large"
                        } else {
                            "validation"
                        };
                        assert_eq!(v["error"]["code"], code, "{path} ({what}): {v}");
                    } else {
                        assert!(text.contains("<h1>"), "{path} ({what}): a page for browsers");
                    }
                }
            }
        }
    }
    // A body without a declared length, over the limit, is refused too.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    conn.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1024, "a".repeat(1024));
    for _ in 0..80 {
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut head = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
});

db_test!(
    a_burst_of_wrong_passwords_verifies_at_most_the_limit_and_locks_only_that_address,
    config = |c| {
        c.accounts.login_max_failures_per_account = 5;
        c.server.metrics_token = Some("metrics-token-for-tests".into());
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    },
    |app| {
        app.browser().signup("target@example.com", PASSWORD, "Target").await;
        let before = metric(&app, "tributary_password_verifications_total").await;
        let attacker = std::sync::Arc::new(app.browser());
        let statuses = at_once((0..30).map(|_| {
            let a = attacker.clone();
            async move {
                a.login("target@example.com", "not the password")
                    .await
                    .status()
                    .as_u16()
            }
        }))
        .await;
        assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");
        assert_eq!(statuses.get(&429), Some(&25), "{statuses:?}");
        let verified = metric(&app, "tributary_password_verifications_total").await - before;
        assert!(verified <= 5.0, "{verified} verifications for a limit of 5");
        // The right password from the same address waits out the lock.
        assert_eq!(attacker.login("target@example.com", PASSWORD).await.status(), 429);
        // The owner, from another address, logs in.
        let owner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = owner
            .post(app.url("/api/login"))
            .header(ACCEPT, "application/json")
            .header("X-Forwarded-For", "203.0.113.9")
            .form(&[("email", "target@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "the owner is not locked out by someone else's failures"
        );
        let _ = owner;
    }
);

/// A new member and the code of their personal link.
async fn owner_and_code(app: &TestApp) -> (Browser, String) {
    let owner = app.member("owner@example.com").await;
    let code = json(owner.get_json("/api/links/mine").await).await["links"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    (owner, code)
}

/// Runs the requests at once; how many answered each status.
async fn at_once<F>(requests: impl IntoIterator<Item = F>) -> std::collections::BTreeMap<u16, usize>
where
    F: std::future::Future<Output = u16> + Send + 'static,
{
    let tasks: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    statuses
}

/// A counter's value from `/metrics` (the token is the tests').
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = scrape(app).await;
    metric_in(&text, name)
}

fn metric_in(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

db_test!(
    the_lock_counts_failures_per_address_under_a_per_account_ceiling,
    config = |c| {
        c.accounts.login_max_failures_per_account = 3;
        c.accounts.login_max_failures_per_account_total = 6;
        c.accounts.login_max_failures_per_ip = 100;
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    },
    |app| {
        app.browser().signup("ceiling@example.com", PASSWORD, "C").await;
        let from = |ip: &'static str| {
            let b = app.browser();
            async move {
                b.client
                    .post(b.url("/api/login"))
                    .header(ACCEPT, "application/json")
                    .header("X-Forwarded-For", ip)
                    .form(&[("email", "ceiling@example.com"), ("password", "wrong guess")])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        for _ in 0..3 {
            assert_eq!(from("198.51.100.1").await, 401);
        }
        assert_eq!(from("198.51.100.1").await, 429, "that address is locked");
        for _ in 0..3 {
            assert_eq!(from("198.51.100.2").await, 401, "another address is not");
        }
        // Six failures from every address together: the account's ceiling.
        assert_eq!(from("198.51.100.3").await, 429);
    }
);

db_test!(
    signups_are_limited_per_address,
    config = |c| c.accounts.signup_max_per_hour_per_ip = 3,
    |app| {
        let statuses = at_once((0..10).map(|i| {
            let b = app.browser();
            async move {
                b.signup(&format!("burst{i}@example.com"), PASSWORD, "Burst")
                    .await
                    .status()
                    .as_u16()
            }
        }))
        .await;
        assert_eq!(statuses.get(&200), Some(&3), "{statuses:?}");
        assert_eq!(statuses.get(&429), Some(&7), "{statuses:?}");
        let res = app.browser().signup("late@example.com", PASSWORD, "Late").await;
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM users", vec![]).await, 3);
        // An invalid form is not counted against the address.
        let res = app.browser().signup("not an email", PASSWORD, "X").await;
        assert_eq!(res.status(), 422);
    }
);

/// Sessions stored, on either database.
async fn sessions(app: &TestApp) -> i64 {
    let table = if app.database_url.starts_with("postgres") {
        "tower_sessions.session"
    } else {
        "tower_sessions"
    };
    scalar(app, &format!("SELECT COUNT(*) FROM {table}"), vec![]).await
}

db_test!(a_failed_anonymous_form_post_creates_no_session, |app| {
    app.browser().signup("flash@example.com", PASSWORD, "Flash").await;
    let before = sessions(&app).await;
    let b = app.browser();
    let res = b
        .post_html_form(
            "/api/login",
            "/login",
            &[("email", "flash@example.com"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login");
    let cookies = set_cookies(&res);
    assert!(
        !cookies.iter().any(|c| c.starts_with("tributary_session=")),
        "{cookies:?}"
    );
    let flash = cookies
        .iter()
        .find(|c| c.starts_with("tributary_flash="))
        .expect("the message travels in a cookie");
    assert!(flash.contains("HttpOnly") && flash.contains("SameSite=Lax") && flash.contains("Max-Age=120"));
    assert_eq!(sessions(&app).await, before, "no session row for a visitor");

    // The form shows the message once, with what was typed (not the password).
    let page = b.get("/login").await;
    let cleared = set_cookies(&page);
    let body = page.text().await.unwrap();
    assert!(body.contains("The email or password is incorrect."), "{body}");
    assert!(body.contains("flash@example.com"));
    assert!(
        cleared.iter().any(|c| c.starts_with("tributary_flash=;")),
        "{cleared:?}"
    );
    let again = b.get("/login").await.text().await.unwrap();
    assert!(!again.contains("The email or password is incorrect."));
    assert_eq!(sessions(&app).await, before);

    // A forged cookie shows nothing.
    let forged = app.browser();
    forged.set_cookie("tributary_flash", "eyJmb3JtIjoibG9naW4ifQ.AAAA");
    let body = forged.get("/login").await.text().await.unwrap();
    assert!(!body.contains("alert-error"), "{body}");

    // A logged-in user keeps the session's message.
    let member = app.member("member@example.com").await;
    let res = member
        .post_html_form(
            "/api/password",
            "/account",
            &[
                ("current_password", "wrong"),
                ("new_password", "another good passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 302);
    assert!(!set_cookies(&res).iter().any(|c| c.starts_with("tributary_flash=")));
    let body = member.get("/account").await.text().await.unwrap();
    assert!(body.contains("Your current password is incorrect."), "{body}");
});

db_test!(
    a_slow_request_head_is_cut_off,
    config = |c| c.server.header_read_timeout = Duration::from_secs(1),
    |app| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = app.base.trim_start_matches("http://").to_string();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        // The server closes the connection (after a 408 or without a word); the bound here
        // only keeps a broken build from hanging the test run.
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the connection was still open after 20 s");
        // A whole request on a new connection is served.
        assert_eq!(app.browser().get("/healthz/live").await.status(), 200);
    }
);

db_test!(pages_carry_the_security_headers_and_a_script_nonce, |app| {
    let res = app.browser().get("/login").await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!scripts.contains("unsafe-inline"), "{csp}");
    let nonce = scripts
        .split_whitespace()
        .find_map(|t| t.strip_prefix("'nonce-")?.strip_suffix('\''))
        .expect("a nonce")
        .to_string();
    let body = res.text().await.unwrap();
    let scripts: Vec<&str> = body
        .split("<script")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(""))
        .collect();
    assert!(!scripts.is_empty());
    for tag in scripts {
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "a script without this response's nonce: {tag}"
        );
    }
    // Another response, another nonce.
    let other = app.browser().get("/login").await;
    assert!(
        !other.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );
    // Redirects, JSON and errors carry the plain headers too.
    for path in ["/r/nope", "/api/me", "/healthz"] {
        let res = app.browser().get(path).await;
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(res.headers().contains_key("content-security-policy"), "{path}");
    }
});

db_test!(
    a_request_over_the_time_limit_answers_503,
    config = |c| c.server.request_timeout = Duration::from_secs(1),
    |app| {
        // Another connection holds the users table, so a sign-up's insert waits.
        let url = app.database_url.clone();
        let (hold, held) = tokio::sync::oneshot::channel::<()>();
        let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::spawn(async move {
            use sqlx::Connection;
            if url.starts_with("postgres") {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                let mut tx = c.begin().await.unwrap();
                sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let _ = locked.send(());
                let _ = held.await;
                tx.rollback().await.unwrap();
            } else {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
                let _ = locked.send(());
                let _ = held.await;
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        });
        is_locked.await.unwrap();
        let res = app.browser().signup("slow@example.com", PASSWORD, "Slow").await;
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key("retry-after"));
        let body = json(res).await;
        assert!(
            body["error"]["message"].as_str().unwrap().contains("too long"),
            "{body}"
        );
        let page = app
            .browser()
            .post_html_form(
                "/api/signup",
                "/signup",
                &[
                    ("email", "slow2@example.com"),
                    ("password", PASSWORD),
                    ("display_name", "S"),
                ],
            )
            .await;
        assert_eq!(page.status(), 503);
        assert!(page.text().await.unwrap().contains("Temporarily unavailable"));
        let _ = hold.send(());
        holder.await.unwrap();
        assert_eq!(app.browser().get("/healthz").await.status(), 200);
    }
);

/// Makes every insert into `table` fail, on either database (or stops doing so).
async fn fail_inserts(app: &TestApp, table: &str, on: bool) {
    let db = &app.state.db.write;
    let pg = app.database_url.starts_with("postgres");
    let sql: Vec<String> = match (pg, on) {
        (true, true) => vec![
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"
                .into(),
            format!("CREATE TRIGGER refuse_{table} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()"),
        ],
        (true, false) => vec![format!("DROP TRIGGER refuse_{table} ON {table}")],
        (false, true) => vec![format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )],
        (false, false) => vec![format!("DROP TRIGGER refuse_{table}")],
    };
    for s in sql {
        db.execute_unprepared(&s).await.unwrap();
    }
}

db_test!(
    readiness_fails_while_writes_fail_and_liveness_does_not,
    config = |c| c.server.metrics_token = Some("metrics-token-for-tests".into()),
    |app| {
        let (_owner, code) = owner_and_code(&app).await;
        assert_eq!(app.browser().get("/healthz").await.status(), 200);
        fail_inserts(&app, "responses", true).await;
        fail_inserts(&app, "app_meta", true).await;
        for _ in 0..3 {
            let res = app.browser().get(&format!("/r/{code}")).await;
            assert_eq!(res.status(), 302, "the visitor is still redirected");
        }
        let res = app.browser().get("/healthz").await;
        assert_eq!(res.status(), 503);
        let body = json(res).await;
        assert_eq!(body["reason"], "writes", "{body}");
        assert_eq!(body["writes_lost"], 3);
        assert_eq!(app.browser().get("/healthz/live").await.status(), 200);
        assert_eq!(metric(&app, "tributary_clicks_lost_total").await, 3.0);
        // Writes work again: readiness comes back.
        fail_inserts(&app, "responses", false).await;
        fail_inserts(&app, "app_meta", false).await;
        assert_eq!(app.browser().get("/healthz").await.status(), 200);
        assert_eq!(app.browser().get(&format!("/r/{code}")).await.status(), 302);
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'",
                vec![]
            )
            .await,
            1
        );
    }
);

db_test!(
    metrics_count_what_happened_and_are_never_public,
    config = |c| c.server.metrics_token = Some("metrics-token-for-tests".into()),
    |app| {
        let (_owner, code) = owner_and_code(&app).await;
        for _ in 0..4 {
            assert_eq!(app.browser().get(&format!("/r/{code}")).await.status(), 302);
        }
        for i in 0..3 {
            assert_eq!(app.browser().get(&format!("/?utm_source=m{i}")).await.status(), 200);
        }
        for _ in 0..2 {
            assert_eq!(app.browser().login("owner@example.com", "wrong").await.status(), 401);
        }
        let text = scrape(&app).await;
        assert_eq!(metric_in(&text, "tributary_clicks_recorded_total"), 4.0, "{text}");
        assert_eq!(metric_in(&text, "tributary_landings_recorded_total"), 3.0);
        assert_eq!(metric_in(&text, "tributary_clicks_lost_total"), 0.0);
        assert_eq!(metric_in(&text, "tributary_login_failures_total"), 2.0);
        assert!(
            text.contains(r#"tributary_http_requests_total{route="/r/{code}",method="GET",status="302"} 4"#),
            "{text}"
        );
        assert!(text.contains("tributary_http_request_duration_seconds_bucket{"));
        assert!(text.contains("tributary_writer_commit_seconds_bucket"));
        assert!(text.contains("tributary_db_pool_connections"));
        // Without the token, or with another: refused.
        let res = reqwest::get(app.url("/metrics")).await.unwrap();
        assert_eq!(res.status(), 401);
        let res = reqwest::Client::new()
            .get(app.url("/metrics"))
            .bearer_auth("metrics-token-for-tests-but-wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
);

db_test!(without_a_metrics_setting_there_is_no_metrics_page, |app| {
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), 404);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&format!("sqlite://{}/m.db", dir.path().display()));
    config.server.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let app = server::Application::build(config).await.unwrap();
    let (main, metrics) = (app.port(), app.metrics_port().expect("a metrics listener"));
    tokio::spawn(app.run());
    let res = reqwest::get(format!("http://127.0.0.1:{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("tributary_clicks_recorded_total"));
    // Not on the main address: without METRICS_TOKEN it does not exist there.
    let res = reqwest::get(format!("http://127.0.0.1:{main}/metrics")).await.unwrap();
    assert_eq!(res.status(), 404);
}

/// A TCP proxy between the server and PostgreSQL, which the test cuts (every connection
/// closed, new ones refused) and restores. The shared cluster itself is never touched.
struct Proxy {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, o) = (cut.clone(), open.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                o.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { port, cut, open }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A PostgreSQL outage in the middle of a run of clicks, made by cutting the proxy
/// between the server and the database: known links keep redirecting, an unknown code
/// gets a 503 page at once, readiness goes 503 and back, and every click sent is either
/// a `RESPONDED` row or counted as lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_keeps_known_links_redirecting_and_loses_nothing_silently() {
    let Some((direct, name)) = fresh_postgres().await else {
        return;
    };
    let target = url::Url::parse(&direct).unwrap();
    let proxy = Proxy::start(format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(5432)
    ))
    .await;
    let mut through = target.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.port)).unwrap();
    let (base, state) = start_app(test_config(through.as_str())).await;
    let outcome = tokio::spawn(async move {
        let app = TestApp::for_state(base, state, through.to_string());
        let (owner, known) = owner_and_code(&app).await;
        let unknown = json(
            owner
                .post_form(
                    "/api/links/create",
                    &[("label", "not clicked yet"), ("destination", "/x")],
                )
                .await,
        )
        .await["link"]["code"]
            .as_str()
            .unwrap()
            .to_string();
        let bounded = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(BROWSER_UA)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let click = |code: String| {
            let (client, url) = (bounded.clone(), app.url(&format!("/r/{code}")));
            async move { client.get(url).send().await.unwrap() }
        };
        let mut sent = 0i64;
        for _ in 0..5 {
            assert_eq!(click(known.clone()).await.status(), 302);
            sent += 1;
        }

        proxy.cut();
        let cut_at = std::time::Instant::now();
        // Past the cache's 5 s, known links are served stale.
        while cut_at.elapsed() < Duration::from_secs(7) {
            let res = click(known.clone()).await;
            assert_eq!(res.status(), 302, "a known link redirects during the outage");
            assert_eq!(res.headers()["location"], "/");
            sent += 1;
        }
        let res = click(unknown.clone()).await;
        assert_eq!(res.status(), 503, "a code not cached cannot be looked up");
        assert!(res.headers().contains_key("retry-after"));
        assert!(res.text().await.unwrap().contains("try again"));
        let res = bounded.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(json(res).await["reason"], "database");
        assert_eq!(
            bounded.get(app.url("/healthz/live")).send().await.unwrap().status(),
            200
        );
        assert!(app.state.links.stale_served() > 0);

        proxy.restore();
        let mut ready = false;
        for _ in 0..60 {
            if bounded.get(app.url("/healthz")).send().await.unwrap().status() == 200 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(ready, "readiness came back once the database answered");
        for _ in 0..5 {
            assert_eq!(click(known.clone()).await.status(), 302);
            sent += 1;
        }
        assert_eq!(click(unknown).await.status(), 302);
        sent += 1;
        // Every click is a row or a lost write, once the writes queued during the
        // outage have been committed or given up.
        let mut accounted = (0, 0);
        for _ in 0..60 {
            let rows = scalar(
                &app,
                "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'",
                vec![],
            )
            .await;
            let lost = app.state.writer.lost() as i64;
            accounted = (rows, lost);
            if rows + lost == sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(
            accounted.0 + accounted.1,
            sent,
            "rows {} + lost {} != clicks {sent}",
            accounted.0,
            accounted.1
        );
        assert!(accounted.1 > 0, "the outage lost some writes: {accounted:?}");
        app.state.db.close().await;
    })
    .await;
    drop_postgres(&name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
