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

use crate::components::session::use_current_user;
use crate::pages::errors::{Forbidden, LoginRequired};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

/// Why the admin area is not shown: to a visitor (log in) or a member (forbidden).
#[derive(Clone, Copy, PartialEq)]
enum Refused {
    LoginRequired,
    Forbidden,
}

#[component]
pub fn AdminLayout() -> impl IntoView {
    let user = use_current_user();
    // The page is built once, outside any Suspense. Server rendering walks a
    // Suspense's children more than once, and every walk built the page again, with
    // new resources fetching its data again: three reports per request, measured.
    // The server has refused visitors and members before rendering; in the browser,
    // the area gives way to the refusal as soon as the user is known.
    let refused = move || match user.0.get() {
        Some(Ok(Some(u))) if !u.is_admin() => Some(Refused::Forbidden),
        Some(Ok(None)) | Some(Err(_)) => Some(Refused::LoginRequired),
        _ => None,
    };
    view! {
        <Show
            when=move || refused().is_none()
            fallback=move || match refused() {
                Some(Refused::Forbidden) => view! { <Forbidden/> }.into_any(),
                _ => view! { <LoginRequired/> }.into_any(),
            }
        >
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
        </Show>
    }
}
