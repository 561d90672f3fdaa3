//! `tributary seed-demo`: enough rows that every table's buffer flushes several times
//! (children must never reach the database before their parents), on both databases.

use crate::db_test;
use crate::helpers::*;
use server::seed::{DEMO_PASSWORD, SeedOptions, seed_demo};

db_test!(
    seed_demo_fills_every_table_consistently_and_refuses_a_second_run,
    |app| {
        let options = SeedOptions {
            users: 1_200,
            days: 60,
            seed: 3,
            conversions: 4_000,
            until: None,
            quiet: true,
        };
        let seeded = seed_demo(&app.state.db, &options).await.expect("seed-demo succeeds");
        assert_eq!(seeded.users, 1_200);
        assert_eq!(seeded.conversions, 4_000);
        assert!(
            seeded.touchpoints > 4_000,
            "about three touches per conversion: {seeded:?}"
        );
        assert!(seeded.responses > 0);

        let count = |t: &str| format!("SELECT COUNT(*) FROM {t}");
        assert_eq!(scalar(&app, &count("conversions"), vec![]).await, 4_000);
        assert_eq!(
            scalar(&app, &count("touchpoints"), vec![]).await as u64,
            seeded.touchpoints
        );
        assert_eq!(scalar(&app, &count("responses"), vec![]).await as u64, seeded.responses);
        assert_eq!(
            scalar(&app, &count("identities"), vec![]).await as u64,
            seeded.identities
        );
        // Every user has a personal link and a canonical identity.
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM links WHERE is_personal = TRUE AND owner_id IS NOT NULL",
                vec![]
            )
            .await,
            1_200
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(DISTINCT user_id) FROM identities WHERE user_id IS NOT NULL",
                vec![]
            )
            .await,
            1_200
        );
        // The last-touch columns are filled for conversions that had a touch in the window.
        assert!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM conversions WHERE lt_touchpoint_id IS NOT NULL",
                vec![]
            )
            .await
                > 3_000
        );

        // The demo admin logs in and sees the data on the overview.
        let admin = app.browser();
        let res = admin.login("demo0.s3@demo.example", DEMO_PASSWORD).await;
        assert!(
            res.status().is_redirection() || res.status().is_success(),
            "{}",
            res.status()
        );
        let o = json(admin.get_json("/api/admin/overview?range=30d").await).await;
        let touches = o["kpis"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["key"] == "touchpoints"))
            .and_then(|k| k["current"].as_str())
            .and_then(|v| v.parse::<i64>().ok())
            .expect("a touchpoints KPI");
        assert!(touches > 0);

        // A second run would mix two data sets: refused, and nothing is added.
        let refused = seed_demo(&app.state.db, &options).await.is_err();
        assert!(refused);
        assert_eq!(scalar(&app, &count("conversions"), vec![]).await, 4_000);
    }
);
