//! The sign-up and log-in pages.

use crate::components::forms::{Field, FormAlert, clear_on_error, field_error, flash_resource, form_error};
use crate::components::session::AuthActions;
use crate::dto::FormFlash;
use leptos::form::ActionForm;
use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

fn next_param() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("next").filter(|n| crate::util::is_local_path(n)))
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let flash = flash_resource("signup");
    let next = next_param();
    view! {
        <Title text="Sign up"/>
        <section class="narrow">
            <h1>"Create your account"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await;
                    view! { <SignupForm flash next=next.get_untracked()/> }
                })}
            </Suspense>
            <p class="aside">"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

#[component]
fn SignupForm(flash: Option<FormFlash>, next: Option<String>) -> impl IntoView {
    let action = expect_context::<AuthActions>().signup;
    let values = flash.as_ref().map(|f| f.values.clone()).unwrap_or_default();
    let error = form_error(move || action.value().get(), flash);
    let password = NodeRef::<Input>::new();
    clear_on_error(move || action.value().get(), password);
    view! {
        <ActionForm action=action attr:class="form" attr:novalidate=true>
            <FormAlert error/>
            <Field label="Email" name="email" kind="email" autocomplete="email" required=true
                value=values.get("email").cloned().unwrap_or_default() error=field_error(error, "email")/>
            <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true
                hint="At least 8 characters. A few unrelated words make a strong password."
                node_ref=password error=field_error(error, "password")/>
            <Field label="Display name" name="display_name" autocomplete="name" required=true
                value=values.get("display_name").cloned().unwrap_or_default() error=field_error(error, "display_name")/>
            {next.map(|n| view! { <input type="hidden" name="next" value=n/> })}
            <button type="submit" class="button" disabled=move || action.pending().get()>"Sign up"</button>
        </ActionForm>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let flash = flash_resource("login");
    let next = next_param();
    view! {
        <Title text="Log in"/>
        <section class="narrow">
            <h1>"Log in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await;
                    view! { <LoginForm flash next=next.get_untracked()/> }
                })}
            </Suspense>
            <p class="aside">"New here? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}

#[component]
fn LoginForm(flash: Option<FormFlash>, next: Option<String>) -> impl IntoView {
    let action = expect_context::<AuthActions>().login;
    let values = flash.as_ref().map(|f| f.values.clone()).unwrap_or_default();
    let error = form_error(move || action.value().get(), flash);
    let password = NodeRef::<Input>::new();
    clear_on_error(move || action.value().get(), password);
    // A wrong password is not a field error of one field: show it above the form.
    view! {
        <ActionForm action=action attr:class="form" attr:novalidate=true>
            <FormAlert error/>
            <Field label="Email" name="email" kind="email" autocomplete="username" required=true
                value=values.get("email").cloned().unwrap_or_default() error=field_error(error, "email")/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true
                node_ref=password error=field_error(error, "password")/>
            {next.map(|n| view! { <input type="hidden" name="next" value=n/> })}
            <button type="submit" class="button" disabled=move || action.pending().get()>"Log in"</button>
        </ActionForm>
    }
}
