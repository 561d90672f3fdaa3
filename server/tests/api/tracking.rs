//! Landing capture, identities and merging.

use crate::db_test;
use crate::helpers::*;
use std::collections::HashSet;

async fn touch_count(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM touchpoints", vec![]).await
}

async fn identity_count(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM identities", vec![]).await
}

db_test!(
    a_new_visitor_with_utm_gets_an_identity_a_touchpoint_and_the_cookie,
    |app| {
        let b = app.browser();
        let res = b
            .get("/?utm_source=newsletter&utm_campaign=nov&email=ada%40example.com&token=secret")
            .await;
        assert_eq!(res.status(), 200);
        let header = set_cookies(&res)
            .into_iter()
            .find(|c| c.starts_with("tributary_id="))
            .expect("identity cookie");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=7776000"] {
            assert!(header.contains(attr), "{header} lacks {attr}");
        }
        let value = identity_cookie(&res).unwrap();
        // The creation time (12 hex digits), then 128 random bits.
        assert_eq!(value.len(), 44);
        assert!(app::server::tracking::identity::is_valid_public_id(&value), "{value}");
        assert_eq!(identity_count(&app).await, 1);
        let touches = rows(
            &app,
            "SELECT t.* FROM touchpoints t JOIN identities i ON i.id = t.identity_id WHERE i.public_id = ?",
            vec![value.into()],
        )
        .await;
        assert_eq!(touches.len(), 1);
        let t = &touches[0];
        assert_eq!(t["utm_source"], "newsletter");
        assert_eq!(t["utm_campaign"], "nov");
        assert_eq!(t["source"], "newsletter");
        assert_eq!(t["medium"], "(none)");
        assert_eq!(
            t["path"], "/?utm_source=newsletter&utm_campaign=nov",
            "only tracked parameters are kept"
        );
    }
);

db_test!(a_tracked_landing_gets_the_whole_page_as_an_untracked_one_does, |app| {
    // A tracked landing's page is rendered whole while its touchpoint commits.
    let b = app.browser();
    let plain = b.get("/signup").await;
    assert_eq!(plain.status(), 200);
    let plain_type = plain.headers()["content-type"].clone();
    let plain_body = plain.text().await.unwrap();
    let tracked = b.get("/signup?utm_source=newsletter").await;
    assert_eq!(tracked.status(), 200);
    assert!(identity_cookie(&tracked).is_some());
    assert_eq!(tracked.headers()["content-type"], plain_type);
    let length: usize = tracked.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(tracked.headers().get("transfer-encoding").is_none());
    let body = tracked.text().await.unwrap();
    assert_eq!(body.len(), length);
    for page in [&plain_body, &body] {
        // Leptos puts its resource scripts after `</html>`: the page ends with the last.
        assert!(page.contains("</html>"), "{page}");
        assert!(page.trim_end().ends_with("</script>"), "{page}");
    }
    assert_eq!(body.matches("<script").count(), plain_body.matches("<script").count());
    let title = |p: &str| {
        p.split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .map(str::to_string)
    };
    assert_eq!(title(&body), title(&plain_body));
    assert_eq!(touch_count(&app).await, 1);
});

db_test!(a_visitor_with_nothing_to_track_gets_nothing, |app| {
    let b = app.browser();
    for path in ["/", "/?page=2&q=shoes", "/login"] {
        let res = b.get(path).await;
        assert!(identity_cookie(&res).is_none(), "{path}");
    }
    assert_eq!(identity_count(&app).await, 0);
    assert_eq!(touch_count(&app).await, 0);
});

db_test!(an_external_referrer_is_a_touch_with_its_derived_source, |app| {
    let b = app.browser();
    let res = b
        .client
        .get(b.url("/pricing"))
        .header("Referer", "https://www.google.com/search?q=tributary")
        .send()
        .await
        .unwrap();
    assert!(identity_cookie(&res).is_some());
    let t = rows(
        &app,
        "SELECT source, medium, channel, referrer_host, http_referrer FROM touchpoints",
        vec![],
    )
    .await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["source"], "google");
    assert_eq!(t[0]["medium"], "organic");
    assert_eq!(t[0]["channel"], "organic search");
    assert_eq!(t[0]["http_referrer"], "https://www.google.com/search?q=tributary");
    let partner = app.browser();
    partner
        .client
        .get(partner.url("/"))
        .header("Referer", "https://www.partner-blog.example/post")
        .send()
        .await
        .unwrap();
    let t = rows(
        &app,
        "SELECT source, medium FROM touchpoints WHERE referrer_host = ?",
        vec!["www.partner-blog.example".into()],
    )
    .await;
    assert_eq!(t[0]["source"], "partner-blog.example");
    assert_eq!(t[0]["medium"], "referral");
    // A click inside this site is not a touch.
    let own = app.browser();
    let res = own
        .client
        .get(own.url("/signup"))
        .header("Referer", app.url("/pricing"))
        .send()
        .await
        .unwrap();
    assert!(identity_cookie(&res).is_none());
    assert_eq!(touch_count(&app).await, 2);
});

db_test!(
    a_returning_visitor_gets_a_touch_per_new_campaign_but_not_per_reload,
    |app| {
        let b = app.browser();
        let first = identity_cookie(&b.get("/?utm_source=ads&utm_campaign=a").await).unwrap();
        let reload = b.get("/?utm_source=ads&utm_campaign=a").await;
        assert_eq!(
            identity_cookie(&reload).as_deref(),
            Some(first.as_str()),
            "the cookie is refreshed, not replaced"
        );
        b.get("/pricing?utm_campaign=a&utm_source=ads").await; // same parameters on another page
        assert_eq!(touch_count(&app).await, 1, "a quick reload adds nothing");
        b.get("/?utm_source=ads&utm_campaign=b").await;
        assert_eq!(touch_count(&app).await, 2);
        assert_eq!(identity_count(&app).await, 1);
        assert_eq!(
            scalar(&app, "SELECT COUNT(DISTINCT identity_id) FROM touchpoints", vec![]).await,
            1
        );
    }
);

db_test!(
    dedupe_can_be_turned_off,
    config = |c| c.tracking.touch_dedupe_minutes = 0,
    |app| {
        let b = app.browser();
        b.get("/?utm_source=ads").await;
        b.get("/?utm_source=ads").await;
        assert_eq!(touch_count(&app).await, 2);
    }
);

db_test!(
    head_excluded_prefixes_assets_bots_and_privacy_signals_are_not_tracked,
    |app| {
        let b = app.browser();
        let q = "?utm_source=x";
        assert!(identity_cookie(&b.client.head(b.url(&format!("/{q}"))).send().await.unwrap()).is_none());
        for path in [
            "/admin",
            "/admin/users",
            "/pkg/tributary.js",
            "/favicon.ico",
            "/robots.txt",
            "/api/me",
            "/healthz",
        ] {
            let res = b.get(&format!("{path}{q}")).await;
            assert!(identity_cookie(&res).is_none(), "{path}");
        }
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.0",
            "HeadlessChrome/120",
            "",
        ] {
            let bot = app.browser_with_ua(if ua.is_empty() { " " } else { ua });
            assert!(identity_cookie(&bot.get(&format!("/{q}")).await).is_none(), "{ua}");
        }
        let gpc = b
            .client
            .get(b.url(&format!("/{q}")))
            .header("Sec-GPC", "1")
            .send()
            .await
            .unwrap();
        assert!(identity_cookie(&gpc).is_none());
        let dnt = app.browser();
        let res = dnt
            .client
            .get(dnt.url(&format!("/{q}")))
            .header("DNT", "1")
            .send()
            .await
            .unwrap();
        assert!(identity_cookie(&res).is_some(), "DNT is honoured only with RESPECT_DNT");
        assert_eq!(touch_count(&app).await, 1);
    }
);

db_test!(
    dnt_is_respected_when_configured,
    config = |c| c.tracking.respect_dnt = true,
    |app| {
        let b = app.browser();
        let res = b
            .client
            .get(b.url("/?utm_source=x"))
            .header("DNT", "1")
            .send()
            .await
            .unwrap();
        assert!(identity_cookie(&res).is_none());
        assert_eq!(touch_count(&app).await, 0);
    }
);

db_test!(a_malformed_forged_or_unknown_cookie_is_harmless, |app| {
    for value in [
        "garbage",
        "%00%ff",
        "'; DROP TABLE identities; --",
        &"a".repeat(4000),
        "0123456789abcdef0123456789abcdef",
    ] {
        let b = app.browser();
        b.set_cookie("tributary_id", value);
        let res = b.get("/?utm_source=x").await;
        assert_eq!(res.status(), 200, "{value}");
        let new = identity_cookie(&res).expect("a fresh identity");
        assert_ne!(new, value, "an unknown value is never adopted");
    }
    assert_eq!(identity_count(&app).await, 5);
});

db_test!(a_redirecting_landing_is_captured, |app| {
    let b = app.browser();
    let res = b.get("/account?utm_source=mail&utm_medium=email").await;
    assert_eq!(res.status(), 303, "the visitor is sent to log in");
    assert!(identity_cookie(&res).is_some());
    let t = rows(&app, "SELECT path, channel FROM touchpoints", vec![]).await;
    assert_eq!(t[0]["path"], "/account?utm_source=mail&utm_medium=email");
    assert_eq!(t[0]["channel"], "email");
});

db_test!(an_over_long_value_is_dropped_and_the_rest_kept, |app| {
    let b = app.browser();
    let long = "x".repeat(201);
    b.get(&format!("/?utm_source=ok&utm_campaign={long}")).await;
    let t = rows(&app, "SELECT utm_source, utm_campaign FROM touchpoints", vec![]).await;
    assert_eq!(t[0]["utm_source"], "ok");
    assert!(t[0]["utm_campaign"].is_null());
});

db_test!(two_hundred_concurrent_new_visitors_each_get_their_own_identity, |app| {
    let mut tasks = Vec::new();
    for i in 0..200 {
        let b = app.browser();
        tasks.push(tokio::spawn(async move {
            let res = b.get(&format!("/?utm_source=visitor{i}")).await;
            assert_eq!(res.status(), 200);
            (i, identity_cookie(&res).expect("a cookie"))
        }));
    }
    let mut seen = HashSet::new();
    let mut results = Vec::new();
    for t in tasks {
        let (i, cookie) = t.await.unwrap();
        assert!(seen.insert(cookie.clone()), "two visitors got the same identity");
        results.push((i, cookie));
    }
    for (i, cookie) in results {
        let sources = rows(
            &app,
            "SELECT t.utm_source FROM touchpoints t JOIN identities i ON i.id = t.identity_id WHERE i.public_id = ?",
            vec![cookie.into()],
        )
        .await;
        assert_eq!(sources.len(), 1);
        assert_eq!(
            sources[0]["utm_source"],
            format!("visitor{i}"),
            "the touch belongs to its own visitor"
        );
    }
    assert_eq!(identity_count(&app).await, 200);
    assert_eq!(touch_count(&app).await, 200);
});

db_test!(sign_ups_get_their_turn_among_a_stream_of_landings, |app| {
    // The landings' writers hold the one write connection while their jobs keep
    // coming; a sign-up (its own transaction) must still get it, and every landing and
    // every sign-up is recorded.
    let mut landings = Vec::new();
    for i in 0..150 {
        let b = app.browser();
        landings.push(tokio::spawn(async move {
            b.get(&format!("/?utm_source=stream{i}")).await.status()
        }));
    }
    let mut signups = Vec::new();
    for i in 0..4 {
        let b = app.browser();
        signups.push(tokio::spawn(async move {
            b.signup(&format!("stream{i}@example.com"), PASSWORD, "Stream")
                .await
                .status()
        }));
    }
    for t in landings {
        assert_eq!(t.await.unwrap(), 200);
    }
    for t in signups {
        assert!(t.await.unwrap().is_success());
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM touchpoints WHERE utm_source LIKE 'stream%'",
            vec![]
        )
        .await,
        150
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM users WHERE email LIKE 'stream%'", vec![]).await,
        4
    );
});

/// Another process (the CLI, say) holding SQLite's write lock makes a landing wait for
/// it, not fail, and the server thread goes on serving meanwhile: the landing is
/// answered, and recorded, once the lock is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landing_waits_for_another_process_holding_the_sqlite_write_lock() {
    run(
        Db::Sqlite,
        // One server thread: the other request below shares it with the waiting landing.
        |c| c.server.threads = 1,
        |app| async move {
            use sqlx::Connection;
            let mut process = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut process).await.unwrap();
            let held = "f".repeat(32);
            sqlx::query("INSERT INTO identities (public_id, created_at) VALUES (?, 0)")
                .bind(&held)
                .execute(&mut process)
                .await
                .unwrap();
            let b = app.browser();
            let landing = tokio::spawn(async move { b.get("/?utm_source=waited").await.status() });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(!landing.is_finished(), "the landing waits for the lock");
            let other = app.browser();
            let other_page = tokio::time::timeout(std::time::Duration::from_secs(2), other.get("/healthz"));
            assert_eq!(
                other_page.await.expect("the thread serves others meanwhile").status(),
                200
            );
            assert!(!landing.is_finished());
            sqlx::query("COMMIT").execute(&mut process).await.unwrap();
            assert_eq!(landing.await.unwrap(), 200);
            assert_eq!(
                scalar(
                    &app,
                    "SELECT COUNT(*) FROM touchpoints WHERE utm_source = 'waited'",
                    vec![]
                )
                .await,
                1
            );
            assert_eq!(
                scalar(
                    &app,
                    "SELECT COUNT(*) FROM identities WHERE public_id = ?",
                    vec![held.into()]
                )
                .await,
                1
            );
        },
    )
    .await;
}

db_test!(the_first_signup_promotes_the_anonymous_identity, |app| {
    let b = app.browser();
    let anon = identity_cookie(&b.get("/?utm_source=newsletter").await).unwrap();
    let res = b.signup("promo@example.com", PASSWORD, "Promo").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        identity_cookie(&res).as_deref(),
        Some(anon.as_str()),
        "the cookie keeps naming it"
    );
    let ids = rows(
        &app,
        "SELECT i.public_id, u.email FROM identities i JOIN users u ON u.id = i.user_id",
        vec![],
    )
    .await;
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["public_id"], anon.as_str());
    assert_eq!(ids[0]["email"], "promo@example.com");
});

db_test!(a_second_devices_history_merges_into_the_account, |app| {
    let laptop = app.browser();
    laptop.get("/?utm_source=newsletter").await;
    laptop.signup("merge@example.com", PASSWORD, "M").await;
    let canonical = laptop.cookie("tributary_id").unwrap();
    let phone = app.browser();
    let phone_id = identity_cookie(&phone.get("/?utm_source=facebook&utm_medium=social").await).unwrap();
    let res = phone.login("merge@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        identity_cookie(&res).as_deref(),
        Some(canonical.as_str()),
        "the phone's cookie now names the account's identity"
    );
    let on_canonical = scalar(
        &app,
        "SELECT COUNT(*) FROM touchpoints t JOIN identities i ON i.id = t.identity_id WHERE i.public_id = ?",
        vec![canonical.clone().into()],
    )
    .await;
    assert_eq!(on_canonical, 2, "both devices' touches are on the account");
    let merged = rows(&app, "SELECT m.public_id AS merged, c.public_id AS into_id FROM identities m JOIN identities c ON c.id = m.merged_into_id", vec![]).await;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["merged"], phone_id.as_str());
    // A third device: the chain stays flat.
    let tablet = app.browser();
    tablet.get("/?utm_source=x").await;
    tablet.login("merge@example.com", PASSWORD).await;
    let deep = scalar(&app, "SELECT COUNT(*) FROM identities m JOIN identities p ON p.id = m.merged_into_id WHERE p.merged_into_id IS NOT NULL", vec![]).await;
    assert_eq!(deep, 0, "no identity is merged into a merged identity");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM identities WHERE merged_into_id IS NOT NULL",
            vec![]
        )
        .await,
        2
    );
    // Later landings on the phone go to the account's identity.
    phone.get("/?utm_source=later").await;
    let later = rows(
        &app,
        "SELECT i.public_id FROM touchpoints t JOIN identities i ON i.id = t.identity_id WHERE t.utm_source = ?",
        vec!["later".into()],
    )
    .await;
    assert_eq!(later[0]["public_id"], canonical.as_str());
});

db_test!(another_users_identity_is_never_merged, |app| {
    let x = app.browser();
    x.get("/?utm_source=x-source").await;
    x.signup("x@example.com", PASSWORD, "X").await;
    let x_identity = x.cookie("tributary_id").unwrap();
    app.browser().signup("y@example.com", PASSWORD, "Y").await;
    // Y logs in on X's computer, where X's cookie is still set.
    let shared = app.browser();
    shared.set_cookie("tributary_id", &x_identity);
    let res = shared.login("y@example.com", PASSWORD).await;
    let y_identity = identity_cookie(&res).expect("Y's own identity");
    assert_ne!(y_identity, x_identity, "the cookie is replaced");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM identities WHERE merged_into_id IS NOT NULL",
            vec![]
        )
        .await,
        0
    );
    let x_touches = scalar(
        &app,
        "SELECT COUNT(*) FROM touchpoints t JOIN identities i ON i.id = t.identity_id JOIN users u ON u.id = i.user_id WHERE u.email = ?",
        vec!["x@example.com".into()],
    )
    .await;
    assert_eq!(x_touches, 1, "X keeps X's history");
});

db_test!(logout_drops_the_identity_cookie, |app| {
    let b = app.browser();
    b.get("/?utm_source=x").await;
    b.signup("bye@example.com", PASSWORD, "Bye").await;
    let res = b.logout().await;
    let cleared = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("tributary_id="))
        .expect("a clearing cookie");
    assert!(
        cleared.starts_with("tributary_id=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(b.cookie("tributary_id"), None);
    // The next person on this computer starts afresh.
    let next = identity_cookie(&b.get("/?utm_source=y").await).unwrap();
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM identities WHERE public_id = ? AND user_id IS NULL",
            vec![next.into()]
        )
        .await,
        1
    );
});

db_test!(a_logged_in_user_without_a_cookie_is_tracked_on_their_identity, |app| {
    let b = app.browser();
    b.signup("nocookie@example.com", PASSWORD, "N").await;
    let canonical = b.cookie("tributary_id").unwrap();
    // Cookie deleted (or another device that logged in before tracking existed).
    let fresh = app.browser();
    fresh.set_cookie("tributary_session", &b.cookie("tributary_session").unwrap());
    let res = fresh.get("/?utm_source=elsewhere").await;
    assert_eq!(identity_cookie(&res).as_deref(), Some(canonical.as_str()));
    assert_eq!(identity_count(&app).await, 1);
});

db_test!(
    twenty_concurrent_logins_leave_one_canonical_identity,
    // Attempts are counted before their password is checked: let twenty run at once
    // from one address.
    config = |c| c.accounts.login_max_failures_per_account = 50,
    |app| {
        // An account made without any identity (as `tributary create-admin` makes one).
        app::server::accounts::signup::create_admin(&app.state.db, &app.state.config, "race@example.com", PASSWORD)
            .await
            .unwrap();
        let mut browsers = Vec::new();
        for i in 0..20 {
            let b = app.browser();
            b.get(&format!("/?utm_source=device{i}")).await;
            browsers.push(b);
        }
        let mut tasks = Vec::new();
        for b in browsers {
            tasks.push(tokio::spawn(async move {
                b.login("race@example.com", PASSWORD).await.status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM identities WHERE user_id IS NOT NULL",
                vec![]
            )
            .await,
            1
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM identities WHERE merged_into_id IS NOT NULL",
                vec![]
            )
            .await,
            19
        );
        let canonical_touches = scalar(
            &app,
            "SELECT COUNT(*) FROM touchpoints t JOIN identities i ON i.id = t.identity_id WHERE i.user_id IS NOT NULL",
            vec![],
        )
        .await;
        assert_eq!(canonical_touches, 20);
    }
);

db_test!(admins_browse_touchpoints_and_identities_as_text, |app| {
    let admin = app.admin("ops@example.com").await;
    let v = app.browser();
    v.client
        .get(v.url("/?utm_source=evil&utm_campaign=%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
        .header("Referer", "javascript:alert(1)//")
        .send()
        .await
        .unwrap();
    let g = app.browser();
    g.client
        .get(g.url("/?utm_source=google&utm_medium=cpc"))
        .send()
        .await
        .unwrap();
    g.signup("g@example.com", PASSWORD, "G").await;
    let all = json(admin.get_json("/api/admin/touchpoints").await).await;
    assert_eq!(all["total"], 2);
    let filtered = json(admin.get_json("/api/admin/touchpoints?utm_source=google").await).await;
    assert_eq!(filtered["total"], 1);
    let identity_id = filtered["items"][0]["identity_id"].as_str().unwrap().to_string();
    let none = json(admin.get_json("/api/admin/touchpoints?utm_medium=email").await).await;
    assert_eq!(none["total"], 0);
    let res = admin.get_json("/api/admin/touchpoints?from=yesterday").await;
    assert_eq!(res.status(), 422);
    let page = admin.get("/admin/touchpoints").await.text().await.unwrap();
    assert!(!page.contains("href=\"javascript:"), "an http_referrer is never a link");
    assert!(!page.contains("<script>alert(1)"), "values are escaped");
    assert!(page.contains(&format!("/admin/identities/{identity_id}")));
    let detail = json(admin.get_json(&format!("/api/admin/identity?id={identity_id}")).await).await;
    assert_eq!(detail["user_email"], "g@example.com");
    assert_eq!(detail["touches"].as_array().unwrap().len(), 1);
    let html = admin
        .get(&format!("/admin/identities/{identity_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("g@example.com"));
    assert_eq!(admin.get_json("/api/admin/identity?id=999999").await.status(), 404);
    // Members and visitors are refused.
    let member = app.member("m@example.com").await;
    assert_eq!(member.get_json("/api/admin/touchpoints").await.status(), 403);
    assert_eq!(
        member
            .get_json(&format!("/api/admin/identity?id={identity_id}"))
            .await
            .status(),
        403
    );
    assert_eq!(member.get("/admin/touchpoints").await.status(), 403);
    let visitor = app.browser();
    assert_eq!(visitor.get_json("/api/admin/touchpoints").await.status(), 401);
    assert_eq!(visitor.get("/admin/touchpoints").await.status(), 303);
});

/// An ownerless link for writer tests; returns its id.
async fn plain_link(app: &TestApp, code: &str) -> i64 {
    let v = app::server::referrals::links::ValidLink {
        owner_id: None,
        label: "writer".into(),
        destination: "/".into(),
        code: Some(code.into()),
        target: None,
        expires_at: None,
        is_personal: false,
        auto_created: false,
    };
    app::server::referrals::links::create(&app.state.db.write, &app.state.config, &v)
        .await
        .unwrap()
        .0
        .id
}

fn writer_touch(source: &str, link: Option<(i64, &str)>, now: i64) -> app::server::writer::TouchRow {
    use app::server::tracking::capture::{TouchInput, touch_row};
    let params = app::server::tracking::params::TrackedParams {
        utm_source: Some(source.into()),
        ..Default::default()
    };
    touch_row(TouchInput {
        path: "/",
        params: &params,
        http_referrer: None,
        referrer_host: None,
        link,
        now,
    })
}

fn writer_response(public_id: &str, link_id: i64, now: i64) -> app::server::writer::ResponseRow {
    app::server::writer::ResponseRow {
        public_id: public_id.into(),
        link_id,
        user_id: None,
        action: "RESPONDED".into(),
        target_type: None,
        target_id: None,
        http_referrer: None,
        user_agent: Some("writer test".into()),
        client_ip: None,
        created_at: now,
    }
}

/// Each response's public id and identity, by public id.
async fn response_identities(app: &TestApp) -> Vec<serde_json::Value> {
    rows(
        app,
        "SELECT public_id, identity_id FROM responses ORDER BY public_id",
        vec![],
    )
    .await
}

db_test!(
    one_batch_writes_new_and_known_visitors_with_dedupe_and_opted_out_clicks,
    |app| {
        use app::server::writer::{IdentityRef, WriteJob, write_all};
        let now = app::server::time::now_ms();
        let link = plain_link(&app, "writer-batch").await;
        let (a, b) = ("a".repeat(32), "b".repeat(32));
        let new = |p: &str| IdentityRef::New {
            public_id: p.to_string(),
            user_id: None,
        };
        let first = WriteJob {
            identity: new(&a),
            touch: Some(writer_touch("news", None, now)),
            response: None,
            dedupe_ms: 60_000,
        };
        write_all(&app.state.db, &[&first]).await.unwrap();
        let a_id = scalar(
            &app,
            "SELECT id FROM identities WHERE public_id = ?",
            vec![a.clone().into()],
        )
        .await;

        let jobs = [
            // A new visitor's click: identity, touch and response in the same batch.
            WriteJob {
                identity: new(&b),
                touch: Some(writer_touch("news", Some((link, "writer-batch")), now)),
                response: Some(writer_response(&"1".repeat(32), link, now)),
                dedupe_ms: 60_000,
            },
            // A known visitor landing again with the same touch inside the window: no new touch.
            WriteJob {
                identity: IdentityRef::Existing(a_id),
                touch: Some(writer_touch("news", None, now + 1)),
                response: None,
                dedupe_ms: 60_000,
            },
            // The same visitor with another source, twice in the batch: one touch.
            WriteJob {
                identity: IdentityRef::Existing(a_id),
                touch: Some(writer_touch("partner", None, now + 2)),
                response: None,
                dedupe_ms: 60_000,
            },
            WriteJob {
                identity: IdentityRef::Existing(a_id),
                touch: Some(writer_touch("partner", None, now + 3)),
                response: None,
                dedupe_ms: 60_000,
            },
            // An opted-out click: a response without an identity, and no touch.
            WriteJob {
                identity: IdentityRef::None,
                touch: None,
                response: Some(writer_response(&"2".repeat(32), link, now)),
                dedupe_ms: 0,
            },
        ];
        let refs: Vec<&WriteJob> = jobs.iter().collect();
        write_all(&app.state.db, &refs).await.unwrap();

        assert_eq!(identity_count(&app).await, 2);
        let b_id = scalar(
            &app,
            "SELECT id FROM identities WHERE public_id = ?",
            vec![b.clone().into()],
        )
        .await;
        assert_eq!(
            rows(
                &app,
                "SELECT identity_id, utm_source, link_id FROM touchpoints ORDER BY id",
                vec![]
            )
            .await,
            vec![
                serde_json::json!({"identity_id": a_id, "utm_source": "news", "link_id": null}),
                serde_json::json!({"identity_id": b_id, "utm_source": "news", "link_id": link}),
                serde_json::json!({"identity_id": a_id, "utm_source": "partner", "link_id": null}),
            ]
        );
        assert_eq!(
            response_identities(&app).await,
            vec![
                serde_json::json!({"public_id": "1".repeat(32), "identity_id": b_id}),
                serde_json::json!({"public_id": "2".repeat(32), "identity_id": null}),
            ]
        );
    }
);

db_test!(
    batches_of_known_visitors_only_or_of_responses_only_are_written_and_counted,
    |app| {
        use app::server::writer::{IdentityRef, WriteJob};
        let now = app::server::time::now_ms();
        let link = plain_link(&app, "writer-parts").await;
        let w = &app.state.writer;
        let (batches, jobs) = w.committed();
        w.submit(WriteJob {
            identity: IdentityRef::New {
                public_id: "e".repeat(32),
                user_id: None,
            },
            touch: Some(writer_touch("news", None, now)),
            response: None,
            dedupe_ms: 60_000,
        })
        .await
        .unwrap();
        let e_id = scalar(
            &app,
            "SELECT id FROM identities WHERE public_id = ?",
            vec!["e".repeat(32).into()],
        )
        .await;
        // A known visitor's touches alone (no new identity in the batch): the same touch
        // inside the window is skipped, another one is written.
        let again = |source: &str, at: i64| WriteJob {
            identity: IdentityRef::Existing(e_id),
            touch: Some(writer_touch(source, None, at)),
            response: None,
            dedupe_ms: 60_000,
        };
        w.submit(again("news", now + 1)).await.unwrap();
        w.submit(again("partner", now + 2)).await.unwrap();
        // A response alone: an opted-out click, then a known visitor's.
        for (identity, public) in [(IdentityRef::None, "5"), (IdentityRef::Existing(e_id), "6")] {
            w.submit(WriteJob {
                identity,
                touch: None,
                response: Some(writer_response(&public.repeat(32), link, now)),
                dedupe_ms: 0,
            })
            .await
            .unwrap();
        }
        assert_eq!(
            rows(
                &app,
                "SELECT identity_id, utm_source FROM touchpoints ORDER BY id",
                vec![]
            )
            .await,
            vec![
                serde_json::json!({"identity_id": e_id, "utm_source": "news"}),
                serde_json::json!({"identity_id": e_id, "utm_source": "partner"}),
            ]
        );
        assert_eq!(
            response_identities(&app).await,
            vec![
                serde_json::json!({"public_id": "5".repeat(32), "identity_id": null}),
                serde_json::json!({"public_id": "6".repeat(32), "identity_id": e_id}),
            ]
        );
        // Five jobs, each waited for before the next: five committed batches.
        let (b2, j2) = w.committed();
        assert_eq!((b2 - batches, j2 - jobs), (5, 5));
    }
);

db_test!(a_failing_job_fails_alone_and_the_writer_goes_on, |app| {
    use app::server::writer::{IdentityRef, WriteJob};
    let now = app::server::time::now_ms();
    let link = plain_link(&app, "writer-fail").await;
    let job = |public: &str, link_id: i64, response: &str| WriteJob {
        identity: IdentityRef::New {
            public_id: public.to_string(),
            user_id: None,
        },
        touch: Some(writer_touch("news", None, now)),
        response: Some(writer_response(response, link_id, now)),
        dedupe_ms: 0,
    };
    // The second names a link that does not exist: its whole job is refused (no
    // identity, no touch), whether or not it shared a batch with the first.
    let w = &app.state.writer;
    let (good, bad) = tokio::join!(
        w.submit(job(&"c".repeat(32), link, &"3".repeat(32))),
        w.submit(job(&"d".repeat(32), link + 1000, &"4".repeat(32)))
    );
    assert!(good.is_ok(), "{good:?}");
    assert!(bad.is_err());
    assert_eq!(identity_count(&app).await, 1);
    assert_eq!(touch_count(&app).await, 1);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM responses", vec![]).await, 1);
    // The connection is usable afterwards (SQLite: the failed script was rolled back).
    w.submit(job(&"e".repeat(32), link, &"5".repeat(32))).await.unwrap();
    assert_eq!(identity_count(&app).await, 2);
});

/// Commits on the hot paths never checkpoint; the background checkpointer copies the
/// WAL into the database file soon after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let db = app::server::db::Database::connect(&format!("sqlite://{}", path.display()), 2)
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    db.write
        .execute_unprepared("CREATE TABLE t (x INTEGER); INSERT INTO t (x) VALUES (1), (2), (3)")
        .await
        .unwrap();
    // Only the database file, without its WAL, shows what was checkpointed.
    let copy = dir.path().join("copy.db");
    let mut seen = 0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::fs::copy(&path, &copy).unwrap();
        let c = sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display()))
            .await
            .unwrap();
        seen = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t")
            .fetch_one(&c)
            .await
            .unwrap_or(0);
        c.close().await;
        let _ = std::fs::remove_file(&copy);
        if seen == 3 {
            break;
        }
    }
    assert_eq!(seen, 3, "the rows reached the database file");
    db.close().await;
}
