//! The marketer dashboards against a small hand-built data set with known answers:
//! overview, explorer (every model), campaigns, leaderboards, CSV exports, a
//! daylight-saving day, and the admin-only guard on every page, function and export.

use crate::db_test;
use crate::helpers::*;
use sea_orm::{ConnectionTrait, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;

const RANGE: &str = "range=custom&from=2026-06-08&to=2026-06-14";

/// Milliseconds of a UTC time written `2026-06-10 12:00`.
fn at(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

async fn insert(app: &TestApp, sql: &str, values: Vec<Value>) -> i64 {
    let db = &app.state.db.write;
    let sql = format!("{sql} RETURNING id");
    let row = db
        .query_one(app::server::sql::stmt(db.get_database_backend(), &sql, values))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "id").unwrap()
}

async fn user(app: &TestApp, email: &str, created: i64, referred_by: Option<i64>) -> i64 {
    insert(
        app,
        "INSERT INTO users (email, display_name, password_hash, role, active, auth_epoch, created_at, referred_by_link_id) \
         VALUES (?, ?, 'not-a-hash', 'member', TRUE, 0, ?, ?)",
        vec![email.into(), email.into(), created.into(), referred_by.into()],
    )
    .await
}

async fn link(app: &TestApp, code: &str, owner: Option<i64>, campaign: Option<i64>) -> i64 {
    insert(
        app,
        "INSERT INTO links (code, code_key, owner_id, label, destination, active, campaign_id, is_personal, auto_created, created_at, updated_at) \
         VALUES (?, ?, ?, ?, '/', TRUE, ?, FALSE, FALSE, ?, ?)",
        vec![
            code.into(),
            code.to_lowercase().into(),
            owner.into(),
            code.into(),
            campaign.into(),
            at("2026-05-01 00:00").into(),
            at("2026-05-01 00:00").into(),
        ],
    )
    .await
}

async fn response(app: &TestApp, link: i64, identity: Option<i64>, action: &str, when: i64) {
    insert(
        app,
        "INSERT INTO responses (public_id, link_id, identity_id, action, created_at) VALUES (?, ?, ?, ?, ?)",
        vec![
            hex::encode(rand::random::<[u8; 16]>()).into(),
            link.into(),
            identity.into(),
            action.into(),
            when.into(),
        ],
    )
    .await;
}

async fn identity(app: &TestApp) -> i64 {
    app::server::tracking::identity::create(&app.state.db.write, None)
        .await
        .unwrap()
        .id
}

async fn touch(app: &TestApp, identity: i64, when: i64, source: &str, link: Option<i64>) -> i64 {
    insert(
        app,
        "INSERT INTO touchpoints (identity_id, created_at, link_id, path, utm_source, utm_medium, utm_campaign, source, medium, channel, fingerprint) \
         VALUES (?, ?, ?, '/', ?, 'test', ?, ?, 'test', 'other', 0)",
        vec![
            identity.into(),
            when.into(),
            link.into(),
            source.into(),
            format!("camp-{source}").into(),
            source.to_lowercase().into(),
        ],
    )
    .await
}

async fn conversion(
    app: &TestApp,
    identity: i64,
    when: i64,
    minor: i64,
    currency: &str,
    active: bool,
    confirmed: bool,
) -> i64 {
    insert(
        app,
        "INSERT INTO conversions (identity_id, event, value_minor, currency, custom_data, confirmed, active, occurred_at, created_at) \
         VALUES (?, 'purchase', ?, ?, '{}', ?, ?, ?, ?)",
        vec![
            identity.into(),
            minor.into(),
            currency.into(),
            confirmed.into(),
            active.into(),
            when.into(),
            when.into(),
        ],
    )
    .await
}

/// The data set. Range: 2026-06-08..14 (UTC); the previous period is 2026-06-01..07.
///
/// | identity | touches                                                      | conversion                 |
/// |----------|--------------------------------------------------------------|----------------------------|
/// | i1       | google 06-09 09:00, facebook 06-09 18:00, referral SPR-A 06-10 09:00 | c1 06-10 12:00, 100 EUR |
/// | i2       | newsletter 06-11 08:00, referral BOB1 06-12 08:00            | c2 06-12 20:00, 50 EUR     |
/// | i3       | google 06-13 10:00                                           | c3 06-13 11:00, 20 USD; a cancelled one |
/// | i4       | google 06-02 (previous period)                               | c4 06-03, 10 EUR           |
/// | i5       | `=HYPERLINK(...)` 06-14 10:00                                | a pending one              |
struct Data {
    c1: i64,
    c2: i64,
}

const EVIL: &str = "=HYPERLINK(\"http://evil.test\",\"x\")";

async fn build(app: &TestApp) -> Data {
    let spring = insert(
        app,
        "INSERT INTO campaigns (name, name_key, description, pattern, pattern_kind, active, created_at) \
         VALUES ('Spring', 'spring', '', 'SPR', 'prefix', TRUE, ?)",
        vec![at("2026-05-01 00:00").into()],
    )
    .await;
    let alice = user(app, "alice@example.com", at("2026-05-01 00:00"), None).await;
    let bob = user(app, "bob@example.com", at("2026-05-01 00:00"), None).await;
    let spr_a = link(app, "SPR-A", Some(alice), Some(spring)).await;
    let bob1 = link(app, "BOB1", Some(bob), None).await;
    link(app, "SPR-X", None, Some(spring)).await;
    for (email, when, l) in [
        ("u1@example.com", "2026-06-09 10:00", spr_a),
        ("u2@example.com", "2026-06-10 10:00", spr_a),
        ("u3@example.com", "2026-06-12 10:00", bob1),
        ("u4@example.com", "2026-06-03 10:00", bob1),
    ] {
        user(app, email, at(when), Some(l)).await;
        response(app, l, None, "SIGNED_UP", at(when)).await;
    }
    let i1 = identity(app).await;
    let i2 = identity(app).await;
    let i3 = identity(app).await;
    let i4 = identity(app).await;
    let i5 = identity(app).await;
    response(app, spr_a, Some(i1), "RESPONDED", at("2026-06-10 09:00")).await;
    response(app, spr_a, None, "RESPONDED", at("2026-06-10 09:30")).await;
    response(app, bob1, Some(i2), "RESPONDED", at("2026-06-12 08:00")).await;
    response(app, bob1, None, "RESPONDED", at("2026-06-02 08:00")).await;
    touch(app, i1, at("2026-06-09 09:00"), "google", None).await;
    touch(app, i1, at("2026-06-09 18:00"), "facebook", None).await;
    touch(app, i1, at("2026-06-10 09:00"), "referral", Some(spr_a)).await;
    touch(app, i2, at("2026-06-11 08:00"), "newsletter", None).await;
    touch(app, i2, at("2026-06-12 08:00"), "referral", Some(bob1)).await;
    touch(app, i3, at("2026-06-13 10:00"), "google", None).await;
    touch(app, i4, at("2026-06-02 10:00"), "google", None).await;
    touch(app, i5, at("2026-06-14 10:00"), EVIL, None).await;
    let c1 = conversion(app, i1, at("2026-06-10 12:00"), 10_000, "EUR", true, true).await;
    let c2 = conversion(app, i2, at("2026-06-12 20:00"), 5_000, "EUR", true, true).await;
    conversion(app, i3, at("2026-06-13 11:00"), 2_000, "USD", true, true).await;
    conversion(app, i3, at("2026-06-13 12:00"), 9_900, "EUR", false, true).await;
    conversion(app, i4, at("2026-06-03 10:00"), 1_000, "EUR", true, true).await;
    conversion(app, i5, at("2026-06-14 12:00"), 500, "EUR", true, false).await;
    app::server::attribution::rollup::refresh(&app.state.db.write, app::server::attribution::rollup::Scope::All)
        .await
        .unwrap();
    Data { c1, c2 }
}

fn kpi(o: &Json, key: &str) -> (String, String, Option<f64>) {
    let k = o["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == key)
        .unwrap_or_else(|| panic!("no KPI {key}"));
    (
        k["current"].as_str().unwrap().to_string(),
        k["previous"].as_str().unwrap().to_string(),
        k["change_pct"].as_f64(),
    )
}

fn top(o: &Json, dim: &str, by: &str) -> Vec<(String, i64)> {
    o["tops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["dimension"] == dim)
        .unwrap()[by]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["conversions"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn series(chart: &Json, name: &str) -> Vec<f64> {
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Parses a CSV body into its header and rows.
async fn csv_of(res: reqwest::Response) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"),
        "a CSV answer"
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "a download"
    );
    let body = res.text().await.unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

db_test!(the_overview_counts_the_hand_built_data, |app| {
    build(&app).await;
    let admin = app.admin("boss@example.com").await;
    let o = json(admin.get_json(&format!("/api/admin/overview?{RANGE}")).await).await;
    assert_eq!(kpi(&o, "identities"), ("4".into(), "1".into(), Some(300.0)));
    assert_eq!(kpi(&o, "touchpoints"), ("7".into(), "1".into(), Some(600.0)));
    assert_eq!(kpi(&o, "clicks"), ("3".into(), "1".into(), Some(200.0)));
    assert_eq!(kpi(&o, "signups"), ("3".into(), "1".into(), Some(200.0)));
    assert_eq!(kpi(&o, "conversions"), ("3".into(), "1".into(), Some(200.0)));
    assert_eq!(kpi(&o, "revenue_EUR"), ("150.00".into(), "10.00".into(), Some(1400.0)));
    assert_eq!(kpi(&o, "revenue_USD"), ("20.00".into(), "0.00".into(), None));
    // One point per day, empty days as zero.
    let chart = &o["chart"];
    assert_eq!(chart["labels"].as_array().unwrap().len(), 7);
    assert_eq!(series(chart, "Touchpoints"), vec![0.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(series(chart, "Sign-ups"), vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(series(chart, "Conversions"), vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
    // Top tables: last touch over the default window.
    assert_eq!(
        top(&o, "source", "by_conversions"),
        vec![("referral".into(), 2), ("google".into(), 1)]
    );
    assert_eq!(
        top(&o, "source", "by_value"),
        vec![("referral".into(), 2)],
        "ranked by value in EUR"
    );
    assert_eq!(top(&o, "campaign", "by_conversions"), vec![("Spring".into(), 1)]);
    assert_eq!(
        top(&o, "link", "by_value"),
        vec![("SPR-A".into(), 1), ("BOB1".into(), 1)]
    );
    assert_eq!(
        top(&o, "referring_user", "by_conversions"),
        vec![("alice@example.com".into(), 1), ("bob@example.com".into(), 1)]
    );
    // The page renders the same numbers, and one chart point per day and series.
    let page = admin.get(&format!("/admin?{RANGE}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let chart_html = &html[html.find("id=\"activity-chart\"").expect("the overview chart")..];
    let chart_html = &chart_html[..chart_html.find("</svg>").unwrap()];
    assert_eq!(chart_html.matches("class=\"point\"").count(), 21);
    assert!(html.contains("150.00"), "the EUR revenue is on the page");
    // An hourly chart for two days or less.
    let h = json(
        admin
            .get_json("/api/admin/overview?range=custom&from=2026-06-09&to=2026-06-10")
            .await,
    )
    .await;
    let touches = series(&h["chart"], "Touchpoints");
    assert_eq!(touches.len(), 48);
    assert_eq!((touches[9], touches[18], touches[24 + 9]), (1.0, 1.0, 1.0));
    assert_eq!(touches.iter().sum::<f64>(), 3.0);
    // Top-table CSV matches the table.
    let (header, rows) = csv_of(admin.get(&format!("/admin/export/top-source.csv?{RANGE}")).await).await;
    assert_eq!(header, ["source", "conversions", "value_EUR", "value_USD"]);
    assert_eq!(rows, [["referral", "2", "150.00", ""], ["google", "1", "", "20.00"]]);
});

db_test!(
    a_daylight_saving_day_has_23_hours_and_days_keep_their_touches,
    config = |c: &mut app::server::config::Config| c.timezone = "Europe/Berlin".parse().unwrap(),
    |app| {
        // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin (UTC+1 → UTC+2).
        let i = identity(&app).await;
        for utc in [
            "2026-03-28 22:30", // 23:30 on the 28th, local
            "2026-03-28 23:30", // 00:30 on the 29th
            "2026-03-29 00:30", // 01:30
            "2026-03-29 01:30", // 03:30 (summer time)
            "2026-03-29 21:30", // 23:30 on the 29th
            "2026-03-29 22:30", // 00:30 on the 30th
        ] {
            touch(&app, i, at(utc), "google", None).await;
        }
        let admin = app.admin("boss@example.com").await;
        let day = json(
            admin
                .get_json("/api/admin/overview?range=custom&from=2026-03-29&to=2026-03-29")
                .await,
        )
        .await;
        let labels: Vec<&str> = day["chart"]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(labels.len(), 23, "the day has 23 hours: {labels:?}");
        assert!(
            !labels.iter().any(|l| l.ends_with("02:00")),
            "02:00 does not exist: {labels:?}"
        );
        let hours = series(&day["chart"], "Touchpoints");
        assert_eq!(hours.iter().sum::<f64>(), 4.0);
        assert_eq!((hours[0], hours[1], hours[2], hours[22]), (1.0, 1.0, 1.0, 1.0));
        assert_eq!(kpi(&day, "touchpoints").0, "4");
        let week = json(
            admin
                .get_json("/api/admin/overview?range=custom&from=2026-03-28&to=2026-03-30")
                .await,
        )
        .await;
        assert_eq!(series(&week["chart"], "Touchpoints"), vec![1.0, 4.0, 1.0]);
    }
);

/// A report from the explorer's server function: group → credited conversions.
async fn explore(admin: &Browser, model: &str, group: &str) -> BTreeMap<String, f64> {
    let res = admin
        .get_json(&format!(
            "/api/admin/attribution?params[model]={model}&params[group_by]={group}&params[range]=custom&params[from]=2026-06-08&params[to]=2026-06-14"
        ))
        .await;
    assert_eq!(res.status(), 200, "{model} by {group}");
    json(res).await["report"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["conversions"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_close(got: &BTreeMap<String, f64>, want: &[(&str, f64)], what: &str) {
    let want: BTreeMap<String, f64> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: {got:?}"
    );
    for (k, v) in &want {
        assert!((got[k] - v).abs() < 1e-6, "{what}: {k} is {} not {v}", got[k]);
    }
}

/// Time-decay weights (half-life 7 days) of touches `ages` hours before a conversion.
fn decay(ages: &[f64]) -> Vec<f64> {
    let w: Vec<f64> = ages.iter().map(|a| 0.5f64.powf(a / (7.0 * 24.0))).collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|x| x / sum).collect()
}

db_test!(the_explorer_credits_every_model, |app| {
    let data = build(&app).await;
    let admin = app.admin("boss@example.com").await;
    let third = 1.0 / 3.0;
    assert_close(
        &explore(&admin, "last_touch", "source").await,
        &[("referral", 2.0), ("google", 1.0)],
        "last touch",
    );
    assert_close(
        &explore(&admin, "first_touch", "source").await,
        &[("google", 2.0), ("newsletter", 1.0)],
        "first touch",
    );
    assert_close(
        &explore(&admin, "linear", "source").await,
        &[
            ("google", 1.0 + third),
            ("facebook", third),
            ("referral", third + 0.5),
            ("newsletter", 0.5),
        ],
        "linear",
    );
    assert_close(
        &explore(&admin, "position_based", "source").await,
        &[
            ("google", 1.4),
            ("facebook", 0.2),
            ("referral", 0.9),
            ("newsletter", 0.5),
        ],
        "position based",
    );
    let c1 = decay(&[27.0, 18.0, 3.0]);
    let c2 = decay(&[36.0, 12.0]);
    assert_close(
        &explore(&admin, "time_decay", "source").await,
        &[
            ("google", c1[0] + 1.0),
            ("facebook", c1[1]),
            ("referral", c1[2] + c2[1]),
            ("newsletter", c2[0]),
        ],
        "time decay",
    );
    // Other groupings.
    assert_close(
        &explore(&admin, "last_touch", "link").await,
        &[("SPR-A", 1.0), ("BOB1", 1.0), ("(no link)", 1.0)],
        "by link",
    );
    assert_close(
        &explore(&admin, "linear", "referring_user").await,
        &[
            ("alice@example.com", third),
            ("bob@example.com", 0.5),
            ("(no referring user)", 3.0 - third - 0.5),
        ],
        "by referring user",
    );
    assert_close(
        &explore(&admin, "last_touch", "campaign").await,
        &[("Spring", 1.0), ("(no campaign)", 2.0)],
        "by campaign",
    );
    assert_close(
        &explore(&admin, "first_touch", "utm_campaign").await,
        &[("camp-google", 2.0), ("camp-newsletter", 1.0)],
        "by utm_campaign",
    );
    // Compare: all five models, each column equal to that model's report.
    let cmp = json(
        admin
            .get_json(
                "/api/admin/attribution/compare?params[group_by]=source&params[range]=custom&params[from]=2026-06-08&params[to]=2026-06-14",
            )
            .await,
    )
    .await;
    let models: Vec<String> = cmp["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(models.len(), 5, "{cmp}");
    for (i, m) in models.iter().enumerate() {
        let report = explore(&admin, m, "source").await;
        let column: BTreeMap<String, f64> = cmp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["conversions"][i].as_f64().unwrap(),
                )
            })
            .filter(|(_, v)| *v > 0.0)
            .collect();
        let want: Vec<(&str, f64)> = report.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_close(&column, &want, &format!("compare column {m}"));
    }
    // Drill down: the conversions behind a group, with their shares; then an explanation.
    let drill = json(
        admin
            .get_json(
                "/api/admin/attribution/drill?params[model]=linear&params[group_by]=source&params[range]=custom&params[from]=2026-06-08&params[to]=2026-06-14&key=referral",
            )
            .await,
    )
    .await;
    let shares: BTreeMap<String, f64> = drill["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["conversion"]["id"].as_str().unwrap().to_string(),
                r["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_close(
        &shares,
        &[
            (data.c1.to_string().as_str(), third),
            (data.c2.to_string().as_str(), 0.5),
        ],
        "drill",
    );
    let ex = json(
        admin
            .get_json(&format!(
                "/api/admin/conversion/explain?id={}&params[model]=position_based",
                data.c1
            ))
            .await,
    )
    .await;
    let weights: Vec<(String, String, f64)> = ex["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["source"].as_str().unwrap().to_string(),
                t["verdict"].as_str().unwrap().to_string(),
                t["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("google".to_string(), "credited".to_string(), 0.4),
            ("facebook".into(), "credited".into(), 0.2),
            ("referral".into(), "credited".into(), 0.4),
        ]
    );
    // The explanation page and the drill page render.
    let page = admin
        .get(&format!("/admin/conversions/{}?model=position_based", data.c1))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("facebook") && html.contains("0.2"),
        "the explanation lists every touch"
    );
    // The explorer CSV equals the explorer table; compare CSV has a column per model.
    let (header, rows) = csv_of(
        admin
            .get(&format!(
                "/admin/export/attribution.csv?model=linear&group_by=source&{RANGE}"
            ))
            .await,
    )
    .await;
    assert_eq!(header, ["source", "conversions", "value_EUR", "value_USD"]);
    let from_csv: BTreeMap<String, f64> = rows.iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    let want = explore(&admin, "linear", "source").await;
    let want: Vec<(&str, f64)> = want.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_close(&from_csv, &want, "attribution.csv");
    let google = rows.iter().find(|r| r[0] == "google").unwrap();
    assert_eq!(
        (google[2].as_str(), google[3].as_str()),
        ("33.33", "20.00"),
        "value shares"
    );
    let (header, rows) = csv_of(
        admin
            .get(&format!("/admin/export/compare.csv?group_by=source&{RANGE}"))
            .await,
    )
    .await;
    assert_eq!(header.len(), 6, "{header:?}");
    assert_eq!(rows.len(), 4);
    let (header, rows) = csv_of(
        admin
            .get(&format!(
                "/admin/export/drill.csv?model=linear&group_by=source&key=referral&{RANGE}"
            ))
            .await,
    )
    .await;
    assert_eq!(header[0], "conversion_id");
    assert_eq!(rows.len(), 2);
    // Bad parameters are refused with a clear error.
    let bad = admin
        .get_json("/api/admin/attribution?params[model]=astrology&params[group_by]=source")
        .await;
    assert_eq!(bad.status(), 422);
    assert!(json(bad).await["error"]["message"].as_str().unwrap().contains("model"));
    let bad = admin
        .get(&format!(
            "/admin/export/attribution.csv?model=linear&group_by=zodiac&{RANGE}"
        ))
        .await;
    assert_eq!(bad.status(), 422);
});

db_test!(campaigns_and_leaderboards_count_the_hand_built_data, |app| {
    build(&app).await;
    let admin = app.admin("boss@example.com").await;
    let perf = json(
        admin
            .get_json(&format!("/api/admin/campaigns/performance?{RANGE}"))
            .await,
    )
    .await;
    let spring = &perf["campaigns"][0];
    assert_eq!(spring["campaign"]["name"], "Spring");
    assert_eq!(
        (
            spring["campaign"]["codes"].as_i64(),
            spring["campaign"]["clicks"].as_i64(),
            spring["campaign"]["signups"].as_i64(),
            spring["campaign"]["unique_visitors"].as_i64(),
            spring["conversions"].as_i64()
        ),
        (Some(2), Some(2), Some(2), Some(2), Some(1))
    );
    assert_eq!(spring["value"]["EUR"], "100.00");
    assert_eq!(
        spring["sparkline"],
        serde_json::json!([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    );
    let id = spring["campaign"]["id"].as_str().unwrap().to_string();
    let page = json(
        admin
            .get_json(&format!("/api/admin/campaigns/page?id={id}&{RANGE}"))
            .await,
    )
    .await;
    assert_eq!(page["codes"][0]["code"], "SPR-A", "ranked by sign-ups");
    assert_eq!(page["codes"][0]["signups"], 2);
    assert_eq!(
        series(&page["chart"], "Clicks"),
        vec![0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        series(&page["chart"], "Sign-ups"),
        vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
    let (header, rows) = csv_of(admin.get(&format!("/admin/export/campaigns.csv?{RANGE}")).await).await;
    assert_eq!(
        header,
        [
            "campaign",
            "pattern",
            "pattern_kind",
            "codes",
            "clicks",
            "signups",
            "unique_visitors",
            "conversions",
            "value_EUR"
        ]
    );
    assert_eq!(rows, [["Spring", "SPR", "prefix", "2", "2", "2", "2", "1", "100.00"]]);

    let board = json(admin.get_json(&format!("/api/admin/leaderboard?{RANGE}")).await).await;
    let names = |k: &str| -> Vec<(String, i64, i64)> {
        board[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["signups"].as_i64().unwrap(),
                    r["conversions"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        names("users_by_signups"),
        [
            ("alice@example.com".to_string(), 2, 1),
            ("bob@example.com".into(), 1, 1)
        ]
    );
    assert_eq!(
        names("links_by_value"),
        [("SPR-A".to_string(), 2, 1), ("BOB1".into(), 1, 1)]
    );
    assert_eq!(board["links_by_value"][0]["value"]["EUR"], "100.00");
    let (header, rows) = csv_of(admin.get(&format!("/admin/export/leaderboard-users.csv?{RANGE}")).await).await;
    assert_eq!(header, ["name", "signups", "conversions", "value_EUR"]);
    assert_eq!(
        rows,
        [
            ["alice@example.com", "2", "1", "100.00"],
            ["bob@example.com", "1", "1", "50.00"]
        ]
    );
    // A referring user's page: links, referred users, credited conversions.
    let alice_id = board["users_by_signups"][0]["id"].as_str().unwrap().to_string();
    let detail = json(admin.get_json(&format!("/api/admin/user?id={alice_id}")).await).await;
    assert_eq!(detail["links"][0]["code"], "SPR-A");
    assert_eq!(detail["referred"].as_array().unwrap().len(), 2);
    assert_eq!(detail["credited_total"], 1);
    assert_eq!(detail["credited_value"]["EUR"], "100.00");
    let html = admin
        .get(&format!("/admin/users/{alice_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("u1@example.com") && html.contains("u2@example.com"));
    let html = admin
        .get(&format!("/admin/leaderboard?{RANGE}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("alice@example.com"));
    assert_eq!(admin.get_json("/api/admin/user?id=999999").await.status(), 404);
});

db_test!(exports_match_the_tables_and_neutralise_formulas, |app| {
    build(&app).await;
    let admin = app.admin("boss@example.com").await;
    // Touchpoints: a stranger's UTM value does not become a formula.
    let (header, rows) = csv_of(
        admin
            .get("/admin/export/touchpoints.csv?from=2026-06-01&to=2026-06-30")
            .await,
    )
    .await;
    assert_eq!(header[..4], ["id", "at", "identity_id", "source"]);
    assert_eq!(rows.len(), 8);
    let evil = rows.iter().find(|r| r[6].contains("HYPERLINK")).expect("the evil row");
    assert_eq!(evil[6], format!("'{EVIL}"), "utm_source is neutralised");
    assert_eq!(evil[3], format!("'{}", EVIL.to_lowercase()), "so is the derived source");
    let (_, rows) = csv_of(admin.get("/admin/export/touchpoints.csv?utm_source=google").await).await;
    assert_eq!(rows.len(), 3, "filtered like the page: {rows:?}");
    // Conversions: same rows as the admin list, newest first, with status and last touch.
    let list = json(admin.get_json("/api/admin/conversions").await).await;
    let (header, rows) = csv_of(admin.get("/admin/export/conversions.csv").await).await;
    assert_eq!(header[0], "id");
    assert_eq!(rows.len() as i64, list["total"].as_i64().unwrap());
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversion"]["id"].as_str().or(c["id"].as_str()).unwrap().to_string())
        .collect();
    assert_eq!(rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), ids);
    let statuses: Vec<&str> = rows.iter().map(|r| r[5].as_str()).collect();
    assert_eq!(statuses, ["pending", "cancelled", "valid", "valid", "valid", "valid"]);
    let (_, rows) = csv_of(admin.get("/admin/export/conversions.csv?source=referral").await).await;
    assert_eq!(rows.len(), 2, "filtered by last-touch source");
    // Links, referrers, responses, users.
    let (_, rows) = csv_of(admin.get("/admin/export/links.csv").await).await;
    assert_eq!(rows.len(), 4, "three, and the admin's personal link");
    let (_, rows) = csv_of(admin.get("/admin/export/links.csv?q=spr").await).await;
    let mut codes: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    codes.sort();
    assert_eq!(codes, ["SPR-A", "SPR-X"]);
    let (_, rows) = csv_of(admin.get("/admin/export/referrers.csv").await).await;
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["SPR-X"]);
    let (_, rows) = csv_of(admin.get("/admin/export/responses.csv?action=RESPONDED").await).await;
    assert_eq!(rows.len(), 4);
    let (header, rows) = csv_of(admin.get("/admin/export/users.csv?q=example.com").await).await;
    assert_eq!(header[1], "email");
    assert_eq!(rows.len(), 7, "alice, bob, u1..u4 and the admin");
    // Unknown tables and bad filters.
    assert_eq!(admin.get("/admin/export/passwords.csv").await.status(), 404);
    assert_eq!(admin.get("/admin/export/links").await.status(), 404);
    assert_eq!(
        admin.get("/admin/export/touchpoints.csv?from=yesterday").await.status(),
        422
    );
    assert_eq!(
        admin.get("/admin/export/top-source.csv?range=forever").await.status(),
        422
    );
});

db_test!(the_utm_builder_tags_links, |app| {
    build(&app).await;
    let admin = app.admin("boss@example.com").await;
    let res = json(
        admin
            .get_json("/api/admin/utm?destination=%2Fpricing&code=spr-a&utm_source=news+letter&utm_medium=email&utm_campaign=spring")
            .await,
    )
    .await;
    let url = res["url"].as_str().unwrap();
    assert!(url.contains("/r/SPR-A?"), "through the link: {url}");
    assert!(
        url.contains("utm_source=news+letter") || url.contains("utm_source=news%20letter"),
        "{url}"
    );
    assert!(url.contains("utm_campaign=spring"));
    assert!(res["qr_svg"].as_str().unwrap().starts_with("<svg") || res["qr_svg"].as_str().unwrap().contains("<svg"));
    // Following it lands on the tagged destination.
    let visitor = app.browser();
    let path = &url[url.find("/r/").unwrap()..];
    let hop = visitor.get(path).await;
    assert_eq!(hop.status(), 302);
    let to = hop.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/pricing", "the chosen page, not the link's own destination");
    let tagged = rows(
        &app,
        "SELECT t.utm_source, t.utm_campaign, l.code FROM touchpoints t JOIN links l ON l.id = t.link_id WHERE t.utm_campaign = 'spring'",
        vec![],
    )
    .await;
    assert_eq!(tagged.len(), 1, "the hop recorded the tags and the link");
    assert_eq!(
        (tagged[0]["utm_source"].as_str(), tagged[0]["code"].as_str()),
        (Some("news letter"), Some("SPR-A"))
    );
    // Without a code, the destination itself is tagged.
    let res = json(
        admin
            .get_json("/api/admin/utm?destination=%2Fpricing&utm_source=x")
            .await,
    )
    .await;
    assert!(res["url"].as_str().unwrap().ends_with("/pricing?utm_source=x"), "{res}");
    for (bad, field) in [
        ("destination=https%3A%2F%2Fevil.test%2F&utm_source=x", "destination"),
        ("destination=%2Fpricing&code=nope&utm_source=x", "code"),
        ("destination=%2Fpricing", "utm_source"),
    ] {
        let res = admin.get_json(&format!("/api/admin/utm?{bad}")).await;
        assert_eq!(res.status(), 422, "{bad}");
        assert_eq!(json(res).await["error"]["field"], field, "{bad}");
    }
});

db_test!(dashboards_are_for_admins_only, |app| {
    let data = build(&app).await;
    let member = app.member("member@example.com").await;
    let visitor = app.browser();
    let explorer = "params[model]=linear&params[group_by]=source";
    let functions = [
        format!("/api/admin/overview?{RANGE}"),
        format!("/api/admin/leaderboard?{RANGE}"),
        "/api/admin/user?id=1".to_string(),
        format!("/api/admin/campaigns/performance?{RANGE}"),
        "/api/admin/campaigns/page?id=1".to_string(),
        "/api/admin/utm?destination=%2F&utm_source=x".to_string(),
        format!("/api/admin/attribution?{explorer}"),
        format!("/api/admin/attribution/compare?{explorer}"),
        format!("/api/admin/attribution/drill?{explorer}&key=google"),
        format!("/api/admin/conversion/explain?id={}&{explorer}", data.c1),
    ];
    for f in &functions {
        assert_eq!(member.get_json(f).await.status(), 403, "{f}");
        assert_eq!(visitor.get_json(f).await.status(), 401, "{f}");
    }
    let pages = [
        "/admin".to_string(),
        format!("/admin?{RANGE}"),
        "/admin/attribution".to_string(),
        "/admin/attribution?view=compare".to_string(),
        "/admin/attribution/drill?key=google".to_string(),
        format!("/admin/conversions/{}", data.c1),
        "/admin/leaderboard".to_string(),
        "/admin/users/1".to_string(),
        "/admin/utm".to_string(),
        "/admin/campaigns".to_string(),
        "/admin/campaigns/1".to_string(),
    ];
    for p in &pages {
        let res = member.get(p).await;
        assert_eq!(res.status(), 403, "{p}");
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("alice@example.com") && !body.contains("150.00"),
            "{p} leaks nothing"
        );
        assert_eq!(visitor.get(p).await.status(), 303, "{p}");
    }
    for table in [
        "top-source",
        "top-campaign",
        "top-link",
        "top-referring_user",
        "attribution",
        "compare",
        "drill",
        "conversions",
        "touchpoints",
        "links",
        "referrers",
        "responses",
        "users",
        "campaigns",
        "leaderboard-users",
        "leaderboard-links",
    ] {
        let path = format!("/admin/export/{table}.csv");
        let res = member.get(&path).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(res.headers().get("content-disposition").is_none());
        assert!(!res.text().await.unwrap().contains("alice@"), "{path} leaks nothing");
        let res = visitor.get(&path).await;
        assert!(matches!(res.status().as_u16(), 401 | 303), "{path}: {}", res.status());
    }
});

/// The bundled SQLite is built as `.cargo/config.toml` asks: with math functions (time
/// decay in SQL), and with a page cache per connection (libsqlite3-sys turns on
/// SQLITE_ENABLE_MEMORY_MANAGEMENT, which makes every connection share one cache
/// behind one mutex).
#[tokio::test]
async fn the_bundled_sqlite_has_math_functions_and_a_page_cache_per_connection() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("options.db").display());
    let db = app::server::db::Database::connect(&url, 2).await.unwrap();
    let used = |option: &'static str| {
        let db = db.read.clone();
        async move {
            let row = db
                .query_one(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT sqlite_compileoption_used('{option}') AS used"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "used").unwrap()
        }
    };
    assert_eq!(used("ENABLE_MATH_FUNCTIONS").await, 1);
    assert_eq!(used("ENABLE_MEMORY_MANAGEMENT").await, 0);
    db.close().await;
}
