//! The attribution engine: models, windows, per-source windows, explanations, reports.
//! Times are relative to a conversion at T.

use crate::db_test;
use crate::helpers::*;
use app::server::attribution::{ConversionFilter, GroupBy, Model, Settings, engine, explain, reports};
use sea_orm::ConnectionTrait;
use serde_json::json;

const T: i64 = 1_781_524_800_000; // 2026-06-15T12:00:00Z
const DAY: i64 = 86_400_000;

struct Fixture<'a> {
    app: &'a TestApp,
}

impl Fixture<'_> {
    async fn identity(&self) -> i64 {
        app::server::tracking::identity::create(&self.app.state.db.write, None)
            .await
            .unwrap()
            .id
    }

    /// A touch of `source` at `at`; returns its id.
    async fn touch(&self, identity: i64, at: i64, source: &str) -> i64 {
        self.touch_with(identity, at, source, None).await
    }

    async fn touch_with(&self, identity: i64, at: i64, source: &str, link: Option<i64>) -> i64 {
        let db = &self.app.state.db.write;
        let row = db
            .query_one(app::server::sql::stmt(
                db.get_database_backend(),
                "INSERT INTO touchpoints (identity_id, created_at, link_id, path, utm_source, utm_campaign, source, medium, channel, fingerprint) \
                 VALUES (?, ?, ?, '/', ?, ?, ?, 'test', 'other', 0) RETURNING id",
                vec![identity.into(), at.into(), link.into(), source.into(), format!("camp-{source}").into(), source.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "id").unwrap()
    }

    async fn conversion(&self, identity: Option<i64>, at: i64, value: Option<i64>) -> i64 {
        self.conversion_full(identity, at, value, true, true).await
    }

    async fn conversion_full(
        &self,
        identity: Option<i64>,
        at: i64,
        value: Option<i64>,
        active: bool,
        confirmed: bool,
    ) -> i64 {
        let db = &self.app.state.db.write;
        let row = db
            .query_one(app::server::sql::stmt(
                db.get_database_backend(),
                "INSERT INTO conversions (identity_id, event, value_minor, currency, custom_data, confirmed, active, occurred_at, created_at) \
                 VALUES (?, 'purchase', ?, 'EUR', '{}', ?, ?, ?, ?) RETURNING id",
                vec![identity.into(), value.into(), confirmed.into(), active.into(), at.into(), at.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let id = row.try_get("", "id").unwrap();
        // As recording does: the conversion's last touch is rolled up.
        app::server::attribution::rollup::refresh(db, app::server::attribution::rollup::Scope::Conversion(id))
            .await
            .unwrap();
        id
    }

    /// Settings that search every conversion's candidates: the rollup of the last
    /// touch is left out (it is tested against the search below).
    fn settings(&self, model: &str, window: Option<&str>, sources: Option<&str>) -> Settings {
        let mut s = Settings::parse(&self.app.state.config, Some(model), window, sources, None).unwrap();
        s.rollup_window_days = 0;
        s
    }

    /// The credits of one conversion: (touch id, weight).
    async fn credits(&self, s: &Settings, conversion: i64) -> Vec<(i64, f64)> {
        engine::credits(&self.app.state.db.read, s, &[conversion], false)
            .await
            .unwrap()
            .remove(&conversion)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.touchpoint_id.parse().unwrap(), c.weight))
            .collect()
    }

    async fn report(&self, s: &Settings, group: GroupBy) -> Vec<(String, f64)> {
        let f = ConversionFilter {
            valid_only: true,
            ..Default::default()
        };
        reports::report(&self.app.state.db.read, s, &f, group)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| (r.key, r.conversions))
            .collect()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-5
}

db_test!(last_touch_picks_the_newest_candidate, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    f.touch(i, T - 20 * DAY, "a").await;
    f.touch(i, T - 10 * DAY, "b").await;
    let c5 = f.touch(i, T - 5 * DAY, "c").await;
    f.touch(i, T + DAY, "after").await;
    let conv = f.conversion(Some(i), T, Some(1000)).await;
    let s = f.settings("last_touch", None, None);
    assert_eq!(f.credits(&s, conv).await, vec![(c5, 1.0)]);
    assert_eq!(f.report(&s, GroupBy::Source).await, vec![("c".to_string(), 1.0)]);
});

db_test!(two_conversions_get_their_own_last_touches, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    let t15 = f.touch(i, T - 15 * DAY, "x").await;
    let t5 = f.touch(i, T - 5 * DAY, "y").await;
    let early = f.conversion(Some(i), T - 10 * DAY, None).await;
    let late = f.conversion(Some(i), T, None).await;
    let s = f.settings("last_touch", None, None);
    assert_eq!(f.credits(&s, early).await, vec![(t15, 1.0)]);
    assert_eq!(f.credits(&s, late).await, vec![(t5, 1.0)]);
});

db_test!(first_touch_picks_the_oldest_candidate_inside_the_window, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    f.touch(i, T - 40 * DAY, "too-old").await;
    let a = f.touch(i, T - 20 * DAY, "a").await;
    f.touch(i, T - 5 * DAY, "b").await;
    let conv = f.conversion(Some(i), T, None).await;
    assert_eq!(
        f.credits(&f.settings("first_touch", None, None), conv).await,
        vec![(a, 1.0)]
    );
});

db_test!(a_conversion_with_only_old_touches_has_empty_attribution, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    f.touch(i, T - 40 * DAY, "old").await;
    let conv = f.conversion(Some(i), T, Some(500)).await;
    f.conversion(None, T, Some(700)).await; // unattributed
    let s = f.settings("last_touch", None, None);
    assert!(f.credits(&s, conv).await.is_empty());
    let report = reports::report(
        &app.state.db.read,
        &s,
        &ConversionFilter {
            valid_only: true,
            ..Default::default()
        },
        GroupBy::Source,
    )
    .await
    .unwrap();
    assert_eq!(report.items.len(), 1);
    assert_eq!(report.items[0].key, "(none)");
    assert_eq!(report.items[0].conversions, 2.0);
    assert_eq!(report.items[0].value.get("EUR").map(String::as_str), Some("12.00"));
});

db_test!(window_lengths_decide_the_candidates, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    let a = f.touch(i, T - 3 * DAY, "a").await;
    let b = f.touch(i, T - 15 * DAY, "b").await;
    let c = f.touch(i, T - 45 * DAY, "c").await;
    let conv = f.conversion(Some(i), T, None).await;
    for (window, first, count) in [
        ("1", None, 0),
        ("7", Some(a), 1),
        ("30", Some(b), 2),
        ("60", Some(c), 3),
    ] {
        let credits = f.credits(&f.settings("first_touch", Some(window), None), conv).await;
        assert_eq!(credits.first().map(|c| c.0), first, "window {window}");
        let linear = f.credits(&f.settings("linear", Some(window), None), conv).await;
        assert_eq!(linear.len(), count, "window {window}");
    }
});

db_test!(the_window_start_is_inclusive_to_the_millisecond, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    let edge = f.touch(i, T - 30 * DAY, "edge").await;
    let conv = f.conversion(Some(i), T, None).await;
    assert_eq!(
        f.credits(&f.settings("last_touch", None, None), conv).await,
        vec![(edge, 1.0)],
        "exactly 30 days counts"
    );
    let j = f.identity().await;
    f.touch(j, T - 30 * DAY - 1000, "just-out").await;
    let y = f.touch(j, T - 10 * DAY, "inside").await;
    let conv2 = f.conversion(Some(j), T, None).await;
    assert_eq!(
        f.credits(&f.settings("first_touch", None, None), conv2).await,
        vec![(y, 1.0)],
        "30 days and 1 second does not"
    );
    let k = f.identity().await;
    f.touch(k, T - 30 * DAY - 1000, "just-out").await;
    let conv3 = f.conversion(Some(k), T, None).await;
    assert!(f.credits(&f.settings("last_touch", None, None), conv3).await.is_empty());
    // A touch at the very instant of the conversion does not count either.
    let m = f.identity().await;
    f.touch(m, T, "same-instant").await;
    let conv4 = f.conversion(Some(m), T, None).await;
    assert!(f.credits(&f.settings("last_touch", None, None), conv4).await.is_empty());
});

db_test!(per_source_windows_apply_to_touches_of_that_source, |app| {
    let f = Fixture { app: &app };
    // {google: 20, facebook: 40}: google -15d, facebook -25d, facebook -45d.
    let i = f.identity().await;
    let g = f.touch(i, T - 15 * DAY, "google").await;
    f.touch(i, T - 25 * DAY, "facebook").await;
    f.touch(i, T - 45 * DAY, "facebook").await;
    let c1 = f.conversion(Some(i), T, None).await;
    assert_eq!(
        f.credits(&f.settings("last_touch", None, Some("google:20,facebook:40")), c1)
            .await,
        vec![(g, 1.0)]
    );
    // {google: 10, facebook: 20, email: 15}: google -8d, facebook -18d, email -12d, google -12d.
    let j = f.identity().await;
    let g8 = f.touch(j, T - 8 * DAY, "google").await;
    f.touch(j, T - 18 * DAY, "facebook").await;
    f.touch(j, T - 12 * DAY, "email").await;
    f.touch(j, T - 12 * DAY, "google").await;
    let c2 = f.conversion(Some(j), T, None).await;
    let s2 = f.settings("last_touch", None, Some("google:10,facebook:20,email:15"));
    assert_eq!(f.credits(&s2, c2).await, vec![(g8, 1.0)]);
    let linear2 = f
        .credits(&f.settings("linear", None, Some("google:10,facebook:20,email:15")), c2)
        .await;
    assert_eq!(linear2.len(), 3, "google -12d is outside google's 10 days");
    // {google: 0, facebook: 15}: google -5d, facebook -10d, email -25d.
    let k = f.identity().await;
    f.touch(k, T - 5 * DAY, "google").await;
    let fb = f.touch(k, T - 10 * DAY, "facebook").await;
    let email = f.touch(k, T - 25 * DAY, "email").await;
    let c3 = f.conversion(Some(k), T, None).await;
    let s3 = f.settings("last_touch", None, Some("Google:0,facebook:15"));
    assert_eq!(
        f.credits(&s3, c3).await,
        vec![(fb, 1.0)],
        "a 0-day window excludes google; keys ignore case"
    );
    let first3 = f
        .credits(&f.settings("first_touch", None, Some("google:0,facebook:15")), c3)
        .await;
    assert_eq!(first3, vec![(email, 1.0)], "email keeps the default 30 days");
});

db_test!(
    linear_time_decay_and_position_based_weights_match_the_hand_computed_ones,
    |app| {
        let f = Fixture { app: &app };
        let i = f.identity().await;
        let ids = [
            f.touch(i, T - 12 * DAY, "a").await,
            f.touch(i, T - 6 * DAY, "b").await,
            f.touch(i, T - 3 * DAY, "c").await,
            f.touch(i, T - DAY, "d").await,
        ];
        let conv = f.conversion(Some(i), T, Some(10_000)).await;
        let cases: [(&str, Option<&str>, [f64; 4]); 4] = [
            ("linear", None, [0.25, 0.25, 0.25, 0.25]),
            ("position_based", None, [0.4, 0.1, 0.1, 0.4]),
            // 2^(-age/7) for ages 12, 6, 3, 1 days, normalised.
            ("time_decay", None, [0.121633, 0.220332, 0.296544, 0.361491]),
            // With a half-life of 3.5 days.
            ("time_decay", Some("3.5"), [0.052471, 0.172176, 0.311888, 0.463464]),
        ];
        for (model, half_life, want) in cases {
            let s = Settings::parse(&app.state.config, Some(model), None, None, half_life).unwrap();
            let got = f.credits(&s, conv).await;
            assert_eq!(got.iter().map(|c| c.0).collect::<Vec<_>>(), ids.to_vec(), "{model}");
            for ((_, w), expected) in got.iter().zip(want) {
                assert!(close(*w, expected), "{model} {half_life:?}: {got:?}");
            }
            let total: f64 = got.iter().map(|c| c.1).sum();
            assert!(close(total, 1.0), "{model}: weights sum to 1");
            // The report's value follows the weights: 100.00 EUR split the same way.
            let report = reports::report(
                &app.state.db.read,
                &s,
                &ConversionFilter {
                    valid_only: true,
                    ..Default::default()
                },
                GroupBy::Source,
            )
            .await
            .unwrap();
            let a = report.items.iter().find(|r| r.key == "a").unwrap();
            assert!(close(a.conversions, want[0]));
            assert_eq!(a.value["EUR"], format!("{:.2}", want[0] * 100.0), "{model}");
        }
        // Position based with two touches is 50/50, with one 100.
        let j = f.identity().await;
        f.touch(j, T - 2 * DAY, "x").await;
        f.touch(j, T - DAY, "y").await;
        let two = f.conversion(Some(j), T, None).await;
        let w: Vec<f64> = f
            .credits(&f.settings("position_based", None, None), two)
            .await
            .iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(w, vec![0.5, 0.5]);
        let k = f.identity().await;
        f.touch(k, T - DAY, "z").await;
        let one = f.conversion(Some(k), T, None).await;
        let w: Vec<f64> = f
            .credits(&f.settings("position_based", None, None), one)
            .await
            .iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(w, vec![1.0]);
    }
);

db_test!(ties_are_broken_by_touchpoint_id, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    let first = f.touch(i, T - 5 * DAY, "first-id").await;
    let second = f.touch(i, T - 5 * DAY, "second-id").await;
    assert!(first < second);
    let conv = f.conversion(Some(i), T, None).await;
    for _ in 0..3 {
        assert_eq!(
            f.credits(&f.settings("last_touch", None, None), conv).await,
            vec![(second, 1.0)]
        );
        assert_eq!(
            f.credits(&f.settings("first_touch", None, None), conv).await,
            vec![(first, 1.0)]
        );
    }
});

db_test!(touches_of_a_merged_identity_count, |app| {
    let f = Fixture { app: &app };
    let canonical = f.identity().await;
    let other = f.identity().await;
    let old_device = f.touch(other, T - 3 * DAY, "phone").await;
    let conv = f.conversion(Some(canonical), T, None).await;
    assert!(f.credits(&f.settings("last_touch", None, None), conv).await.is_empty());
    app::server::tracking::identity::merge(&app.state.db.write, other, canonical)
        .await
        .unwrap();
    assert_eq!(
        f.credits(&f.settings("last_touch", None, None), conv).await,
        vec![(old_device, 1.0)]
    );
    let e = explain::explain(&app.state.db.read, &f.settings("last_touch", None, None), conv)
        .await
        .unwrap();
    assert_eq!(e.merges.len(), 1);
    assert_eq!(e.merges[0].identity_id, other.to_string());
});

db_test!(invalid_conversions_are_excluded_by_default, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    f.touch(i, T - DAY, "src").await;
    f.conversion(Some(i), T, None).await;
    f.conversion_full(Some(i), T, None, false, true).await; // cancelled
    f.conversion_full(Some(i), T, None, true, false).await; // pending
    let s = f.settings("last_touch", None, None);
    assert_eq!(f.report(&s, GroupBy::Source).await, vec![("src".to_string(), 1.0)]);
    let all = reports::report(&app.state.db.read, &s, &ConversionFilter::default(), GroupBy::Source)
        .await
        .unwrap();
    assert_eq!(all.items[0].conversions, 3.0);
});

db_test!(a_referral_click_counts_under_the_referral_source, |app| {
    let owner = app.member("ref-src@example.com").await;
    let code = json(owner.get_json("/api/links/mine").await).await["links"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let v = app.browser();
    v.get(&format!("/r/{code}")).await;
    let api = Api::new(&app).await;
    let conv = json(
        api.post(
            "/conversions",
            json!({"event": "purchase", "value": "10.00", "visitor_id": v.cookie("tributary_id").unwrap()}),
        )
        .await,
    )
    .await;
    let id = conv["conversion"]["id"].as_str().unwrap().to_string();
    // (The owner's own sign-up is a conversion too: look at purchases.)
    let report = json(api.get("/attribution/report?group_by=source&event=purchase").await).await;
    assert_eq!(report["items"][0]["key"], "referral");
    let by_link = json(api.get("/attribution/report?group_by=link&event=purchase").await).await;
    assert_eq!(by_link["items"][0]["key"], code.as_str());
    let by_user = json(
        api.get("/attribution/report?group_by=referring_user&event=purchase")
            .await,
    )
    .await;
    assert_eq!(by_user["items"][0]["key"], "ref-src@example.com");
    // The referral key takes a per-source window: a 0-day one excludes the click.
    let excluded = json(
        api.get("/attribution/report?source_windows=referral:0&event=purchase")
            .await,
    )
    .await;
    assert_eq!(excluded["items"][0]["key"], "(none)");
    let explained = json(
        api.get(&format!("/conversions/{id}/explain?source_windows=Referral:0"))
            .await,
    )
    .await;
    assert_eq!(explained["touches"][0]["verdict"], "outside_window");
    assert_eq!(explained["touches"][0]["window"], json!({"kind": "source", "days": 0}));
});

db_test!(explanations_give_every_touch_its_verdict, |app| {
    let f = Fixture { app: &app };
    let k = f.identity().await;
    let google = f.touch(k, T - 5 * DAY, "google").await;
    let fb = f.touch(k, T - 10 * DAY, "facebook").await;
    let email = f.touch(k, T - 25 * DAY, "email").await;
    let ancient = f.touch(k, T - 90 * DAY, "ancient").await;
    let later = f.touch(k, T + 2 * DAY, "later").await;
    let conv = f.conversion(Some(k), T, None).await;
    let s = f.settings("last_touch", None, Some("google:0,facebook:15"));
    let e = explain::explain(&app.state.db.read, &s, conv).await.unwrap();
    let by_id = |id: i64| e.touches.iter().find(|t| t.id == id.to_string()).unwrap().clone();
    let ids: Vec<String> = e.touches.iter().map(|t| t.id.clone()).collect();
    assert_eq!(
        ids,
        [ancient, email, fb, google, later].map(|i| i.to_string()).to_vec(),
        "in time order"
    );
    assert_eq!(
        (
            by_id(google).verdict.as_str(),
            by_id(google).window.kind.as_str(),
            by_id(google).window.days
        ),
        ("outside_window", "source", 0)
    );
    assert_eq!((by_id(fb).verdict.as_str(), by_id(fb).weight), ("credited", 1.0));
    assert_eq!(
        (
            by_id(email).verdict.as_str(),
            by_id(email).weight,
            by_id(email).window.kind.as_str()
        ),
        ("credited", 0.0, "default")
    );
    assert_eq!(
        (by_id(ancient).verdict.as_str(), by_id(ancient).window.days),
        ("outside_window", 30)
    );
    assert_eq!(by_id(later).verdict, "after_conversion");
    let linear = explain::explain(
        &app.state.db.read,
        &f.settings("linear", None, Some("google:0,facebook:15")),
        conv,
    )
    .await
    .unwrap();
    let w: Vec<f64> = linear
        .touches
        .iter()
        .filter(|t| t.verdict == "credited")
        .map(|t| t.weight)
        .collect();
    assert_eq!(w, vec![0.5, 0.5]);
    assert!(explain::explain(&app.state.db.read, &s, 999_999).await.is_err());
});

db_test!(report_totals_equal_the_sum_of_credits, |app| {
    let f = Fixture { app: &app };
    let sources = ["google", "facebook", "email", "referral", "bing"];
    let mut conversions = Vec::new();
    for n in 0..12i64 {
        let i = f.identity().await;
        for k in 0..(n % 4) {
            f.touch(i, T - (k * 7 + n % 3 + 1) * DAY, sources[((n + k) % 5) as usize])
                .await;
        }
        conversions.push(f.conversion(Some(i), T, Some(1000 + n * 37)).await);
    }
    for model in Model::ALL {
        let s = f.settings(model.as_str(), None, Some("email:10"));
        let report = reports::report(
            &app.state.db.read,
            &s,
            &ConversionFilter {
                valid_only: true,
                ..Default::default()
            },
            GroupBy::Source,
        )
        .await
        .unwrap();
        let total: f64 = report.items.iter().map(|r| r.conversions).sum();
        assert!(close(total, 12.0), "{model:?}: {total}");
        let credits = engine::credits(&app.state.db.read, &s, &conversions, false)
            .await
            .unwrap();
        let mut by_source: std::collections::BTreeMap<String, f64> = Default::default();
        let mut credited = 0;
        for (_, list) in credits {
            if list.is_empty() {
                *by_source.entry("(none)".into()).or_default() += 1.0;
                continue;
            }
            credited += 1;
            let sum: f64 = list.iter().map(|c| c.weight).sum();
            assert!(close(sum, 1.0), "{model:?}: a conversion's weights sum to 1");
            for c in list {
                *by_source.entry(c.source).or_default() += c.weight;
            }
        }
        assert!(credited > 0);
        for row in &report.items {
            assert!(
                close(row.conversions, by_source[&row.key]),
                "{model:?} {}: {} vs {}",
                row.key,
                row.conversions,
                by_source[&row.key]
            );
        }
        let value: f64 = report
            .items
            .iter()
            .map(|r| r.value["EUR"].parse::<f64>().unwrap())
            .sum();
        let expected: f64 = (0..12).map(|n| (1000 + n * 37) as f64 / 100.0).sum();
        assert!(
            (value - expected).abs() < 0.06,
            "{model:?}: value {value} vs {expected} (cents rounded per group)"
        );
    }
});

db_test!(the_api_serves_reports_credits_and_explanations, |app| {
    let f = Fixture { app: &app };
    let i = f.identity().await;
    f.touch(i, T - 2 * DAY, "google").await;
    f.touch(i, T - DAY, "newsletter").await;
    let conv = f.conversion(Some(i), T, Some(4200)).await;
    let api = Api::new(&app).await;
    let report = json(
        api.get("/attribution/report?model=linear&group_by=source&from=2026-06-01&to=2026-06-30")
            .await,
    )
    .await;
    assert_eq!(
        report["metadata"],
        json!({"model": "linear", "window_days": 30, "source_windows": {}, "half_life_days": 7.0})
    );
    assert_eq!(report["items"].as_array().unwrap().len(), 2);
    assert_eq!(report["items"][0]["value"]["EUR"], "21.00");
    let outside = json(api.get("/attribution/report?from=2026-07-01").await).await;
    assert_eq!(outside["items"].as_array().unwrap().len(), 0);
    let list = json(api.get("/conversions?model=first_touch&source_windows=google:1").await).await;
    let item = &list["items"][0];
    assert_eq!(item["attribution"]["metadata"]["model"], "first_touch");
    assert_eq!(
        item["attribution"]["credits"][0]["source"], "newsletter",
        "google is outside its 1-day window"
    );
    assert_eq!(
        item["attribution"]["credits"][0]["params"]["utm_campaign"],
        "camp-newsletter"
    );
    let explained = json(api.get(&format!("/conversions/{conv}/explain?model=time_decay")).await).await;
    assert_eq!(explained["touches"].as_array().unwrap().len(), 2);
    assert_eq!(explained["metadata"]["model"], "time_decay");
    for bad in [
        "model=magic",
        "group_by=planet",
        "source_windows=google",
        "window_days=0",
        "half_life_days=-2",
        "valid=perhaps",
        "from=yesterday",
        "nope=1",
    ] {
        assert_eq!(
            api.get(&format!("/attribution/report?{bad}")).await.status(),
            422,
            "{bad}"
        );
    }
    assert_eq!(api.get("/conversions/999999/explain").await.status(), 404);
    assert_eq!(api.get("/conversions/abc/explain").await.status(), 404);
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(app.url("/api/v1/attribution/report"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
});

async fn rolled_up(app: &TestApp) -> Vec<(i64, Option<i64>, Option<String>)> {
    rows(
        app,
        "SELECT id, lt_touchpoint_id, lt_source FROM conversions ORDER BY id",
        vec![],
    )
    .await
    .into_iter()
    .map(|r| {
        (
            r["id"].as_i64().unwrap(),
            r["lt_touchpoint_id"].as_i64(),
            r["lt_source"].as_str().map(String::from),
        )
    })
    .collect()
}

async fn engine_last_touch(app: &TestApp, window: &str) -> Vec<(i64, Option<i64>, Option<String>)> {
    let ids: Vec<i64> = rolled_up(app).await.iter().map(|r| r.0).collect();
    let mut s = Settings::parse(&app.state.config, Some("last_touch"), Some(window), None, None).unwrap();
    // Search the candidates, rather than read the rollup under test.
    s.rollup_window_days = 0;
    let mut credits = engine::credits(&app.state.db.read, &s, &ids, false).await.unwrap();
    ids.into_iter()
        .map(|id| {
            let c = credits.remove(&id).unwrap_or_default().into_iter().next();
            (
                id,
                c.as_ref().map(|c| c.touchpoint_id.parse().unwrap()),
                c.map(|c| c.source),
            )
        })
        .collect()
}

db_test!(
    the_rolled_up_last_touch_matches_the_engine_through_merges_and_window_changes,
    |app| {
        let f = Fixture { app: &app };
        let api = Api::new(&app).await;
        let now = chrono::Utc::now().timestamp_millis();
        let mut identities = Vec::new();
        for n in 0..6i64 {
            let i = f.identity().await;
            for k in 0..n {
                f.touch(
                    i,
                    now - (k * 5 + 1 + n * 2) * DAY,
                    ["google", "email", "referral", "bing"][(k % 4) as usize],
                )
                .await;
            }
            identities.push(i);
        }
        let public: Vec<String> = {
            let mut v = Vec::new();
            for i in &identities {
                let r = rows(&app, "SELECT public_id FROM identities WHERE id = ?", vec![(*i).into()]).await;
                v.push(r[0]["public_id"].as_str().unwrap().to_string());
            }
            v
        };
        for (n, p) in public.iter().enumerate() {
            let at = chrono::DateTime::from_timestamp_millis(now - (n as i64 % 3) * DAY)
                .unwrap()
                .to_rfc3339();
            let res = api
                .post(
                    "/conversions",
                    json!({"event": "purchase", "value": "1.00", "visitor_id": p, "occurred_at": at}),
                )
                .await;
            assert_eq!(res.status(), 201);
        }
        assert_eq!(rolled_up(&app).await, engine_last_touch(&app, "30").await, "at insert");
        // A merge brings older touches to a conversion.
        app::server::tracking::identity::merge(&app.state.db.write, identities[5], identities[0])
            .await
            .unwrap();
        let after_merge = rolled_up(&app).await;
        assert!(
            after_merge[0].1.is_some(),
            "the merged identity's touches now credit its conversion"
        );
        assert_eq!(after_merge, engine_last_touch(&app, "30").await, "after a merge");
        // Another instance with a 7-day window recomputes every conversion at startup.
        let (_base, _state) = app.another_instance(|c| c.attribution.window_days = 7).await;
        let rolled = rolled_up(&app).await;
        assert_eq!(rolled, engine_last_touch(&app, "7").await, "after the window changed");
        assert_ne!(rolled, after_merge, "the shorter window changed some credits");
    }
);

db_test!(
    every_model_over_the_default_window_reads_the_rollup_and_agrees_with_the_search,
    |app| {
        let f = Fixture { app: &app };
        let db = &app.state.db.write;
        let sources = ["google", "facebook", "email", "referral", "bing"];
        for n in 0..10i64 {
            let i = f.identity().await;
            for k in 0..(n % 4) {
                f.touch(i, T - (k * 9 + n % 3 + 1) * DAY, sources[((n + k) % 5) as usize])
                    .await;
            }
            f.conversion(Some(i), T - (n % 2) * DAY, Some(1000 + n)).await;
        }
        // Recorded two days before its time (the API allows some clock skew): a touch
        // made after it was recorded, but before its time, is its last touch.
        let i = f.identity().await;
        f.touch(i, T - 3 * DAY, "google").await;
        let early: i64 = db
        .query_one(app::server::sql::stmt(
            db.get_database_backend(),
            "INSERT INTO conversions (identity_id, event, value_minor, currency, custom_data, confirmed, active, occurred_at, created_at) \
             VALUES (?, 'purchase', 500, 'EUR', '{}', TRUE, TRUE, ?, ?) RETURNING id",
            vec![i.into(), T.into(), (T - 2 * DAY).into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
        app::server::attribution::rollup::refresh(db, app::server::attribution::rollup::Scope::All)
            .await
            .unwrap();
        let late = f.touch(i, T - DAY, "email").await;

        for model in Model::ALL {
            let rolled = Settings::parse(&app.state.config, Some(model.as_str()), None, None, None).unwrap();
            assert!(rolled.is_rolled_up(), "the default window reads the rollup");
            let searched = f.settings(model.as_str(), None, None);
            assert!(!searched.is_rolled_up());
            for group in GroupBy::ALL {
                let a = f.report(&rolled, group).await;
                assert!(!a.is_empty());
                assert_eq!(a, f.report(&searched, group).await, "{model:?} {group:?}");
            }
            assert_eq!(
                f.credits(&rolled, early).await,
                f.credits(&searched, early).await,
                "{model:?}"
            );
        }
        let rolled = Settings::parse(&app.state.config, Some("last_touch"), None, None, None).unwrap();
        assert_eq!(f.credits(&rolled, early).await, vec![(late, 1.0)]);
        // Other windows, and per-source windows, search.
        assert!(!f.settings("last_touch", Some("7"), None).is_rolled_up());
        let mut s = rolled.clone();
        s.source_windows.insert("google".into(), 3);
        assert!(!s.is_rolled_up());
    }
);

/// Every report under `rolled` (which reads the credit by day) against the search,
/// under every model and group, for several filters, including a range whose ends
/// fall inside days. Returns the last touch by source over all time.
async fn credit_days_agree(f: &Fixture<'_>, label: &str) -> Vec<(String, f64)> {
    let config = &f.app.state.config;
    let db = &f.app.state.db.read;
    let filters = [
        (
            "valid",
            ConversionFilter::parse(config, None, None, None, None).unwrap(),
        ),
        (
            "all",
            ConversionFilter::parse(config, None, None, None, Some("false")).unwrap(),
        ),
        (
            "signup",
            ConversionFilter::parse(config, None, None, Some("signup"), Some("all")).unwrap(),
        ),
        (
            "mid-day ends",
            ConversionFilter {
                from: Some(T - 3 * DAY - 5 * 3_600_000),
                to: Some(T + 7_200_000),
                valid_only: true,
                ..Default::default()
            },
        ),
        (
            "days",
            ConversionFilter::parse(config, Some("2026-06-12"), Some("2026-06-14"), None, None).unwrap(),
        ),
    ];
    for model in Model::ALL {
        let rolled = Settings::parse(config, Some(model.as_str()), None, None, None).unwrap();
        assert!(rolled.reads_credit_days());
        let searched = f.settings(model.as_str(), None, None);
        assert!(!searched.reads_credit_days());
        for group in GroupBy::ALL {
            for (name, filter) in &filters {
                let a = reports::report(db, &rolled, filter, group).await.unwrap().items;
                let b = reports::report(db, &searched, filter, group).await.unwrap().items;
                let what = format!("{label}: {model:?} by {group:?}, {name}");
                assert_eq!(
                    a.iter().map(|r| &r.key).collect::<Vec<_>>(),
                    b.iter().map(|r| &r.key).collect::<Vec<_>>(),
                    "{what}"
                );
                for (x, y) in a.iter().zip(&b) {
                    assert!(close(x.conversions, y.conversions), "{what}: {x:?} {y:?}");
                    assert_eq!(x.value, y.value, "{what}");
                }
            }
        }
    }
    let rolled = Settings::parse(config, None, None, None, None).unwrap();
    let searched = f.settings("last_touch", None, None);
    let all = &filters[0].1;
    let a = reports::compare(db, &rolled, all, GroupBy::Source).await.unwrap();
    let b = reports::compare(db, &searched, all, GroupBy::Source).await.unwrap();
    assert_eq!(a.rows.len(), b.rows.len(), "{label}: compare");
    for (x, y) in a.rows.iter().zip(&b.rows) {
        assert_eq!(x.key, y.key, "{label}: compare");
        assert!(x.conversions.iter().zip(&y.conversions).all(|(p, q)| close(*p, *q)));
        assert_eq!(x.value, y.value, "{label}: compare {}", x.key);
    }
    f.report(&rolled, GroupBy::Source).await
}

async fn settle(app: &TestApp) -> u64 {
    let s = Settings::defaults(&app.state.config);
    let mut n = 0;
    loop {
        let done = app::server::attribution::credit_days::settle(&app.state.db.write, &s, 3)
            .await
            .unwrap();
        if done == 0 {
            return n;
        }
        n += done;
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    scalar(app, &format!("SELECT COUNT(*) FROM {table}"), vec![]).await
}

db_test!(
    the_credit_by_day_matches_the_search_through_changes_merges_and_settings,
    |app| {
        let f = Fixture { app: &app };
        let db = &app.state.db.write;
        let sources = ["google", "facebook", "email", "referral", "bing"];
        let mut identities = Vec::new();
        let mut conversions = Vec::new();
        for n in 0..12i64 {
            let i = f.identity().await;
            for k in 0..(n % 5) {
                f.touch(
                    i,
                    T - (k * 7 + n % 4) * DAY - k * 3_600_000,
                    sources[((n + k) % 5) as usize],
                )
                .await;
            }
            // Conversions over five days, at different hours, some pending or cancelled.
            let at = T - (n % 5) * DAY + (n % 3) * 5 * 3_600_000;
            let c = f
                .conversion_full(Some(i), at, (n % 4 != 0).then_some(1000 + n), n % 6 != 1, n % 7 != 2)
                .await;
            identities.push(i);
            conversions.push(c);
        }
        // A sign-up with no value, and one in another currency.
        let db_b = db.get_database_backend();
        db.execute(app::server::sql::stmt(
            db_b,
            "UPDATE conversions SET event = 'signup', value_minor = NULL WHERE id = ?",
            vec![conversions[3].into()],
        ))
        .await
        .unwrap();
        db.execute(app::server::sql::stmt(
            db_b,
            "UPDATE conversions SET currency = 'USD' WHERE id = ?",
            vec![conversions[5].into()],
        ))
        .await
        .unwrap();
        // Recorded two days before its time: a later touch before its time counts.
        let i = f.identity().await;
        let late: i64 = db
            .query_one(app::server::sql::stmt(
                db_b,
                "INSERT INTO conversions (identity_id, event, value_minor, currency, custom_data, confirmed, active, occurred_at, created_at) \
                 VALUES (?, 'purchase', 500, 'EUR', '{}', TRUE, TRUE, ?, ?) RETURNING id",
                vec![i.into(), (T - DAY).into(), (T - 3 * DAY).into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "id")
            .unwrap();
        assert!(late > 0);

        let before = credit_days_agree(&f, "nothing rolled up yet").await;
        assert!(settle(&app).await >= 5, "every day with conversions is computed");
        assert!(count(&app, "credit_days").await > 0);
        assert_eq!(count(&app, "credit_days_dirty").await, 0);
        assert_eq!(credit_days_agree(&f, "rolled up").await, before);

        // A touch made after the late conversion was recorded, before its time.
        f.touch(i, T - 2 * DAY, "newsletter").await;
        let with_late = credit_days_agree(&f, "late touch").await;
        assert!(with_late.iter().any(|(k, _)| k == "newsletter"), "{with_late:?}");

        // Cancelled, confirmed, and a merge that brings older touches.
        app::server::conversions::manage::change_status(
            db,
            &app::server::conversions::manage::Selector::Id(conversions[4]),
            app::server::conversions::manage::StatusChange::Cancel,
        )
        .await
        .unwrap();
        app::server::conversions::manage::change_status(
            db,
            &app::server::conversions::manage::Selector::Id(conversions[2]),
            app::server::conversions::manage::StatusChange::Confirm,
        )
        .await
        .unwrap();
        app::server::tracking::identity::merge(db, identities[9], identities[0])
            .await
            .unwrap();
        assert!(
            count(&app, "credit_days_dirty").await > 0,
            "the changes marked their days"
        );
        let changed = credit_days_agree(&f, "changed, searched live").await;
        assert_ne!(changed, with_late, "the changes moved credit");
        settle(&app).await;
        assert_eq!(credit_days_agree(&f, "changed, rolled up").await, changed);

        // Another instance with a new half-life: every day is out of date again, and
        // its reports still agree with the search.
        let (_base, state) = app.another_instance(|c| c.attribution.half_life_days = 2.5).await;
        assert!(count(&app, "credit_days_dirty").await >= 5);
        assert_eq!(count(&app, "credit_days").await, 0);
        let s = Settings::defaults(&state.config);
        assert!(s.reads_credit_days());
        let mut searched = s.clone();
        searched.rollup_window_days = 0;
        searched.model = Model::TimeDecay;
        let mut rolled = s;
        rolled.model = Model::TimeDecay;
        let all = ConversionFilter {
            valid_only: true,
            ..Default::default()
        };
        app::server::attribution::credit_days::settle(&state.db.write, &rolled, 100)
            .await
            .unwrap();
        let a = reports::report(&state.db.read, &rolled, &all, GroupBy::Source)
            .await
            .unwrap();
        let b = reports::report(&state.db.read, &searched, &all, GroupBy::Source)
            .await
            .unwrap();
        assert_eq!(a.items.len(), b.items.len());
        for (x, y) in a.items.iter().zip(&b.items) {
            assert_eq!(x.key, y.key);
            assert!(close(x.conversions, y.conversions), "{x:?} {y:?}");
        }
    }
);
