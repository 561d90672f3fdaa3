//! Conversions, their REST API, API keys, and the links they are credited to.

use crate::db_test;
use crate::helpers::*;
use app::server::context::RequestContext;
use app::server::conversions::{ConversionError, RecordOptions, record_conversion};
use serde_json::json;

async fn personal_code(b: &Browser) -> String {
    json(b.get_json("/api/links/mine").await).await["links"][0]["code"]
        .as_str()
        .unwrap()
        .to_string()
}

db_test!(allowed_events_refuse_others_with_the_exact_message, |app| {
    let (db, config) = (&app.state.db.write, &app.state.config);
    let ctx = RequestContext::default().allowing(["signup", "purchase"]);
    assert!(
        record_conversion(db, config, &ctx, "purchase", RecordOptions::default())
            .await
            .is_ok()
    );
    match record_conversion(db, config, &ctx, "newsletter", RecordOptions::default()).await {
        Err(ConversionError::NotAllowed(m)) => assert_eq!(
            m,
            "Conversion event 'newsletter' not allowed. Allowed events: ['purchase', 'signup']"
        ),
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.conversion)),
    }
    // No declaration allows any event; an empty declaration allows none.
    assert!(
        record_conversion(
            db,
            config,
            &RequestContext::default(),
            "anything-at-all",
            RecordOptions::default()
        )
        .await
        .is_ok()
    );
    let none = RequestContext::default().allowing([]);
    assert!(matches!(
        record_conversion(db, config, &none, "signup", RecordOptions::default()).await,
        Err(ConversionError::NotAllowed(_))
    ));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM conversions", vec![]).await, 2);
});

db_test!(a_route_declares_its_events_with_an_extension_layer, |app| {
    use app::server::conversions::AllowedEvents;
    use axum::{Extension, Router, extract::State, routing::post};
    // What an integrator writes: a route, and the events it may record.
    async fn checkout(
        State(state): State<app::server::state::AppState>,
        req: axum::extract::Request,
    ) -> (http::StatusCode, String) {
        let (parts, _) = req.into_parts();
        let ctx = RequestContext::from_parts(&parts, &state.config);
        let event = parts.uri.query().unwrap_or("purchase").to_string();
        match record_conversion(&state.db.write, &state.config, &ctx, &event, RecordOptions::default()).await {
            Ok(_) => (http::StatusCode::CREATED, "ok".into()),
            Err(e) => (
                http::StatusCode::UNPROCESSABLE_ENTITY,
                app::error::AppError::from(e).message,
            ),
        }
    }
    let router = Router::new()
        .route("/checkout", post(checkout))
        .layer(Extension(AllowedEvents::new(["purchase"])))
        .with_state(app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let c = reqwest::Client::new();
    let ok = c.post(format!("http://{addr}/checkout?purchase")).send().await.unwrap();
    assert_eq!(ok.status(), 201);
    let refused = c
        .post(format!("http://{addr}/checkout?newsletter"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.text().await.unwrap(),
        "Conversion event 'newsletter' not allowed. Allowed events: ['purchase']"
    );
});

db_test!(
    the_api_records_exact_values_in_the_default_currency_and_stores_the_unattributed,
    |app| {
        let api = Api::new(&app).await;
        let res = api
            .post("/conversions", json!({"event": "purchase", "value": "99.99"}))
            .await;
        assert_eq!(res.status(), 201);
        let c = json(res).await["conversion"].clone();
        assert_eq!(c["value"], "99.99");
        assert_eq!(c["currency"], "EUR");
        assert_eq!(c["confirmed"], true);
        assert_eq!(c["active"], true);
        assert!(c["identity_id"].is_null() && c["user_id"].is_null(), "unattributed");
        assert!(c["id"].is_string());
        assert_eq!(scalar(&app, "SELECT value_minor FROM conversions", vec![]).await, 9999);
        let res = api
            .post(
                "/conversions",
                json!({"event": "purchase", "value": "500", "currency": "jpy"}),
            )
            .await;
        assert_eq!(json(res).await["conversion"]["value"], "500");
        for (body, field) in [
            (json!({"event": "purchase", "currency": "EURO"}), "currency"),
            (json!({"event": "purchase", "currency": "XYZ"}), "currency"),
            (json!({"event": "purchase", "value": "1.999"}), "value"),
            (json!({"event": "purchase", "value": "1,99"}), "value"),
            (json!({"event": "purchase", "value": "-5"}), "value"),
            (json!({"event": ""}), "event"),
            (json!({"event": "x".repeat(101)}), "event"),
            (json!({"event": "purchase", "custom_data": [1, 2]}), "custom_data"),
            (
                json!({"event": "purchase", "custom_data": {"k": "x".repeat(17_000)}}),
                "custom_data",
            ),
            (json!({"event": "purchase", "source_type": "order"}), "source_type"),
            (json!({"event": "purchase", "occurred_at": "soon"}), "occurred_at"),
            (json!({"event": "purchase", "nope": 1}), "nope"),
            (json!({"value": "1"}), "event"),
        ] {
            let res = api.post("/conversions", body.clone()).await;
            assert_eq!(res.status(), 422, "{body}");
            let e = json(res).await;
            assert_eq!(e["error"]["code"], "validation");
            assert_eq!(e["error"]["field"], field, "{body}");
        }
        let res = api
            .post(
                "/conversions",
                json!({"event": "x", "visitor_id": "0123456789abcdef0123456789abcdef", "user_id": "1"}),
            )
            .await;
        assert_eq!(res.status(), 422);
    }
);

db_test!(
    sums_of_values_are_exact,
    config = |c| c.referrals.allowed_hosts = vec!["shop.example.com".into()],
    |app| {
        let owner = app.member("seller@example.com").await;
        let code = personal_code(&owner).await;
        let v = app.browser();
        v.get(&format!("/r/{code}")).await;
        let visitor_id = v.cookie("tributary_id").unwrap();
        let api = Api::new(&app).await;
        for value in ["0.10", "0.20", "99.99"] {
            let res = api
                .post(
                    "/conversions",
                    json!({"event": "purchase", "value": value, "visitor_id": visitor_id}),
                )
                .await;
            assert_eq!(res.status(), 201);
        }
        let mine = json(owner.get_json("/api/links/mine").await).await;
        assert_eq!(mine["links"][0]["conversions"], 3);
        assert_eq!(
            mine["links"][0]["value"]["EUR"], "100.29",
            "0.10 + 0.20 + 99.99, exactly"
        );
    }
);

db_test!(an_idempotency_key_replays_and_conflicts, |app| {
    let api = Api::new(&app).await;
    let body = json!({"event": "purchase", "value": "10.00", "idempotency_key": "order-42", "source_type": "order", "source_id": "42"});
    let first = api.post("/conversions", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = api.post("/conversions", body.clone()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(json(again).await, first, "the original");
    let different = api
        .post(
            "/conversions",
            json!({"event": "purchase", "value": "11.00", "idempotency_key": "order-42"}),
        )
        .await;
    assert_eq!(different.status(), 409);
    assert_eq!(json(different).await["error"]["code"], "conflict");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM conversions", vec![]).await, 1);
    // Concurrent replays still make one row.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let api = Api::with_key(&app, &api.key);
        tasks.push(tokio::spawn(async move {
            api.post(
                "/conversions",
                json!({"event": "refund-check", "idempotency_key": "once"}),
            )
            .await
            .status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 201 || s == 200, "{s}");
        created += (s == 201) as i32;
    }
    assert_eq!(created, 1);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM conversions WHERE idempotency_key = 'once'",
            vec![]
        )
        .await,
        1
    );
});

db_test!(occurred_at_may_be_past_but_not_future, |app| {
    let api = Api::new(&app).await;
    let res = api
        .post(
            "/conversions",
            json!({"event": "offline", "occurred_at": "2026-01-15T10:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(json(res).await["conversion"]["occurred_at"], "2026-01-15T10:00:00Z");
    let future = chrono::Utc::now() + chrono::Duration::hours(2);
    let res = api
        .post(
            "/conversions",
            json!({"event": "offline", "occurred_at": future.to_rfc3339()}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(json(res).await["error"]["field"], "occurred_at");
});

db_test!(
    a_click_id_names_the_clicks_identity,
    config = |c| c.referrals.allowed_hosts = vec!["shop.example.com".into()],
    |app| {
        let owner = app.member("shop@example.com").await;
        let link = json(
            owner
                .post_form(
                    "/api/links/create",
                    &[("label", "Shop"), ("destination", "https://shop.example.com/")],
                )
                .await,
        )
        .await;
        let code = link["link"]["code"].as_str().unwrap().to_string();
        let v = app.browser();
        let res = v.get(&format!("/r/{code}?utm_source=news")).await;
        let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        let click: String = location
            .query_pairs()
            .find(|(k, _)| k == "tb_click")
            .unwrap()
            .1
            .into_owned();
        let api = Api::new(&app).await;
        let res = api
            .post(
                "/conversions",
                json!({"event": "purchase", "value": "25.00", "currency": "EUR", "click_id": click}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let c = json(res).await;
        let identity = rows(
            &app,
            "SELECT id FROM identities WHERE public_id = ?",
            vec![v.cookie("tributary_id").unwrap().into()],
        )
        .await;
        assert_eq!(c["conversion"]["identity_id"], identity[0]["id"].to_string());
        let res = api
            .post(
                "/conversions",
                json!({"event": "purchase", "click_id": "ffffffffffffffffffffffffffffffff"}),
            )
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(json(res).await["error"]["field"], "click_id");
        let mine = json(owner.get_json("/api/links/mine").await).await;
        let shop = mine["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == code.as_str())
            .unwrap()
            .clone();
        assert_eq!(shop["conversions"], 1);
        assert_eq!(shop["value"]["EUR"], "25.00");
    }
);

db_test!(
    users_get_their_canonical_identity_and_conversions_follow_merges,
    |app| {
        let api = Api::new(&app).await;
        app::server::accounts::signup::create_admin(&app.state.db, &app.state.config, "noid@example.com", PASSWORD)
            .await
            .unwrap();
        let res = api
            .post(
                "/conversions",
                json!({"event": "renewal", "user_email": "NoId@example.com"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let c = json(res).await;
        assert!(
            c["conversion"]["identity_id"].is_string(),
            "an identity was made for the user"
        );
        assert!(c["conversion"]["user_id"].is_string());
        // A second device's anonymous conversion moves into the account at log-in.
        let phone = app.browser();
        phone.get("/?utm_source=x").await;
        let phone_id = phone.cookie("tributary_id").unwrap();
        api.post("/conversions", json!({"event": "trial", "visitor_id": phone_id}))
            .await;
        phone.login("noid@example.com", PASSWORD).await;
        let merged = scalar(
        &app,
        "SELECT COUNT(*) FROM conversions c JOIN identities i ON i.id = c.identity_id JOIN users u ON u.id = i.user_id WHERE u.email = 'noid@example.com'",
        vec![],
    )
    .await;
        assert_eq!(merged, 2);
        assert_eq!(
            api.post("/conversions", json!({"event": "x", "user_id": "999999"}))
                .await
                .status(),
            422
        );
        assert_eq!(
            api.post(
                "/conversions",
                json!({"event": "x", "visitor_id": "0123456789abcdef0123456789abcdef"})
            )
            .await
            .status(),
            422
        );
    }
);

db_test!(conversions_are_confirmed_and_cancelled_by_id_or_source, |app| {
    let api = Api::new(&app).await;
    let pending = json(api.post("/conversions", json!({"event": "order_placed", "value": "30.00", "confirmed": false, "source_type": "order", "source_id": "7"})).await).await;
    api.post(
        "/conversions",
        json!({"event": "order_placed", "value": "5.00", "confirmed": false, "source_type": "order", "source_id": "7"}),
    )
    .await;
    let id = pending["conversion"]["id"].as_str().unwrap().to_string();
    let list = json(api.get("/conversions").await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "pending ones are not valid");
    let all = json(api.get("/conversions?valid=false").await).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let res = api
        .post(
            "/conversions/confirm",
            json!({"source_type": "order", "source_id": "7", "event": "order_placed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["updated"], 2, "several matches change all of them");
    assert_eq!(
        json(api.get("/conversions").await).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let res = api.post("/conversions/cancel", json!({"id": id})).await;
    assert_eq!(res.status(), 200);
    let c = &json(res).await["items"][0];
    assert_eq!(c["active"], false);
    assert_eq!(c["confirmed"], true, "a refund of a confirmed conversion keeps the row");
    assert_eq!(
        json(api.get("/conversions").await).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.post("/conversions/cancel", json!({"id": "999999"})).await.status(),
        404
    );
    assert_eq!(
        api.post("/conversions/cancel", json!({"source_type": "order"}))
            .await
            .status(),
        422
    );
    assert_eq!(api.post("/conversions/confirm", json!({"id": "x"})).await.status(), 422);
});

db_test!(the_conversion_list_filters_and_pages_with_a_cursor, |app| {
    let api = Api::new(&app).await;
    for i in 0..7 {
        api.post("/conversions", json!({"event": if i % 2 == 0 { "a" } else { "b" }, "occurred_at": format!("2026-03-0{}T10:00:00Z", i + 1)})).await;
    }
    let page1 = json(api.get("/conversions?limit=3").await).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 3);
    assert_eq!(page1["items"][0]["occurred_at"], "2026-03-07T10:00:00Z", "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap().to_string();
    let page2 = json(api.get(&format!("/conversions?limit=3&cursor={cursor}")).await).await;
    assert_eq!(page2["items"][0]["occurred_at"], "2026-03-04T10:00:00Z");
    let page3 = json(
        api.get(&format!(
            "/conversions?limit=3&cursor={}",
            page2["next_cursor"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert!(page3["next_cursor"].is_null());
    let a = json(api.get("/conversions?event=a&from=2026-03-02&to=2026-03-05").await).await;
    assert_eq!(a["items"].as_array().unwrap().len(), 2, "the 3rd and 5th of March");
    for bad in [
        "?limit=0",
        "?limit=501",
        "?cursor=nonsense",
        "?from=yesterday",
        "?unknown=1",
        "?valid=perhaps",
    ] {
        assert_eq!(api.get(&format!("/conversions{bad}")).await.status(), 422, "{bad}");
    }
});

db_test!(signup_records_a_signup_conversion, |app| {
    let b = app.browser();
    b.get("/?utm_source=ads").await;
    b.signup("conv@example.com", PASSWORD, "Conv").await;
    let c = rows(&app, "SELECT c.event, c.identity_id, i.public_id, u.email FROM conversions c JOIN identities i ON i.id = c.identity_id JOIN users u ON u.id = c.user_id", vec![]).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["event"], "signup");
    assert_eq!(c[0]["public_id"], b.cookie("tributary_id").unwrap().as_str());
    assert_eq!(c[0]["email"], "conv@example.com");
});

db_test!(
    signup_conversions_can_be_turned_off,
    config = |c| c.conversions.record_signup_conversion = false,
    |app| {
        app.browser().signup("quiet@example.com", PASSWORD, "Q").await;
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM conversions", vec![]).await, 0);
    }
);

db_test!(api_keys_are_required_and_revocable, |app| {
    let c = reqwest::Client::new();
    let res = c
        .post(app.url("/api/v1/conversions"))
        .json(&json!({"event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(json(res).await["error"]["code"], "unauthorized");
    let res = c
        .post(app.url("/api/v1/conversions"))
        .bearer_auth("tb_not_a_real_key")
        .json(&json!({"event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Cookies are never enough.
    let admin = app.admin("keys@example.com").await;
    let res = admin
        .client
        .post(admin.url("/api/v1/conversions"))
        .json(&json!({"event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let made = json(
        admin
            .post_form("/api/admin/api-keys/create", &[("name", "Shop backend")])
            .await,
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("tb_") && secret.len() > 40);
    let stored = rows(
        &app,
        "SELECT key_hash FROM api_keys WHERE name = 'Shop backend'",
        vec![],
    )
    .await;
    assert_ne!(stored[0]["key_hash"], secret.as_str(), "only a hash is stored");
    let api = Api::with_key(&app, &secret);
    assert_eq!(api.post("/conversions", json!({"event": "x"})).await.status(), 201);
    let list = json(admin.get_json("/api/admin/api-keys").await).await;
    let key = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Shop backend")
        .unwrap()
        .clone();
    assert!(key["last_used_at"].is_string());
    assert!(!list.to_string().contains(&secret), "the secret is never listed");
    let res = admin
        .post_form("/api/admin/api-keys/revoke", &[("id", key["id"].as_str().unwrap())])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(api.post("/conversions", json!({"event": "x"})).await.status(), 401);
    // Members and visitors cannot manage keys.
    let member = app.member("m@example.com").await;
    assert_eq!(
        member
            .post_form("/api/admin/api-keys/create", &[("name", "mine")])
            .await
            .status(),
        403
    );
    assert_eq!(member.get_json("/api/admin/api-keys").await.status(), 403);
    assert_eq!(
        app.browser()
            .post_form("/api/admin/api-keys/create", &[("name", "mine")])
            .await
            .status(),
        401
    );
    assert_eq!(member.get("/admin/api-keys").await.status(), 403);
});

db_test!(without_javascript_a_new_key_is_shown_once_on_the_admin_page, |app| {
    let admin = app.admin("boss@example.com").await;
    let res = admin
        .post_html_form(
            "/api/admin/api-keys/create",
            "/admin/api-keys",
            &[("name", "Shop backend")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    // The admin layout renders the page more than once while it resolves: the notice
    // must survive that, and still be shown only once.
    let page = admin.get("/admin/api-keys").await.text().await.unwrap();
    let notice = page
        .split("class=\"alert alert-ok new-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no notice on the page"));
    let secret = notice.rsplit(": ").next().unwrap().trim();
    assert!(secret.starts_with("tb_") && secret.len() > 40, "{notice}");
    let api = Api::with_key(&app, secret);
    assert_eq!(api.post("/conversions", json!({"event": "x"})).await.status(), 201);
    let again = admin.get("/admin/api-keys").await.text().await.unwrap();
    assert!(!again.contains(secret), "the secret is shown once");

    // A bad name comes back as a field error, with the value kept.
    let long = "n".repeat(300);
    admin
        .post_html_form("/api/admin/api-keys/create", "/admin/api-keys", &[("name", &long)])
        .await;
    let page = admin.get("/admin/api-keys").await.text().await.unwrap();
    let error = page
        .split("id=\"name-error\" role=\"alert\" class=\"field-error\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default();
    assert!(!error.is_empty(), "a field error for the name");
});

db_test!(bodies_over_64_kb_are_refused, |app| {
    let api = Api::new(&app).await;
    let huge = json!({"event": "x", "custom_data": {"blob": "x".repeat(70_000)}});
    let res = api.post("/conversions", huge).await;
    assert_eq!(res.status(), 413);
    assert_eq!(json(res).await["error"]["code"], "payload_too_large");
    let res = api
        .client
        .post(format!("{}/api/v1/conversions", app.base))
        .bearer_auth(&api.key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = api.get("/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert_eq!(json(res).await["error"]["code"], "not_found");
});

db_test!(
    each_key_is_rate_limited,
    config = |c| c.api.rate_limit_per_minute = 3,
    |app| {
        let api = Api::new(&app).await;
        for _ in 0..3 {
            assert_eq!(api.get("/conversions").await.status(), 200);
        }
        let res = api.get("/conversions").await;
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(json(res).await["error"]["code"], "rate_limited");
        let other = Api::new(&app).await;
        assert_eq!(other.get("/conversions").await.status(), 200, "per key");
    }
);

db_test!(the_responses_endpoint_records_actions_on_the_latest_link, |app| {
    let owner = app.member("resp@example.com").await;
    let code = personal_code(&owner).await;
    let v = app.browser();
    v.get(&format!("/r/{code}")).await;
    let visitor_id = v.cookie("tributary_id").unwrap();
    let api = Api::new(&app).await;
    let res = api.post("/responses", json!({"action": "ADDED_TO_CART", "target_type": "product", "target_id": "sku-1", "visitor_id": visitor_id})).await;
    assert_eq!(res.status(), 201);
    let r = json(res).await;
    assert_eq!(r["response"]["link"], code.as_str());
    assert_eq!(r["response"]["target_id"], "sku-1");
    let stranger = app.browser();
    stranger.get("/?utm_source=x").await;
    let res = api
        .post(
            "/responses",
            json!({"action": "X", "visitor_id": stranger.cookie("tributary_id").unwrap()}),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(json(res).await["error"]["code"], "not_found");
    for action in ["RESPONDED", "SIGNED_UP", ""] {
        let res = api
            .post("/responses", json!({"action": action, "visitor_id": visitor_id}))
            .await;
        assert_eq!(res.status(), 422, "{action}");
    }
    let mine = json(owner.get_json("/api/links/mine").await).await;
    assert_eq!(mine["links"][0]["responses"]["ADDED_TO_CART"], 1);
});

db_test!(the_links_endpoint_creates_idempotently_for_a_user, |app| {
    app.member("api-owner@example.com").await;
    let api = Api::new(&app).await;
    let body = json!({"user_email": "api-owner@example.com", "label": "Partner", "destination": "/pricing"});
    let first = api.post("/links", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = api.post("/links", body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(json(again).await["link"]["code"], first["link"]["code"]);
    assert_eq!(
        api.post(
            "/links",
            json!({"user_email": "nobody@example.com", "label": "x", "destination": "/"})
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        api.post(
            "/links",
            json!({"user_email": "api-owner@example.com", "label": "x", "destination": "https://evil.example"})
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        api.post("/links", json!({"label": "x", "destination": "/"}))
            .await
            .status(),
        422
    );
});

db_test!(
    the_openapi_document_lists_every_route_and_every_listed_route_answers,
    |app| {
        let doc = json(reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap()).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let expected = [
            ("/conversions", "post"),
            ("/conversions", "get"),
            ("/conversions/confirm", "post"),
            ("/conversions/cancel", "post"),
            ("/responses", "post"),
            ("/links", "post"),
            ("/attribution/report", "get"),
            ("/conversions/{id}/explain", "get"),
        ];
        let paths = doc["paths"].as_object().unwrap();
        let mut listed = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                listed.push((path.clone(), method.clone()));
            }
        }
        for (p, m) in expected {
            assert!(
                listed.contains(&(p.to_string(), m.to_string())),
                "{m} {p} missing from the document"
            );
        }
        assert_eq!(listed.len(), expected.len(), "{listed:?}");
        // Every documented route exists (answers something other than 404 with a key).
        let api = Api::new(&app).await;
        for (path, method) in &listed {
            let path = &path.replace("{id}", "1");
            let res = match method.as_str() {
                "get" => api.get(path).await,
                _ => api.post(path, json!({})).await,
            };
            if !path.contains("explain") {
                assert_ne!(res.status(), 404, "{method} {path}");
            } else {
                assert_eq!(
                    json(res).await["error"]["message"],
                    "No such conversion.",
                    "the route exists"
                );
                continue;
            }
            assert_ne!(res.status(), 405, "{method} {path}");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
);

db_test!(
    admins_see_confirm_and_cancel_conversions_and_others_are_refused,
    |app| {
        let admin = app.admin("ops@example.com").await;
        let api = Api::new(&app).await;
        let c = json(
            api.post(
                "/conversions",
                json!({"event": "order", "value": "12.00", "confirmed": false, "user_email": "ops@example.com"}),
            )
            .await,
        )
        .await;
        let id = c["conversion"]["id"].as_str().unwrap().to_string();
        let list = json(admin.get_json("/api/admin/conversions?status=pending").await).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["user_email"], "ops@example.com");
        assert!(list["items"][0]["conversion"]["identity_id"].is_string());
        assert_eq!(
            admin
                .post_form("/api/admin/conversions/confirm", &[("id", &id)])
                .await
                .status(),
            200
        );
        assert_eq!(
            json(admin.get_json("/api/admin/conversions?status=valid&event=order").await).await["total"],
            1
        );
        assert_eq!(
            admin
                .post_form("/api/admin/conversions/cancel", &[("id", &id)])
                .await
                .status(),
            200
        );
        assert_eq!(
            json(admin.get_json("/api/admin/conversions?status=cancelled").await).await["total"],
            1
        );
        assert_eq!(
            json(admin.get_json("/api/admin/conversions?currency=USD").await).await["total"],
            0
        );
        assert_eq!(admin.get_json("/api/admin/conversions?status=odd").await.status(), 422);
        let html = admin.get("/admin/conversions").await.text().await.unwrap();
        assert!(html.contains("12.00 EUR"));
        let member = app.member("m@example.com").await;
        assert_eq!(member.get_json("/api/admin/conversions").await.status(), 403);
        assert_eq!(
            member
                .post_form("/api/admin/conversions/confirm", &[("id", &id)])
                .await
                .status(),
            403
        );
        assert_eq!(
            member
                .post_form("/api/admin/conversions/cancel", &[("id", &id)])
                .await
                .status(),
            403
        );
        assert_eq!(member.get("/admin/conversions").await.status(), 403);
        let visitor = app.browser();
        assert_eq!(visitor.get_json("/api/admin/conversions").await.status(), 401);
        assert_eq!(
            visitor
                .post_form("/api/admin/conversions/cancel", &[("id", &id)])
                .await
                .status(),
            401
        );
    }
);
