//! Referral links: personal links, clicks and redirects, responses, "My links".

use crate::db_test;
use crate::helpers::*;
use sea_orm::ConnectionTrait;

async fn personal_code(b: &Browser) -> String {
    let mine = json(b.get_json("/api/links/mine").await).await;
    mine["links"][0]["code"].as_str().expect("a personal link").to_string()
}

async fn responded(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'", vec![]).await
}

db_test!(signup_gives_every_user_a_personal_link, |app| {
    let b = app.member("first@example.com").await;
    let mine = json(b.get_json("/api/links/mine").await).await;
    let links = mine["links"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    let l = &links[0];
    assert_eq!(l["label"], "Personal");
    assert_eq!(l["destination"], "/");
    assert_eq!(l["active"], true);
    let code = l["code"].as_str().unwrap();
    assert!((8..=10).contains(&code.len()), "{code}");
    assert_eq!(l["url"], format!("http://127.0.0.1:3000/r/{code}"));
    for k in ["clicks", "unique_visitors", "signups", "conversions"] {
        assert_eq!(l[k], 0, "{k}");
    }
    assert_eq!(l["responses"], serde_json::json!({}));
    assert_eq!(l["value"], serde_json::json!({}));
    assert_eq!(app.browser().get_json("/api/links/mine").await.status(), 401);
});

db_test!(a_click_is_recorded_and_redirected, |app| {
    let owner = app.member("owner@example.com").await;
    let code = personal_code(&owner).await;
    let v = app.browser();
    let res = v
        .client
        .get(v.url(&format!("/r/{code}?utm_source=blog")))
        .header("Referer", "https://blog.example/post")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "/",
        "internal destinations get no parameters"
    );
    let cookie = identity_cookie(&res).expect("the visitor gets an identity");
    let r = rows(
        &app,
        "SELECT r.*, i.public_id FROM responses r JOIN identities i ON i.id = r.identity_id",
        vec![],
    )
    .await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["action"], "RESPONDED");
    assert_eq!(r[0]["public_id"], cookie.as_str());
    assert_eq!(r[0]["http_referrer"], "https://blog.example/post");
    assert_eq!(r[0]["client_ip"], "127.0.0.0", "addresses are stored truncated");
    assert!(r[0]["user_agent"].as_str().unwrap().contains("Chrome"));
    let t = rows(
        &app,
        "SELECT t.*, l.code FROM touchpoints t JOIN links l ON l.id = t.link_id",
        vec![],
    )
    .await;
    assert_eq!(t.len(), 1, "one touch, carrying the link and the parameters");
    assert_eq!(t[0]["code"], code.as_str());
    assert_eq!(t[0]["utm_source"], "blog");
    assert_eq!(t[0]["medium"], "referral");
    assert_eq!(t[0]["channel"], "referral");
    // With a trailing slash, and with the code in another case.
    let res = app.browser().get(&format!("/r/{}/", code.to_uppercase())).await;
    assert_eq!(res.status(), 302);
    assert_eq!(responded(&app).await, 2);
    let mine = json(owner.get_json("/api/links/mine").await).await;
    assert_eq!(mine["links"][0]["clicks"], 2);
    assert_eq!(mine["links"][0]["unique_visitors"], 2);
    assert_eq!(mine["links"][0]["responses"]["RESPONDED"], 2);
});

db_test!(unknown_inactive_and_expired_codes_are_a_friendly_404, |app| {
    let owner = app.member("o@example.com").await;
    let res = owner
        .post_form(
            "/api/links/create",
            &[
                ("label", "Soon gone"),
                ("destination", "/pricing"),
                ("code", "soon-gone"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = owner
        .post_form(
            "/api/links/create",
            &[
                ("label", "Old"),
                ("destination", "/"),
                ("code", "old-one"),
                ("expires_at", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    // Expire it (it has never been clicked, so no instance has it cached).
    app.state
        .db
        .write
        .execute_unprepared("UPDATE links SET expires_at = 1 WHERE code = 'old-one'")
        .await
        .unwrap();
    assert_eq!(
        owner
            .post_form("/api/links/deactivate", &[("code", "soon-gone")])
            .await
            .status(),
        200
    );
    let v = app.browser();
    for path in ["/r/nope-nope", "/r/soon-gone", "/r/old-one", "/r/%F0%9F%92%A9", "/r/x"] {
        let res = v.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(identity_cookie(&res).is_none(), "{path}");
        assert!(res.text().await.unwrap().contains("Link not found"));
    }
    assert_eq!(responded(&app).await, 0);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM identities", vec![]).await,
        1,
        "only the owner's"
    );
});

db_test!(creating_the_same_link_twice_returns_the_first, |app| {
    let b = app.member("idem@example.com").await;
    let form = [
        ("label", "Newsletter"),
        ("destination", "/pricing"),
        ("target_type", "product"),
        ("target_id", "8f14e45f"),
    ];
    let first = json(b.post_form("/api/links/create", &form).await).await;
    let second = json(b.post_form("/api/links/create", &form).await).await;
    assert_eq!(first["link"]["code"], second["link"]["code"]);
    assert_eq!(first["link"]["target_type"], "product");
    let mine = json(b.get_json("/api/links/mine").await).await;
    assert_eq!(mine["links"].as_array().unwrap().len(), 2, "personal + one");
    // Another target is another link.
    let third = json(
        b.post_form(
            "/api/links/create",
            &[("label", "Newsletter"), ("destination", "/pricing")],
        )
        .await,
    )
    .await;
    assert_ne!(third["link"]["code"], first["link"]["code"]);
    // Asking for a different code for the same link says so.
    let res = b
        .post_form(
            "/api/links/create",
            &[
                ("label", "Newsletter"),
                ("destination", "/pricing"),
                ("code", "another-code"),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
});

db_test!(a_taken_custom_code_is_refused_in_any_case, |app| {
    let a = app.member("a@example.com").await;
    let b = app.member("b@example.com").await;
    assert_eq!(
        a.post_form(
            "/api/links/create",
            &[("label", "Mine"), ("destination", "/"), ("code", "Summer-Sale")]
        )
        .await
        .status(),
        200
    );
    let res = b
        .post_form(
            "/api/links/create",
            &[("label", "Mine too"), ("destination", "/"), ("code", "summer-sale")],
        )
        .await;
    assert_eq!(res.status(), 409);
    let body = json(res).await;
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["field"], "code");
    for bad in ["ab", "has space", "semi;colon", &"x".repeat(65)] {
        let res = b
            .post_form(
                "/api/links/create",
                &[("label", "Bad"), ("destination", "/"), ("code", bad)],
            )
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        assert_eq!(json(res).await["error"]["field"], "code");
    }
});

db_test!(
    destinations_off_the_allow_list_are_refused,
    config = |c| c.referrals.allowed_hosts = vec!["shop.example.com".into()],
    |app| {
        let b = app.member("dest@example.com").await;
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://shop.example.com.evil.example/",
            "ftp://shop.example.com",
            "",
        ] {
            let res = b
                .post_form("/api/links/create", &[("label", "Bad"), ("destination", bad)])
                .await;
            assert_eq!(res.status(), 422, "{bad}");
            assert_eq!(json(res).await["error"]["field"], "destination", "{bad}");
        }
        let res = b
            .post_form(
                "/api/links/create",
                &[("label", "Shop"), ("destination", "https://shop.example.com/cart")],
            )
            .await;
        assert_eq!(res.status(), 200);
        // Updates are checked the same way.
        let code = json(res).await["link"]["code"].as_str().unwrap().to_string();
        let res = b
            .post_form(
                "/api/links/update",
                &[
                    ("code", &code),
                    ("label", "Shop"),
                    ("destination", "https://evil.example/"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let res = b
            .post_form(
                "/api/links/create",
                &[("label", "Past"), ("destination", "/"), ("expires_at", "2001-01-01")],
            )
            .await;
        assert_eq!(json(res).await["error"]["field"], "expires_at");
    }
);

db_test!(
    an_external_destination_gets_the_click_id_and_the_utm_parameters,
    config = |c| c.referrals.allowed_hosts = vec!["shop.example.com".into()],
    |app| {
        let owner = app.member("shop@example.com").await;
        let link = json(
            owner
                .post_form(
                    "/api/links/create",
                    &[("label", "Shop"), ("destination", "https://shop.example.com/p?item=3")],
                )
                .await,
        )
        .await;
        let code = link["link"]["code"].as_str().unwrap().to_string();
        let v = app.browser();
        let res = v
            .get(&format!("/r/{code}?utm_source=news&utm_campaign=nov&secret=x"))
            .await;
        assert_eq!(res.status(), 302);
        let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(location.host_str(), Some("shop.example.com"));
        let q: std::collections::HashMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(q["item"], "3");
        assert_eq!(q["utm_source"], "news");
        assert_eq!(q["utm_campaign"], "nov");
        assert!(!q.contains_key("secret"), "untracked parameters stay behind");
        let click = &q["tb_click"];
        assert_eq!(click.len(), 32);
        let stored = rows(&app, "SELECT public_id, id FROM responses", vec![]).await;
        assert_eq!(
            stored[0]["public_id"],
            click.as_str(),
            "tb_click is the response's public id"
        );
        assert_ne!(stored[0]["id"].to_string(), *click, "not the row id");
    }
);

db_test!(redirect_to_only_overrides_with_a_path_on_this_site, |app| {
    let owner = app.member("rt@example.com").await;
    let code = personal_code(&owner).await;
    let hostile = [
        "https://evil.example",
        "http://evil.example/path",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "",
        "   ",
        "evil.example",
        "https:evil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "%2F%2Fevil.example",
        "/ /evil.example",
        "ftp://evil.example",
    ];
    for (i, value) in hostile.iter().enumerate() {
        let v = app.browser();
        let url = format!("/r/{code}?redirect_to={}", app::util::urlencode(value));
        let res = v.get(&url).await;
        assert_eq!(res.status(), 302, "{value}");
        assert_eq!(
            res.headers()["location"],
            "/",
            "{value} must fall back to the stored destination"
        );
        assert_eq!(responded(&app).await, i as i64 + 1, "the click still counts ({value})");
    }
    let res = app
        .browser()
        .get(&format!("/r/{code}?redirect_to=%2Fspecial%2F%3Fa%3D1"))
        .await;
    assert_eq!(res.headers()["location"], "/special/?a=1");
});

db_test!(bots_and_head_requests_are_redirected_without_being_counted, |app| {
    let owner = app.member("bots@example.com").await;
    let code = personal_code(&owner).await;
    for ua in [
        "Mozilla/5.0 (compatible; Googlebot/2.1)",
        "facebookexternalhit/1.1",
        "curl/8.0",
        "Slackbot-LinkExpanding 1.0",
    ] {
        let bot = app.browser_with_ua(ua);
        let res = bot.get(&format!("/r/{code}")).await;
        assert_eq!(res.status(), 302, "{ua}");
        assert!(identity_cookie(&res).is_none());
    }
    let b = app.browser();
    let res = b.client.head(b.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(responded(&app).await, 0);
});

db_test!(the_owners_own_clicks_are_not_counted, |app| {
    let owner = app.member("self@example.com").await;
    let code = personal_code(&owner).await;
    assert_eq!(owner.get(&format!("/r/{code}")).await.status(), 302);
    // Logged out, but on a browser that carries the owner's identity.
    let identity = owner.cookie("tributary_id").unwrap();
    let same_device = app.browser();
    same_device.set_cookie("tributary_id", &identity);
    assert_eq!(same_device.get(&format!("/r/{code}")).await.status(), 302);
    assert_eq!(same_device.get(&format!("/?ref={code}")).await.status(), 200);
    assert_eq!(responded(&app).await, 0);
});

db_test!(a_gpc_click_counts_without_an_identity_or_cookie, |app| {
    let owner = app.member("gpc@example.com").await;
    let code = personal_code(&owner).await;
    let v = app.browser();
    let res = v
        .client
        .get(v.url(&format!("/r/{code}")))
        .header("Sec-GPC", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(identity_cookie(&res).is_none());
    let r = rows(&app, "SELECT identity_id FROM responses", vec![]).await;
    assert_eq!(r.len(), 1);
    assert!(r[0]["identity_id"].is_null());
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM touchpoints WHERE link_id IS NOT NULL",
            vec![]
        )
        .await,
        0
    );
    let mine = json(owner.get_json("/api/links/mine").await).await;
    assert_eq!(mine["links"][0]["clicks"], 1);
    assert_eq!(mine["links"][0]["unique_visitors"], 1);
});

db_test!(a_ref_parameter_is_a_click_without_the_redirect, |app| {
    let owner = app.member("ref@example.com").await;
    let code = personal_code(&owner).await;
    let v = app.browser();
    let res = v
        .get(&format!(
            "/pricing?ref={}&utm_source=blog&utm_medium=post",
            code.to_uppercase()
        ))
        .await;
    assert_ne!(res.status(), 302);
    assert!(identity_cookie(&res).is_some());
    assert_eq!(responded(&app).await, 1);
    let t = rows(&app, "SELECT link_id, utm_source, path FROM touchpoints", vec![]).await;
    assert_eq!(t.len(), 1, "one touch");
    assert!(!t[0]["link_id"].is_null());
    assert_eq!(t[0]["utm_source"], "blog");
    assert!(t[0]["path"].as_str().unwrap().starts_with("/pricing?ref="));
    // An inactive code records nothing for the link; the UTM landing is still captured.
    owner
        .post_form(
            "/api/links/create",
            &[("label", "Off"), ("destination", "/"), ("code", "off-code")],
        )
        .await;
    owner.post_form("/api/links/deactivate", &[("code", "off-code")]).await;
    let w = app.browser();
    let res = w.get("/?ref=off-code&utm_source=other").await;
    assert!(identity_cookie(&res).is_some());
    assert_eq!(responded(&app).await, 1);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM touchpoints WHERE utm_source = 'other' AND link_id IS NULL",
            vec![]
        )
        .await,
        1
    );
});

db_test!(
    anonymous_clicks_join_the_account_at_signup_and_credit_the_referrer,
    |app| {
        let referrer = app.member("alice@example.com").await;
        let code = personal_code(&referrer).await;
        let v = app.browser();
        v.get(&format!("/r/{code}")).await;
        v.get("/pricing").await;
        let res = v.signup("bob@example.com", PASSWORD, "Bob").await;
        assert_eq!(res.status(), 200);
        // In that same request: referred_by, and a SIGNED_UP response on the link.
        let u = rows(
            &app,
            "SELECT l.code FROM users u JOIN links l ON l.id = u.referred_by_link_id WHERE u.email = ?",
            vec!["bob@example.com".into()],
        )
        .await;
        assert_eq!(u[0]["code"], code.as_str());
        let mine = json(referrer.get_json("/api/links/mine").await).await;
        assert_eq!(mine["links"][0]["clicks"], 1);
        assert_eq!(mine["links"][0]["signups"], 1);
        assert_eq!(mine["links"][0]["responses"]["SIGNED_UP"], 1);
        let signed = rows(
            &app,
            "SELECT r.user_id, u.email FROM responses r JOIN users u ON u.id = r.user_id WHERE r.action = 'SIGNED_UP'",
            vec![],
        )
        .await;
        assert_eq!(signed[0]["email"], "bob@example.com");
        // Bob's click now belongs to Bob's identity.
        let clicks_of_bob = scalar(
        &app,
        "SELECT COUNT(*) FROM responses r JOIN identities i ON i.id = r.identity_id JOIN users u ON u.id = i.user_id WHERE u.email = ? AND r.action = 'RESPONDED'",
        vec!["bob@example.com".into()],
    )
    .await;
        assert_eq!(clicks_of_bob, 1);
        // The last click wins.
        let carol_link = app.member("carol@example.com").await;
        let carol_code = personal_code(&carol_link).await;
        let w = app.browser();
        w.get(&format!("/r/{code}")).await;
        w.get(&format!("/?ref={carol_code}")).await;
        w.signup("dave@example.com", PASSWORD, "Dave").await;
        let u = rows(
            &app,
            "SELECT l.code FROM users u JOIN links l ON l.id = u.referred_by_link_id WHERE u.email = ?",
            vec!["dave@example.com".into()],
        )
        .await;
        assert_eq!(u[0]["code"], carol_code.as_str());
    }
);

db_test!(clicks_older_than_the_window_do_not_credit_a_signup, |app| {
    let referrer = app.member("old@example.com").await;
    let code = personal_code(&referrer).await;
    let v = app.browser();
    v.get(&format!("/r/{code}")).await;
    let day = 24 * 3600 * 1000i64;
    app.state
        .db
        .write
        .execute_unprepared(&format!("UPDATE responses SET created_at = created_at - {}", 31 * day))
        .await
        .unwrap();
    v.signup("late@example.com", PASSWORD, "Late").await;
    let u = rows(
        &app,
        "SELECT referred_by_link_id FROM users WHERE email = ?",
        vec!["late@example.com".into()],
    )
    .await;
    assert!(u[0]["referred_by_link_id"].is_null());
});

db_test!(
    record_response_uses_the_newest_link_and_returns_none_without_one,
    |app| {
        use app::server::context::RequestContext;
        use app::server::referrals::responses::{record_response, referral_for_request};
        let db = &app.state.db.write;
        let nobody = RequestContext::default();
        assert!(record_response(db, &nobody, "PURCHASED", None).await.unwrap().is_none());
        assert!(referral_for_request(db, &nobody).await.unwrap().is_none());

        let a = app.member("ra@example.com").await;
        let b = app.member("rb@example.com").await;
        let (code_a, code_b) = (personal_code(&a).await, personal_code(&b).await);
        let v = app.browser();
        v.get(&format!("/r/{code_a}")).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        v.get(&format!("/r/{code_b}")).await;
        let ctx = RequestContext {
            identity_cookie: v.cookie("tributary_id"),
            ..Default::default()
        };
        let r = record_response(
            db,
            &ctx,
            "PURCHASED",
            Some(("order", "8f14e45f-ceea-467e-a8b2-1a2b3c4d5e6f")),
        )
        .await
        .unwrap()
        .expect("a response");
        let link_b = referral_for_request(db, &ctx).await.unwrap().unwrap();
        assert_eq!(link_b.code, code_b, "the most recent response's link");
        assert_eq!(r.link_id, link_b.id);
        assert_eq!(r.target_type.as_deref(), Some("order"));
        assert_eq!(r.target_id.as_deref(), Some("8f14e45f-ceea-467e-a8b2-1a2b3c4d5e6f"));
        let mine = json(b.get_json("/api/links/mine").await).await;
        assert_eq!(mine["links"][0]["responses"]["PURCHASED"], 1);
        // Once logged in, the user's responses are found by user too, on any device.
        v.signup("rv@example.com", PASSWORD, "RV").await;
        let email = app::server::accounts::validate::Email::parse("rv@example.com").unwrap();
        let user = app::server::accounts::find_by_email(db, &email).await.unwrap().unwrap();
        let phone = RequestContext {
            user: Some(app::server::accounts::AuthUser::from(&user)),
            ..Default::default()
        };
        let r = record_response(db, &phone, "UPGRADED", None)
            .await
            .unwrap()
            .expect("found by user");
        assert_eq!(r.link_id, link_b.id);
        assert_eq!(r.user_id, Some(user.id));
    }
);

db_test!(a_hundred_concurrent_clicks_give_a_hundred_responses, |app| {
    let owner = app.member("busy@example.com").await;
    let code = personal_code(&owner).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let v = app.browser();
        let path = format!("/r/{code}");
        tasks.push(tokio::spawn(async move { v.get(&path).await.status() }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 302);
    }
    assert_eq!(responded(&app).await, 100);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM touchpoints WHERE link_id IS NOT NULL",
            vec![]
        )
        .await,
        100
    );
    let mine = json(owner.get_json("/api/links/mine").await).await;
    assert_eq!(mine["links"][0]["clicks"], 100);
    assert_eq!(mine["links"][0]["unique_visitors"], 100);
});

db_test!(owners_update_and_deactivate_only_their_own_links, |app| {
    let a = app.member("upd@example.com").await;
    let code = personal_code(&a).await;
    let other = app.member("other@example.com").await;
    let res = other
        .post_form(
            "/api/links/update",
            &[("code", &code), ("label", "Hijack"), ("destination", "/")],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        other
            .post_form("/api/links/deactivate", &[("code", &code)])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.browser()
            .post_form("/api/links/deactivate", &[("code", &code)])
            .await
            .status(),
        401
    );
    let res = a
        .post_form(
            "/api/links/update",
            &[("code", &code), ("label", "Renamed"), ("destination", "/pricing")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["link"]["label"], "Renamed");
    assert_eq!(body["link"]["destination"], "/pricing");
    let res = app.browser().get(&format!("/r/{code}")).await;
    assert_eq!(
        res.headers()["location"],
        "/pricing",
        "the change takes effect at once on this instance"
    );
    let res = a
        .post_form(
            "/api/links/update",
            &[("code", &code), ("label", "  "), ("destination", "/pricing")],
        )
        .await;
    assert_eq!(json(res).await["error"]["field"], "label");
    assert_eq!(
        a.post_form("/api/links/deactivate", &[("code", &code)]).await.status(),
        200
    );
    assert_eq!(app.browser().get(&format!("/r/{code}")).await.status(), 404);
});

db_test!(
    a_changed_link_takes_effect_on_every_instance_within_five_seconds,
    |app| {
        let (other_base, _state) = app.another_instance(|_| {}).await;
        let a = app.member("multi@example.com").await;
        let code = personal_code(&a).await;
        let elsewhere = Browser::new(&other_base, BROWSER_UA);
        assert_eq!(elsewhere.get(&format!("/r/{code}")).await.headers()["location"], "/");
        a.post_form(
            "/api/links/update",
            &[("code", &code), ("label", "P"), ("destination", "/moved")],
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
        assert_eq!(
            elsewhere.get(&format!("/r/{code}")).await.headers()["location"],
            "/moved"
        );
        a.post_form("/api/links/deactivate", &[("code", &code)]).await;
        tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
        assert_eq!(elsewhere.get(&format!("/r/{code}")).await.status(), 404);
    }
);

db_test!(
    my_links_page_shows_the_url_qr_code_counts_and_responses_without_addresses,
    |app| {
        let a = app.member("page@example.com").await;
        let code = personal_code(&a).await;
        app.browser().get(&format!("/r/{code}")).await;
        let html = a.get("/links").await.text().await.unwrap();
        assert!(html.contains(&format!("http://127.0.0.1:3000/r/{code}")));
        assert!(html.contains("<svg"), "a QR code");
        assert!(html.contains("Copy"));
        let detail = a.get(&format!("/links/{code}")).await.text().await.unwrap();
        assert!(detail.contains("Clicked the link"), "action labels are displayed");
        assert!(!detail.contains("127.0.0.0"), "no visitor addresses for the owner");
        let json = json(a.get_json(&format!("/api/links/responses?code={code}")).await).await;
        assert_eq!(json[1]["total"], 1);
        let text = json.to_string();
        assert!(
            !text.contains("127.0.0.0") && !text.contains("client_ip") && !text.contains("identity"),
            "{text}"
        );
    }
);

db_test!(admins_list_links_and_responses_and_others_are_refused, |app| {
    let admin = app.admin("boss@example.com").await;
    let a = app.member("la@example.com").await;
    let code = personal_code(&a).await;
    app.browser().get(&format!("/r/{code}?utm_source=x")).await;
    let links = json(admin.get_json("/api/admin/links?q=la%40example").await).await;
    assert_eq!(links["total"], 1);
    assert_eq!(links["items"][0]["link"]["clicks"], 1);
    assert_eq!(links["items"][0]["owner_email"], "la@example.com");
    let all = json(admin.get_json("/api/admin/links?status=active").await).await;
    assert_eq!(all["total"], 2);
    assert_eq!(admin.get_json("/api/admin/links?status=weird").await.status(), 422);
    let responses = json(
        admin
            .get_json(&format!("/api/admin/responses?action=RESPONDED&link={code}"))
            .await,
    )
    .await;
    assert_eq!(responses["total"], 1);
    assert_eq!(responses["items"][0]["action_label"], "Clicked the link");
    assert_eq!(admin.get("/admin/links").await.status(), 200);
    assert_eq!(admin.get("/admin/responses").await.status(), 200);
    for path in ["/api/admin/links", "/api/admin/responses"] {
        assert_eq!(a.get_json(path).await.status(), 403, "{path}");
        assert_eq!(app.browser().get_json(path).await.status(), 401, "{path}");
    }
    for page in ["/admin/links", "/admin/responses"] {
        assert_eq!(a.get(page).await.status(), 403);
    }
});
