//! Referrer codes from `?ref=`, and the campaigns that sort them.

use crate::db_test;
use crate::helpers::*;
use server::Application;

async fn links_named(app: &TestApp, code: &str) -> Vec<serde_json::Value> {
    rows(
        app,
        "SELECT * FROM links WHERE LOWER(code) = LOWER(?)",
        vec![code.into()],
    )
    .await
}

async fn new_campaign(admin: &Browser, name: &str, pattern: &str, kind: &str) -> String {
    let res = admin
        .post_form(
            "/api/campaigns/create",
            &[("name", name), ("pattern", pattern), ("pattern_kind", kind)],
        )
        .await;
    assert_eq!(res.status(), 200, "creating {name}");
    json(res).await["campaign"]["id"].as_str().unwrap().to_string()
}

async fn campaign_of(app: &TestApp, code: &str) -> Option<String> {
    let r = rows(
        app,
        "SELECT c.name FROM links l LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE LOWER(l.code) = LOWER(?)",
        vec![code.into()],
    )
    .await;
    r.first().and_then(|r| r["name"].as_str().map(String::from))
}

db_test!(an_unknown_ref_becomes_an_ownerless_code_and_counts_as_a_click, |app| {
    let v = app.browser();
    let res = v.get("/?ref=partner-blog&utm_source=blog").await;
    assert_eq!(res.status(), 200);
    assert!(identity_cookie(&res).is_some());
    let l = links_named(&app, "partner-blog").await;
    assert_eq!(l.len(), 1);
    assert!(l[0]["owner_id"].is_null());
    assert_eq!(l[0]["destination"], "/");
    assert_eq!(l[0]["code"], "partner-blog", "the code as given");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'",
            vec![]
        )
        .await,
        1
    );
    let t = rows(&app, "SELECT link_id, utm_source FROM touchpoints", vec![]).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["link_id"], l[0]["id"]);
    // /r/ works for it too now.
    assert_eq!(app.browser().get("/r/partner-blog").await.status(), 302);
});

db_test!(
    with_auto_create_off_unknown_codes_are_ignored_but_utm_is_kept,
    config = |c| c.referrals.auto_create = false,
    |app| {
        let v = app.browser();
        let res = v.get("/?ref=nobody-knows&utm_source=x").await;
        assert_eq!(res.status(), 200);
        assert!(links_named(&app, "nobody-knows").await.is_empty());
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM touchpoints WHERE utm_source = 'x'", vec![]).await,
            1
        );
    }
);

db_test!(codes_differing_only_in_case_are_one_code_by_default, |app| {
    app.browser().get("/?ref=new_ref").await;
    app.browser().get("/?ref=NEW_REF").await;
    let l = links_named(&app, "new_ref").await;
    assert_eq!(l.len(), 1, "never a second row");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM responses", vec![]).await, 2);
    assert_eq!(app.browser().get("/r/New_Ref").await.status(), 302);
});

db_test!(
    case_sensitive_codes_are_two_codes,
    config = |c| c.referrals.case_sensitive = true,
    |app| {
        app.browser().get("/?ref=new_ref").await;
        app.browser().get("/?ref=NEW_REF").await;
        assert_eq!(links_named(&app, "new_ref").await.len(), 2);
        assert_eq!(app.browser().get("/r/new_ref").await.status(), 302);
        assert_eq!(app.browser().get("/r/New_Ref").await.status(), 404);
    }
);

db_test!(the_case_setting_cannot_change_after_the_database_is_made, |app| {
    let mut config = test_config(&app.database_url);
    config.referrals.case_sensitive = true;
    let err = Application::build(config)
        .await
        .err()
        .expect("startup refuses the change");
    let msg = err.to_string();
    assert!(
        msg.contains("REFERRAL_CASE_SENSITIVE") && msg.contains("created with false"),
        "{msg}"
    );
});

db_test!(blank_and_invalid_codes_change_nothing_and_never_fail, |app| {
    let v = app.browser();
    for q in [
        "ref=",
        "ref=%20%20%20",
        "ref=ab",
        "ref=has%20space",
        "ref=semi%3Bcolon",
        "ref=%00%01",
        "ref=%F0%9F%92%A9%F0%9F%92%A9",
        &format!("ref={}", "x".repeat(65)),
    ] {
        let res = v.get(&format!("/?{q}")).await;
        assert_eq!(res.status(), 200, "{q}");
        assert!(identity_cookie(&res).is_none(), "{q}");
    }
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM links", vec![]).await, 0);
    // A padded valid code is trimmed.
    v.get("/?ref=%20padded-code%20").await;
    assert_eq!(links_named(&app, "padded-code").await.len(), 1);
});

db_test!(
    one_client_cannot_flood_the_codes_table,
    config = |c| c.referrals.auto_create_per_minute = 3,
    |app| {
        let v = app.browser();
        for i in 0..6 {
            assert_eq!(
                v.get(&format!("/?ref=crawler-{i}&utm_source=crawl")).await.status(),
                200
            );
        }
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM links", vec![]).await, 3);
        // Existing codes still count for this client.
        v.get("/?ref=crawler-0").await;
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM responses", vec![]).await, 4);
        // Its UTM landings are still captured.
        assert!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM touchpoints WHERE utm_source = 'crawl'",
                vec![]
            )
            .await
                >= 1
        );
    }
);

db_test!(
    fifty_concurrent_first_hits_of_a_new_code_give_one_row,
    config = |c| c.referrals.auto_create_per_minute = 1000,
    |app| {
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let v = app.browser();
            tasks.push(tokio::spawn(async move { v.get("/?ref=launch-day").await.status() }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        assert_eq!(links_named(&app, "launch-day").await.len(), 1);
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'",
                vec![]
            )
            .await,
            50
        );
    }
);

db_test!(the_last_ref_before_signup_becomes_referred_by, |app| {
    let v = app.browser();
    v.get("/?ref=first-ref").await;
    v.get("/pricing?ref=second-ref").await;
    v.signup("last@example.com", PASSWORD, "Last").await;
    let u = rows(
        &app,
        "SELECT l.code FROM users u JOIN links l ON l.id = u.referred_by_link_id WHERE u.email = 'last@example.com'",
        vec![],
    )
    .await;
    assert_eq!(u[0]["code"], "second-ref");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'",
            vec![]
        )
        .await,
        2,
        "both clicks stay recorded"
    );
    // Fixed at signup: later clicks change nothing.
    v.get("/?ref=third-ref").await;
    let u = rows(
        &app,
        "SELECT l.code FROM users u JOIN links l ON l.id = u.referred_by_link_id WHERE u.email = 'last@example.com'",
        vec![],
    )
    .await;
    assert_eq!(u[0]["code"], "second-ref");
});

db_test!(
    patterns_sort_new_codes_into_the_first_matching_campaign,
    config = |c| c.referrals.auto_create_per_minute = 100,
    |app| {
        let admin = app.admin("marketer@example.com").await;
        new_campaign(&admin, "Facebook", "fb", "substring").await;
        new_campaign(&admin, "Partners", "partner-*", "glob").await;
        new_campaign(&admin, "Affiliates", "^aff-\\d+$", "regex").await;
        new_campaign(&admin, "A summer", "summer", "substring").await;
        new_campaign(&admin, "Empty", "", "substring").await;
        for (code, want) in [
            ("winter-fb", Some("Facebook")),
            ("WINTER2-FB", Some("Facebook")),
            ("partner-blog", Some("Partners")),
            ("my-partner-blog", None),
            ("aff-123", Some("Affiliates")),
            ("aff-12x", None),
            ("summer-fb", Some("A summer")),
            ("unmatched", None),
        ] {
            app.browser().get(&format!("/?ref={code}")).await;
            assert_eq!(campaign_of(&app, code).await.as_deref(), want, "{code}");
        }
    }
);

db_test!(
    auto_associate_can_be_turned_off,
    config = |c| c.referrals.auto_associate = false,
    |app| {
        let admin = app.admin("m@example.com").await;
        new_campaign(&admin, "Facebook", "fb", "substring").await;
        app.browser().get("/?ref=summer-fb").await;
        assert_eq!(campaign_of(&app, "summer-fb").await, None);
    }
);

db_test!(rematch_assigns_existing_unassigned_codes, |app| {
    let admin = app.admin("m@example.com").await;
    for code in ["old-fb-1", "old-fb-2", "old-tw-1"] {
        app.browser().get(&format!("/?ref={code}")).await;
    }
    let owner = app.member("owned@example.com").await;
    owner
        .post_form(
            "/api/links/create",
            &[("label", "Mine"), ("destination", "/"), ("code", "owned-fb")],
        )
        .await;
    new_campaign(&admin, "Facebook", "fb", "substring").await;
    let res = admin.post_form("/api/campaigns/rematch", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await, serde_json::json!({"assigned": 2}));
    assert_eq!(campaign_of(&app, "old-fb-1").await.as_deref(), Some("Facebook"));
    assert_eq!(
        campaign_of(&app, "owned-fb").await,
        None,
        "only ownerless codes are re-matched"
    );
    let again = json(admin.post_form("/api/campaigns/rematch", &[]).await).await;
    assert_eq!(again["assigned"], 0);
    // Explicit assignment works for any link.
    let camp = json(admin.get_json("/api/admin/campaigns").await).await;
    let id = camp[0]["id"].as_str().unwrap().to_string();
    let res = admin
        .post_form(
            "/api/admin/links/assign",
            &[("codes[0]", "owned-fb"), ("codes[1]", "OLD-TW-1"), ("campaign_id", &id)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["assigned"], 2);
    assert_eq!(campaign_of(&app, "owned-fb").await.as_deref(), Some("Facebook"));
    assert_eq!(campaign_of(&app, "old-tw-1").await.as_deref(), Some("Facebook"));
});

db_test!(clicks_outside_a_campaigns_dates_count_for_the_link_only, |app| {
    let admin = app.admin("m@example.com").await;
    let res = admin
        .post_form(
            "/api/campaigns/create",
            &[
                ("name", "Over"),
                ("pattern", "over"),
                ("starts_at", "2020-01-01"),
                ("ends_at", "2020-12-31"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(
        body["campaign"]["ends_at"], "2021-01-01T00:00:00Z",
        "an end date includes that whole day"
    );
    assert_eq!(body["campaign"]["ends_on"], "2020-12-31");
    app.browser().get("/?ref=game-over").await;
    let list = json(admin.get_json("/api/admin/campaigns").await).await;
    assert_eq!(list[0]["codes"], 1);
    assert_eq!(list[0]["clicks"], 0, "outside its dates");
    let links = json(admin.get_json("/api/admin/links?q=game-over").await).await;
    assert_eq!(links["items"][0]["link"]["clicks"], 1, "the link still counts it");
});

db_test!(
    deleting_a_campaign_with_links_needs_confirmation_and_only_unassigns,
    |app| {
        let admin = app.admin("m@example.com").await;
        let id = new_campaign(&admin, "Doomed", "doom", "substring").await;
        app.browser().get("/?ref=doom-1").await;
        let res = admin.post_form("/api/campaigns/delete", &[("id", &id)]).await;
        assert_eq!(res.status(), 409);
        assert_eq!(json(res).await["error"]["field"], "confirm");
        assert_eq!(campaign_of(&app, "doom-1").await.as_deref(), Some("Doomed"));
        let res = admin
            .post_form("/api/campaigns/delete", &[("id", &id), ("confirm", "true")])
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(links_named(&app, "doom-1").await.len(), 1, "the link stays");
        assert_eq!(campaign_of(&app, "doom-1").await, None);
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM responses", vec![]).await,
            1,
            "its clicks stay"
        );
        assert_eq!(
            admin.post_form("/api/campaigns/delete", &[("id", &id)]).await.status(),
            404
        );
        // Without links no confirmation is needed.
        let empty = new_campaign(&admin, "Empty", "nothing-matches-this", "substring").await;
        assert_eq!(
            admin
                .post_form("/api/campaigns/delete", &[("id", &empty)])
                .await
                .status(),
            200
        );
    }
);

db_test!(
    campaign_counts_match_a_hand_built_data_set,
    config = |c| c.referrals.auto_create_per_minute = 100,
    |app| {
        let admin = app.admin("m@example.com").await;
        let id = new_campaign(&admin, "Spring", "spring", "substring").await;
        new_campaign(&admin, "Other", "other", "substring").await;
        // spring-a: visitor 1 twice, visitor 2 once and signs up, a GPC visitor once.
        let v1 = app.browser();
        v1.get("/?ref=spring-a").await;
        v1.get("/r/spring-a").await;
        let v2 = app.browser();
        v2.get("/r/spring-a").await;
        v2.signup("v2@example.com", PASSWORD, "V2").await;
        let gpc = app.browser();
        gpc.client
            .get(gpc.url("/r/spring-a"))
            .header("Sec-GPC", "1")
            .send()
            .await
            .unwrap();
        // spring-b: two visitors, both sign up.
        for email in ["v3@example.com", "v4@example.com"] {
            let v = app.browser();
            v.get("/?ref=spring-b").await;
            v.signup(email, PASSWORD, "V").await;
        }
        // spring-c: never clicked after its creation... except once.
        app.browser().get("/?ref=spring-c").await;
        // Noise in another campaign.
        app.browser().get("/?ref=other-x").await;

        let list = json(admin.get_json("/api/admin/campaigns").await).await;
        let spring = list.as_array().unwrap().iter().find(|c| c["name"] == "Spring").unwrap();
        assert_eq!(spring["codes"], 3);
        assert_eq!(spring["clicks"], 7, "spring-a 4, spring-b 2, spring-c 1");
        assert_eq!(spring["signups"], 3);
        assert_eq!(
            spring["unique_visitors"], 6,
            "v1, v2, gpc, v3, v4, and spring-c's visitor"
        );
        let detail = json(admin.get_json(&format!("/api/admin/campaign?id={id}")).await).await;
        let codes: Vec<&str> = detail["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["spring-b", "spring-a", "spring-c"], "ranked by sign-ups");
        assert_eq!(detail["codes"][1]["clicks"], 4);
        assert_eq!(detail["codes"][1]["unique_visitors"], 3);
        // The users page shows who referred whom, and the campaign.
        let users = json(admin.get_json("/api/admin/users?q=v2%40").await).await;
        assert_eq!(users["items"][0]["referred_by"], "spring-a");
        assert_eq!(users["items"][0]["referred_by_campaign"], "Spring");
        let html = admin.get("/admin/campaigns").await.text().await.unwrap();
        assert!(html.contains("Spring"), "{html}");
        let html = admin.get(&format!("/admin/campaigns/{id}")).await.text().await.unwrap();
        assert!(html.contains("spring-b"));
        let html = admin.get("/admin/referrers?q=spring").await.text().await.unwrap();
        assert!(html.contains("spring-c"));
    }
);

db_test!(campaign_input_is_validated, |app| {
    let admin = app.admin("m@example.com").await;
    new_campaign(&admin, "Taken", "t", "substring").await;
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: &[Case] = &[
        (
            &[
                ("name", "Bad regex"),
                ("pattern", "(unclosed"),
                ("pattern_kind", "regex"),
            ],
            422,
            "pattern",
        ),
        (
            &[
                ("name", "Huge regex"),
                ("pattern", "a{1000}{1000}"),
                ("pattern_kind", "regex"),
            ],
            422,
            "pattern",
        ),
        (
            &[("name", "Bad kind"), ("pattern", "x"), ("pattern_kind", "soundex")],
            422,
            "pattern_kind",
        ),
        (&[("name", "  ")], 422, "name"),
        (&[("name", "TAKEN")], 409, "name"),
        (
            &[
                ("name", "Backwards"),
                ("starts_at", "2026-02-01"),
                ("ends_at", "2026-01-01"),
            ],
            422,
            "ends_at",
        ),
        (&[("name", "Bad date"), ("starts_at", "next tuesday")], 422, "starts_at"),
    ];
    for (form, status, field) in cases {
        let res = admin.post_form("/api/campaigns/create", form).await;
        assert_eq!(res.status().as_u16(), *status, "{form:?}");
        assert_eq!(json(res).await["error"]["field"], *field, "{form:?}");
    }
});

db_test!(campaigns_are_for_admins_only, |app| {
    let admin = app.admin("m@example.com").await;
    let id = new_campaign(&admin, "Secret", "s", "substring").await;
    let member = app.member("member@example.com").await;
    let visitor = app.browser();
    let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/campaigns/create", vec![("name", "Mine")]),
        ("/api/campaigns/update", vec![("id", id.as_str()), ("name", "Hijacked")]),
        ("/api/campaigns/delete", vec![("id", id.as_str()), ("confirm", "true")]),
        ("/api/campaigns/rematch", vec![]),
        (
            "/api/admin/links/assign",
            vec![("codes[0]", "x"), ("campaign_id", id.as_str())],
        ),
    ];
    for (path, form) in &posts {
        assert_eq!(member.post_form(path, form).await.status(), 403, "{path}");
        assert_eq!(visitor.post_form(path, form).await.status(), 401, "{path}");
    }
    for path in [
        "/api/admin/campaigns",
        &format!("/api/admin/campaign?id={id}"),
        "/api/admin/referrers",
    ] {
        assert_eq!(member.get_json(path).await.status(), 403, "{path}");
        assert_eq!(visitor.get_json(path).await.status(), 401, "{path}");
    }
    for page in [
        "/admin/campaigns",
        &format!("/admin/campaigns/{id}"),
        "/admin/referrers",
    ] {
        assert_eq!(member.get(page).await.status(), 403, "{page}");
        assert_eq!(visitor.get(page).await.status(), 303, "{page}");
    }
    let list = json(admin.get_json("/api/admin/campaigns").await).await;
    assert_eq!(list[0]["name"], "Secret", "nothing changed");
});
