//! The HTML shell, the `App` component and the route table: the one place that
//! knows page URLs.

use crate::components::layout::Header;
use crate::components::session::provide_session;
use crate::pages;
use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::headers::page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: the session context, the layout and the route table. Every route renders
/// with `SsrMode::Async`: the whole page is resolved on the server before it is sent,
/// so it works with JavaScript off (out-of-order streaming needs a script to put
/// suspended parts in place) and can still set its status.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_session();

    // End-to-end tests wait for this attribute before they click: effects run only
    // in the browser, once the page has hydrated.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/tributary.css"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="description" content="Tributary: referral links and marketing attribution."/>
        <Title formatter=|text: String| if text.is_empty() { "Tributary".to_string() } else { format!("{text} · Tributary") }/>
        <Router>
            <Header/>
            <main class="container">
                <Routes fallback=|| view! { <pages::errors::NotFound/> }>
                    <Route path=path!("") view=pages::home::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("signup") view=pages::auth::SignupPage ssr=SsrMode::Async/>
                    <Route path=path!("login") view=pages::auth::LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=pages::account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("links") view=pages::links::LinksPage ssr=SsrMode::Async/>
                    <Route path=path!("links/:code") view=pages::links::LinkDetailPage ssr=SsrMode::Async/>
                    <ParentRoute path=path!("admin") view=pages::admin::AdminLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=pages::admin::overview::AdminOverviewPage ssr=SsrMode::Async/>
                        <Route path=path!("users") view=pages::admin::users::AdminUsersPage ssr=SsrMode::Async/>
                        <Route path=path!("users/:id") view=pages::admin::leaderboard::AdminUserPage ssr=SsrMode::Async/>
                        <Route path=path!("leaderboard") view=pages::admin::leaderboard::AdminLeaderboardPage ssr=SsrMode::Async/>
                        <Route path=path!("utm") view=pages::admin::leaderboard::AdminUtmPage ssr=SsrMode::Async/>
                        <Route path=path!("campaigns") view=pages::admin::campaigns::AdminCampaignsPage ssr=SsrMode::Async/>
                        <Route path=path!("campaigns/:id") view=pages::admin::campaigns::AdminCampaignPage ssr=SsrMode::Async/>
                        <Route path=path!("referrers") view=pages::admin::campaigns::AdminReferrersPage ssr=SsrMode::Async/>
                        <Route path=path!("links") view=pages::admin::links::AdminLinksPage ssr=SsrMode::Async/>
                        <Route path=path!("responses") view=pages::admin::links::AdminResponsesPage ssr=SsrMode::Async/>
                        <Route path=path!("touchpoints") view=pages::admin::touchpoints::AdminTouchpointsPage ssr=SsrMode::Async/>
                        <Route path=path!("identities/:id") view=pages::admin::touchpoints::AdminIdentityPage ssr=SsrMode::Async/>
                        <Route path=path!("conversions") view=pages::admin::conversions::AdminConversionsPage ssr=SsrMode::Async/>
                        <Route path=path!("conversions/:id") view=pages::admin::attribution::AdminExplainPage ssr=SsrMode::Async/>
                        <Route path=path!("attribution") view=pages::admin::attribution::AdminAttributionPage ssr=SsrMode::Async/>
                        <Route path=path!("attribution/drill") view=pages::admin::attribution::AdminDrillPage ssr=SsrMode::Async/>
                        <Route path=path!("api-keys") view=pages::admin::conversions::AdminApiKeysPage ssr=SsrMode::Async/>
                    </ParentRoute>
                </Routes>
            </main>
            <footer class="site-footer container">
                <p>"Tributary · referral links and attribution"</p>
            </footer>
        </Router>
    }
}
