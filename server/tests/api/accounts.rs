//! Sign-up, log-in, sessions, roles, rate limits, CSRF and health.

use crate::db_test;
use crate::helpers::*;

db_test!(signup_creates_a_member_and_logs_them_in, |app| {
    let b = app.browser();
    let res = b.signup("Ada@Example.com", PASSWORD, "Ada Lovelace").await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("tributary_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain http in tests: {session}");
    let body = json(res).await;
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["display_name"], "Ada Lovelace");
    assert_eq!(body["user"]["role"], "member");
    assert!(body["user"]["id"].is_string(), "ids are strings: {body}");
    assert_eq!(b.whoami().await.as_deref(), Some("ada@example.com"));
});

db_test!(signup_reports_each_invalid_field, |app| {
    let b = app.browser();
    let cases: &[(&str, &str, &str, &str)] = &[
        ("not-an-email", PASSWORD, "Ada", "email"),
        ("", PASSWORD, "Ada", "email"),
        ("ada@example.com", "short", "Ada", "password"),
        ("ada@example.com", "password", "Ada", "password"),
        ("ada@example.com", "12345678", "Ada", "password"),
        ("ada@example.com", PASSWORD, "   ", "display_name"),
    ];
    for (email, password, name, field) in cases {
        let res = b.signup(email, password, name).await;
        assert_eq!(res.status(), 422, "{email}/{password}/{name}");
        let body = json(res).await;
        assert_eq!(body["error"]["code"], "validation");
        assert_eq!(body["error"]["field"], *field, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // Several bad fields at once: each gets its own message.
    let body = json(b.signup("nope", "x", "").await).await;
    let fields = &body["error"]["fields"];
    assert!(
        fields["email"].is_string() && fields["password"].is_string() && fields["display_name"].is_string(),
        "{body}"
    );
    // A missing field is a validation error, not a 500.
    let res = b.post_form("/api/signup", &[("email", "ada@example.com")]).await;
    assert_eq!(res.status(), 422);
    assert_eq!(json(res).await["error"]["code"], "validation");
    assert_eq!(b.whoami().await, None);
});

db_test!(signup_refuses_a_taken_email_in_another_case, |app| {
    let first = app.browser();
    assert_eq!(first.signup("grace@example.com", PASSWORD, "Grace").await.status(), 200);
    let second = app.browser();
    let res = second.signup("  GRACE@Example.COM ", PASSWORD, "Other Grace").await;
    assert_eq!(res.status(), 409);
    let body = json(res).await;
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["field"], "email");
    assert!(body["error"]["message"].as_str().unwrap().contains("already"));
});

db_test!(
    a_form_posted_without_javascript_shows_its_errors_after_the_redirect,
    |app| {
        let b = app.browser();
        let res = b
            .post_html_form(
                "/api/signup",
                "/signup",
                &[
                    ("email", "kept@example.com"),
                    ("password", "short"),
                    ("display_name", "Kept Name"),
                ],
            )
            .await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/signup");
        let page = b.get("/signup").await.text().await.unwrap();
        assert!(
            page.contains("Use at least 8 characters."),
            "the password's error is shown"
        );
        assert!(page.contains("value=\"kept@example.com\""), "the email is kept");
        assert!(page.contains("value=\"Kept Name\""), "the display name is kept");
        assert!(!page.contains("value=\"short\""), "the password is not kept");
        // One-time: the next view is clean.
        let again = b.get("/signup").await.text().await.unwrap();
        assert!(!again.contains("Use at least 8 characters."));
        // And success redirects to the account page.
        let res = b
            .post_html_form(
                "/api/signup",
                "/signup",
                &[
                    ("email", "kept@example.com"),
                    ("password", PASSWORD),
                    ("display_name", "Kept"),
                ],
            )
            .await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/account");
        assert_eq!(b.whoami().await.as_deref(), Some("kept@example.com"));
    }
);

db_test!(login_accepts_the_right_password_and_refuses_a_wrong_one, |app| {
    let setup = app.browser();
    setup.signup("lin@example.com", PASSWORD, "Lin").await;
    let b = app.browser();
    let res = b.login("lin@example.com", "wrong password here").await;
    assert_eq!(res.status(), 401);
    let wrong = json(res).await;
    assert_eq!(wrong["error"]["code"], "unauthorized");
    assert_eq!(b.whoami().await, None);
    // An unknown email gets the very same answer.
    let unknown = json(b.login("nobody@example.com", "wrong password here").await).await;
    assert_eq!(unknown, wrong);
    let res = b.login("LIN@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["user"]["email"], "lin@example.com");
    assert_eq!(b.whoami().await.as_deref(), Some("lin@example.com"));
});

db_test!(logout_ends_the_session, |app| {
    let b = app.member("out@example.com").await;
    let old_cookie = b.cookie("tributary_session").expect("session cookie");
    let res = b.logout().await;
    assert_eq!(res.status(), 200);
    assert_eq!(b.whoami().await, None);
    // The old session id is dead on the server, not just forgotten by this browser.
    let thief = app.browser();
    thief.set_cookie("tributary_session", &old_cookie);
    assert_eq!(thief.whoami().await, None);
});

db_test!(login_renews_the_session_id, |app| {
    app.browser().signup("fix@example.com", PASSWORD, "Fix").await;
    // Visitors get no session; an attacker plants the id of a session of their own.
    let attacker_session = app.browser();
    attacker_session
        .signup("planter@example.com", PASSWORD, "Planter")
        .await;
    let before = attacker_session
        .cookie("tributary_session")
        .expect("the attacker's session");
    let b = app.browser();
    b.set_cookie("tributary_session", &before);
    assert_eq!(b.login("fix@example.com", PASSWORD).await.status(), 200);
    let after = b.cookie("tributary_session").expect("a session after login");
    assert_ne!(before, after, "the session id changes at login");
    // Whoever planted the old id does not ride along.
    let attacker = app.browser();
    attacker.set_cookie("tributary_session", &before);
    assert_eq!(attacker.whoami().await, None);
    assert_eq!(b.whoami().await.as_deref(), Some("fix@example.com"));
});

db_test!(members_are_refused_everywhere_in_admin, |app| {
    let member = app.member("member@example.com").await;
    let target = app.member("target@example.com").await;
    let target_id = json(target.get_json("/api/me").await).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for page in ["/admin", "/admin/users", "/admin/users?page=2"] {
        let res = member.get(page).await;
        assert_eq!(res.status(), 403, "{page}");
        assert!(res.text().await.unwrap().contains("Not allowed"));
    }
    let res = member.get_json("/api/admin/users").await;
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "forbidden");
    for (path, form) in [
        (
            "/api/admin/users/role",
            vec![("user_id", target_id.as_str()), ("role", "admin")],
        ),
        (
            "/api/admin/users/active",
            vec![("user_id", target_id.as_str()), ("active", "false")],
        ),
    ] {
        let res = member.post_form(path, &form).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    // Nothing changed.
    assert_eq!(target.whoami().await.as_deref(), Some("target@example.com"));
    let me = json(member.get_json("/api/me").await).await;
    assert_eq!(me["role"], "member");
});

db_test!(
    visitors_are_sent_to_log_in_from_admin_and_refused_by_its_functions,
    |app| {
        let visitor = app.browser();
        for page in ["/admin", "/admin/users?q=x"] {
            let res = visitor.get(page).await;
            assert_eq!(res.status(), 303, "{page}");
            let location = res.headers()["location"].to_str().unwrap().to_string();
            assert_eq!(location, format!("/login?next={}", app::util::urlencode(page)));
        }
        assert_eq!(visitor.get("/account").await.status(), 303);
        let res = visitor.get_json("/api/admin/users").await;
        assert_eq!(res.status(), 401);
        let res = visitor
            .post_form("/api/admin/users/role", &[("user_id", "1"), ("role", "admin")])
            .await;
        assert_eq!(res.status(), 401);
        let res = visitor
            .post_form("/api/admin/users/active", &[("user_id", "1"), ("active", "false")])
            .await;
        assert_eq!(res.status(), 401);
    }
);

db_test!(admins_list_search_promote_and_deactivate_users, |app| {
    let admin = app.admin("boss@example.com").await;
    for i in 0..30 {
        let b = app.browser();
        b.signup(&format!("user{i:02}@example.com"), PASSWORD, &format!("User {i}"))
            .await;
    }
    let page1 = json(admin.get_json("/api/admin/users").await).await;
    assert_eq!(page1["total"], 31);
    assert_eq!(page1["items"].as_array().unwrap().len(), 25);
    let page2 = json(admin.get_json("/api/admin/users?page=2").await).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 6);
    let found = json(admin.get_json("/api/admin/users?q=USER0").await).await;
    assert_eq!(found["total"], 10);
    let html = admin.get("/admin/users?q=user07").await;
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("user07@example.com"));

    let victim = app.browser();
    assert_eq!(victim.login("user07@example.com", PASSWORD).await.status(), 200);
    let id = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "user07@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = admin
        .post_form("/api/admin/users/role", &[("user_id", &id), ("role", "admin")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(victim.get_json("/api/me").await).await["role"], "admin");
    let res = admin
        .post_form("/api/admin/users/active", &[("user_id", &id), ("active", "false")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(victim.whoami().await, None, "deactivation ends the user's sessions");
    // Bad input is a validation error.
    let res = admin
        .post_form("/api/admin/users/role", &[("user_id", &id), ("role", "emperor")])
        .await;
    assert_eq!(res.status(), 422);
    let res = admin
        .post_form("/api/admin/users/active", &[("user_id", "abc"), ("active", "false")])
        .await;
    assert_eq!(res.status(), 422);
    let res = admin
        .post_form("/api/admin/users/active", &[("user_id", "999999"), ("active", "false")])
        .await;
    assert_eq!(res.status(), 404);
});

db_test!(a_deactivated_user_cannot_log_in, |app| {
    let admin = app.admin("root@example.com").await;
    app.member("gone@example.com").await;
    let users = json(admin.get_json("/api/admin/users?q=gone").await).await;
    let id = users["items"][0]["id"].as_str().unwrap().to_string();
    admin
        .post_form("/api/admin/users/active", &[("user_id", &id), ("active", "false")])
        .await;
    let b = app.browser();
    let res = b.login("gone@example.com", PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(
        json(res).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deactivated")
    );
    assert_eq!(b.whoami().await, None);
});

db_test!(
    login_failures_are_rate_limited_per_account_and_per_address,
    config = |c| {
        c.accounts.login_max_failures_per_account = 3;
        c.accounts.login_max_failures_per_ip = 5;
    },
    |app| {
        app.browser().signup("rl@example.com", PASSWORD, "RL").await;
        let b = app.browser();
        for _ in 0..3 {
            assert_eq!(b.login("rl@example.com", "wrong wrong wrong").await.status(), 401);
        }
        let res = b.login("rl@example.com", PASSWORD).await;
        assert_eq!(
            res.status(),
            429,
            "even the right password waits once the account is limited"
        );
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0);
        let body = json(res).await;
        assert_eq!(body["error"]["code"], "rate_limited");
        assert!(body["error"]["message"].as_str().unwrap().contains("Try again in"));
        // Per address: failures on other accounts from the same client add up.
        let other = app.browser();
        assert_eq!(other.login("a@example.com", "x").await.status(), 401);
        assert_eq!(other.login("b@example.com", "x").await.status(), 401);
        assert_eq!(
            other.login("c@example.com", "x").await.status(),
            429,
            "5 failures from this address"
        );
    }
);

db_test!(changing_the_password_ends_the_other_sessions, |app| {
    let here = app.member("pw@example.com").await;
    let elsewhere = app.browser();
    assert_eq!(elsewhere.login("pw@example.com", PASSWORD).await.status(), 200);
    let res = here
        .post_form(
            "/api/password",
            &[
                ("current_password", "wrong one"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(json(res).await["error"]["field"], "current_password");
    let res = here
        .post_form(
            "/api/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(json(res).await["error"]["field"], "new_password");
    let res = here
        .post_form(
            "/api/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        here.whoami().await.as_deref(),
        Some("pw@example.com"),
        "this session stays"
    );
    assert_eq!(elsewhere.whoami().await, None, "the other session ended");
    let fresh = app.browser();
    assert_eq!(fresh.login("pw@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        fresh.login("pw@example.com", "a brand new passphrase").await.status(),
        200
    );
});

db_test!(an_anonymous_page_view_writes_no_session, |app| {
    let b = app.browser();
    for path in ["/", "/login", "/signup", "/nowhere"] {
        let res = b.get(path).await;
        assert!(set_cookies(&res).is_empty(), "{path} set a cookie");
    }
    assert_eq!(session_rows(&app).await, 0);
    // A logged-in page view reads the session but does not write it back.
    let m = app.member("quiet@example.com").await;
    let rows = session_rows(&app).await;
    let res = m.get("/account").await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty(), "an unchanged session is not written");
    assert_eq!(session_rows(&app).await, rows);
});

db_test!(expired_sessions_are_deleted, |app| {
    use tower_sessions::session_store::ExpiredDeletion;
    app.member("exp@example.com").await;
    assert_eq!(session_rows(&app).await, 1);
    let store = server::session_store::Store::new(&app.state.db).await.unwrap();
    store.delete_expired().await.unwrap();
    assert_eq!(session_rows(&app).await, 1, "a live session stays");
    expire_all_sessions(&app).await;
    store.delete_expired().await.unwrap();
    assert_eq!(session_rows(&app).await, 0, "an expired session is deleted");
});

db_test!(another_sites_origin_is_refused_and_the_same_sites_accepted, |app| {
    app.browser().signup("csrf@example.com", PASSWORD, "C").await;
    let b = app.browser();
    let form = [("email", "csrf@example.com"), ("password", PASSWORD)];
    for (header, value) in [
        ("Origin", "https://evil.example"),
        ("Origin", "null"),
        ("Referer", "https://evil.example/page"),
    ] {
        let res = b
            .client
            .post(b.url("/api/login"))
            .header("Accept", "application/json")
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{header}: {value}");
        assert_eq!(json(res).await["error"]["code"], "forbidden");
    }
    assert_eq!(b.whoami().await, None);
    let res = b
        .client
        .post(b.url("/api/login"))
        .header("Accept", "application/json")
        .header("Origin", app.base.clone())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(b.whoami().await.as_deref(), Some("csrf@example.com"));
});

db_test!(two_instances_on_one_database_share_sessions, |app| {
    let (other_base, _other_state) = app.another_instance(|_| {}).await;
    let b = app.member("both@example.com").await;
    let cookie = b.cookie("tributary_session").unwrap();
    let on_other = Browser::new(&other_base, BROWSER_UA);
    on_other.set_cookie("tributary_session", &cookie);
    assert_eq!(on_other.whoami().await.as_deref(), Some("both@example.com"));
    // Logging out on the other instance ends it on the first too.
    on_other.logout().await;
    assert_eq!(b.whoami().await, None);
});

db_test!(health_answers_200_and_503_on_a_dead_database, |app| {
    let b = app.browser();
    let res = b.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await, serde_json::json!({"status": "ok"}));
    app.state.db.close().await;
    let res = b.get("/healthz").await;
    assert_eq!(res.status(), 503);
});

db_test!(unknown_pages_get_a_friendly_404, |app| {
    let res = app.browser().get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
});

async fn session_rows(app: &TestApp) -> i64 {
    use app::server::db::Pools;
    match &app.state.db.pools {
        Pools::Sqlite { read, .. } => sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions")
            .fetch_one(read)
            .await
            .unwrap(),
        Pools::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions.session")
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

async fn expire_all_sessions(app: &TestApp) {
    use app::server::db::Pools;
    use tower_sessions::cookie::time::{Duration, OffsetDateTime};
    let past = OffsetDateTime::now_utc() - Duration::days(1);
    match &app.state.db.pools {
        Pools::Sqlite { write, .. } => {
            sqlx::query("UPDATE tower_sessions SET expiry_date = ?")
                .bind(past)
                .execute(write)
                .await
                .unwrap();
        }
        Pools::Postgres(p) => {
            sqlx::query("UPDATE tower_sessions.session SET expiry_date = $1")
                .bind(past)
                .execute(p)
                .await
                .unwrap();
        }
    }
}
