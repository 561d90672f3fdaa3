use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(code)
    {
        res.set_status(status);
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_status(404);
    view! {
        <Title text="Not found"/>
        <section class="message-page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><A href="/">"Go to the home page"</A></p>
        </section>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_status(403);
    view! {
        <Title text="Forbidden"/>
        <section class="message-page">
            <h1>"403 · Not allowed"</h1>
            <p>"This part of Tributary is for administrators. Ask an administrator if you need access."</p>
            <p><A href="/">"Go to the home page"</A></p>
        </section>
    }
}

/// Shown when a page needs a logged-in user and there is none (after client-side
/// navigation; the server redirects plain requests to the login page).
#[component]
pub fn LoginRequired() -> impl IntoView {
    view! {
        <section class="message-page">
            <h1>"Please log in"</h1>
            <p><A href="/login">"Log in"</A>" to see this page."</p>
        </section>
    }
}
