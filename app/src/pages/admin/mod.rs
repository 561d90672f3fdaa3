//! The admin area. Every page here renders only for admins; the server also refuses
//! visitors (redirect to log in) and members (403) before rendering.

pub mod attribution;
pub mod campaigns;
pub mod conversions;
pub mod leaderboard;
pub mod links;
pub mod overview;
pub mod touchpoints;
pub mod users;

use crate::app::use_current_user;
use crate::pages::errors::{Forbidden, LoginRequired};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

#[component]
pub fn AdminLayout() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.0.await.ok().flatten() {
                    None => view! { <LoginRequired/> }.into_any(),
                    Some(u) if !u.is_admin() => view! { <Forbidden/> }.into_any(),
                    Some(_) => view! {
                        <div class="admin">
                            <nav class="admin-nav" aria-label="Admin">
                                <A href="/admin" exact=true>"Overview"</A>
                                <A href="/admin/attribution">"Attribution"</A>
                                <A href="/admin/leaderboard">"Leaderboard"</A>
                                <A href="/admin/users">"Users"</A>
                                <A href="/admin/campaigns">"Campaigns"</A>
                                <A href="/admin/referrers">"Referrer codes"</A>
                                <A href="/admin/links">"Links"</A>
                                <A href="/admin/responses">"Responses"</A>
                                <A href="/admin/touchpoints">"Touchpoints"</A>
                                <A href="/admin/conversions">"Conversions"</A>
                                <A href="/admin/api-keys">"API keys"</A>
                                <A href="/admin/utm">"UTM builder"</A>
                            </nav>
                            <div class="admin-main">
                                <Outlet/>
                            </div>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
