//! Absurd pages and limits on every paginated list: never a 5xx, and always an answer.
//! Every request here has a client timeout: a list that never answers fails the test
//! (nothing measures how long an answer took).

use crate::db_test;
use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
const MAX_PAGE: u64 = 1_000_000_000;

/// Page values as sent in the URL, and the page a JSON client gets (`None`: 422).
const PAGES: &[(&str, Option<u64>)] = &[
    ("18446744073709551615", Some(MAX_PAGE)),
    ("18446744073709551616", Some(MAX_PAGE)),
    ("9223372036854775807", Some(MAX_PAGE)),
    ("9223372036854775808", Some(MAX_PAGE)),
    ("999999999999999999999999999999999999999999", Some(MAX_PAGE)),
    ("1000000001", Some(MAX_PAGE)),
    ("999999999", Some(999_999_999)),
    ("0", Some(1)),
    ("", Some(1)),
    ("2", Some(2)),
    ("-1", None),
    ("-9223372036854775808", None),
    ("1.5", None),
    ("1e3", None),
    ("0x10", None),
    ("abc", None),
    ("%00", None),
    ("%E2%82%AC", None),
];

/// Status and body of a GET, with the client timeout.
async fn answer(b: &Browser, path: &str, accept_json: bool) -> (u16, String) {
    let mut req = b.client.get(b.url(path)).timeout(TIMEOUT);
    if accept_json {
        req = req.header("Accept", "application/json");
    }
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path} did not answer: {e}"));
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// Every page value on a server function's list: the page it asked for (clamped),
/// items only where the page is not past the end, and 422 naming `page` for what is
/// not a number.
async fn check_list(b: &Browser, list: &str) {
    for (raw, want) in PAGES {
        let path = format!("{list}page={raw}");
        let (status, body) = answer(b, &path, true).await;
        assert!(status < 500, "{path}: {status} {body}");
        match want {
            Some(page) => {
                assert_eq!(status, 200, "{path}: {body}");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                // `/api/links/responses` answers (card, page).
                let p = if v.is_array() { &v[1] } else { &v };
                assert_eq!(p["page"], *page, "{path}");
                let total = p["total"].as_u64().unwrap();
                let per_page = p["per_page"].as_u64().unwrap();
                let items = p["items"].as_array().unwrap().len() as u64;
                let before = (page - 1) * per_page;
                assert_eq!(items, total.saturating_sub(before).min(per_page), "{path}");
            }
            None => {
                assert_eq!(status, 422, "{path}: {body}");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["error"]["code"], "validation", "{path}");
                assert!(
                    v["error"]["message"].as_str().unwrap().contains("page"),
                    "{path}: {body}"
                );
            }
        }
    }
}

/// Every page value on a page of the site: it always renders.
async fn check_page(b: &Browser, page: &str) {
    for (raw, _) in PAGES {
        let path = format!("{page}page={raw}");
        let (status, body) = answer(b, &path, false).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("</html>"), "{path} renders whole");
    }
}

db_test!(absurd_pages_never_break_a_list, |app| {
    let admin = app.admin("boss@example.com").await;
    let member = app.member("member@example.com").await;
    let mine = json(member.get_json("/api/links/mine").await).await;
    let code = mine["links"][0]["code"].as_str().unwrap().to_string();
    // A click, a tracked landing, a referrer code and a conversion: every list has rows.
    let visitor = app.browser();
    assert_eq!(visitor.get(&format!("/r/{code}?utm_source=news")).await.status(), 302);
    assert_eq!(
        app.browser().get("/?utm_source=google&ref=partner-blog").await.status(),
        200
    );
    let api = Api::new(&app).await;
    let cookie = visitor.cookie("tributary_id").unwrap();
    let res = api
        .post(
            "/conversions",
            json!({"event": "purchase", "value": "10.00", "currency": "EUR", "visitor_id": cookie}),
        )
        .await;
    assert_eq!(res.status(), 201);

    for list in [
        "/api/admin/users?",
        "/api/admin/links?",
        "/api/admin/responses?",
        "/api/admin/referrers?",
        "/api/admin/conversions?",
        "/api/admin/touchpoints?",
        "/api/admin/attribution/drill?params[range]=30d&key=referral&",
    ] {
        check_list(&admin, list).await;
    }
    check_list(&member, &format!("/api/links/responses?code={code}&")).await;

    for page in [
        "/admin/users?",
        "/admin/links?",
        "/admin/responses?",
        "/admin/referrers?",
        "/admin/conversions?",
        "/admin/touchpoints?",
        "/admin/attribution/drill?key=referral&",
    ] {
        check_page(&admin, page).await;
    }
    check_page(&member, &format!("/links/{code}?")).await;
    // Past the end, "Previous" leads to the last page (both users fit on the first).
    let (_, body) = answer(&admin, "/admin/users?page=18446744073709551615", false).await;
    assert!(body.contains("Page 1000000000 of 1"), "{body}");
    assert!(body.contains(r#"href="/admin/users?page=1""#), "{body}");

    // Exports are not paged: a page number changes nothing.
    for raw in ["18446744073709551615", "abc"] {
        let (status, body) = answer(&admin, &format!("/admin/export/users.csv?page={raw}"), false).await;
        assert_eq!(status, 200);
        assert_eq!(body.lines().count(), 3, "a header and both users: {body}");
    }
});

db_test!(absurd_limits_and_cursors_are_refused_by_the_api, |app| {
    let api = Api::new(&app).await;
    for i in 0..3 {
        let res = api
            .post(
                "/conversions",
                json!({"event": "a", "occurred_at": format!("2026-03-0{}T10:00:00Z", i + 1)}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let get = |path: String| {
        let client = api.client.clone();
        let (base, key) = (api.base.clone(), api.key.clone());
        async move {
            let res = client
                .get(format!("{base}/api/v1{path}"))
                .bearer_auth(key)
                .timeout(TIMEOUT)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{path} did not answer: {e}"));
            let status = res.status().as_u16();
            (status, json(res).await)
        }
    };
    for limit in [
        "0",
        "501",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999999999",
        "1e3",
        "abc",
        "%00",
    ] {
        let (status, v) = get(format!("/conversions?limit={limit}")).await;
        assert_eq!(status, 422, "limit={limit}: {v}");
        assert_eq!(v["error"]["field"], "limit", "limit={limit}");
    }
    for (limit, n) in [("1", 1), ("500", 3), ("", 3)] {
        let (status, v) = get(format!("/conversions?limit={limit}")).await;
        assert_eq!(status, 200, "limit={limit}: {v}");
        assert_eq!(v["items"].as_array().unwrap().len(), n, "limit={limit}");
    }
    for cursor in [
        "99999999999999999999.1",
        "1.99999999999999999999",
        "-.-",
        "18446744073709551616.18446744073709551616",
        "%00",
    ] {
        let (status, v) = get(format!("/conversions?cursor={cursor}")).await;
        assert_eq!(status, 422, "cursor={cursor}: {v}");
        assert_eq!(v["error"]["field"], "cursor", "cursor={cursor}");
    }
    for cursor in [
        "9223372036854775807.9223372036854775807",
        "-9223372036854775808.-9223372036854775808",
    ] {
        let (status, v) = get(format!("/conversions?cursor={cursor}")).await;
        assert_eq!(status, 200, "cursor={cursor}: {v}");
    }
});
