//! The account page: display name and password.

use crate::api::accounts::UpdateProfile;
use crate::components::forms::{Field, FormAlert, clear_on_error, field_error, flash_resource, form_error};
use crate::components::session::{AuthActions, use_current_user};
use crate::dto::FormFlash;
use crate::pages::errors::LoginRequired;
use leptos::form::ActionForm;
use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = use_current_user();
    let profile_flash = flash_resource("profile");
    let password_flash = flash_resource("password");
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let me = user.0.await.ok().flatten();
                let profile_flash = profile_flash.await;
                let password_flash = password_flash.await;
                match me {
                    None => view! { <LoginRequired/> }.into_any(),
                    Some(me) => view! {
                        <section class="narrow">
                            <h1>"Your account"</h1>
                            <p class="muted">{format!("Logged in as {} ({})", me.email, me.role.as_str())}</p>
                            <h2>"Profile"</h2>
                            <ProfileForm flash=profile_flash current=me.display_name.clone()/>
                            <h2>"Change password"</h2>
                            <PasswordForm flash=password_flash/>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProfileForm(flash: Option<FormFlash>, current: String) -> impl IntoView {
    let action = ServerAction::<UpdateProfile>::new();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let value = flash
        .as_ref()
        .and_then(|f| f.values.get("display_name").cloned())
        .unwrap_or(current);
    let error = form_error(move || action.value().get(), flash);
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    view! {
        <ActionForm action=action attr:class="form" attr:id="profile-form" attr:novalidate=true>
            <FormAlert error notice=notice/>
            {move || saved().then(|| view! { <p class="alert alert-ok" role="status">"Your display name has been saved."</p> })}
            <Field label="Display name" name="display_name" value=value autocomplete="name" error=field_error(error, "display_name")/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Save"</button>
        </ActionForm>
    }
}

#[component]
fn PasswordForm(flash: Option<FormFlash>) -> impl IntoView {
    let action = expect_context::<AuthActions>().password;
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let error = form_error(move || action.value().get(), flash);
    let current = NodeRef::<Input>::new();
    let new = NodeRef::<Input>::new();
    clear_on_error(move || action.value().get(), current);
    clear_on_error(move || action.value().get(), new);
    let changed = move || matches!(action.value().get(), Some(Ok(_)));
    Effect::new(move |_| {
        if changed() {
            for input in [current, new] {
                if let Some(el) = input.get() {
                    el.set_value("");
                }
            }
        }
    });
    view! {
        <ActionForm action=action attr:class="form" attr:id="password-form" attr:novalidate=true>
            <FormAlert error notice=notice/>
            {move || changed().then(|| view! { <p class="alert alert-ok" role="status">"Your password has been changed. Your other sessions have been logged out."</p> })}
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password"
                node_ref=current error=field_error(error, "current_password")/>
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password"
                hint="At least 8 characters." node_ref=new error=field_error(error, "new_password")/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Change password"</button>
        </ActionForm>
    }
}
