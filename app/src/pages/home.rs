use crate::components::session::use_current_user;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Know who brings you people."</h1>
            <p class="lead">
                "Tributary gives every member a referral link to share, records each visit and sign-up it brings, "
                "and shows marketers which sources, campaigns and people drive sign-ups and revenue."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.0.await.ok().flatten() {
                        Some(u) => view! {
                            <p class="cta">
                                {format!("Welcome back, {}. ", u.display_name)}
                                <A href="/account" attr:class="button">"Your account"</A>
                            </p>
                        }.into_any(),
                        None => view! {
                            <p class="cta">
                                <A href="/signup" attr:class="button">"Create your account"</A>
                                " "
                                <A href="/login" attr:class="button button-secondary">"Log in"</A>
                            </p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="features">
            <div class="feature">
                <h2>"Referral links"</h2>
                <p>"Every account gets a personal link at sign-up. Create more, each with its own label and destination, and see the clicks and sign-ups each one brings."</p>
            </div>
            <div class="feature">
                <h2>"Campaign tracking"</h2>
                <p>"UTM tags, ad click ids and referring sites are captured on every landing and follow the visitor into their account."</p>
            </div>
            <div class="feature">
                <h2>"Attribution"</h2>
                <p>"First touch, last touch, linear, time decay or position based: see which sources deserve the credit, and why."</p>
            </div>
        </section>
    }
}
