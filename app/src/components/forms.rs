//! Form fields that show their own error, the error of a whole form, and the one-time
//! message a plain form post leaves for the page it goes back to.

use crate::api::accounts::take_flash;
use crate::dto::FormFlash;
use crate::error::AppError;
use leptos::html::Input;
use leptos::prelude::*;

/// The one-time message a plain form post left for `form`.
pub fn flash_resource(form: &'static str) -> Resource<Option<FormFlash>> {
    Resource::new_blocking(
        || (),
        move |_| async move { take_flash(form.to_string()).await.ok().flatten() },
    )
}

/// The error to show for a form: the last JavaScript submission's, or else the one
/// kept in the session by the last plain form post (`flash`).
pub fn form_error<T>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
    flash: Option<FormFlash>,
) -> Signal<Option<AppError>>
where
    T: Clone + Send + Sync + 'static,
{
    let flash_error = flash.and_then(|f| f.error);
    Signal::derive(move || match value() {
        Some(Err(e)) => Some(e),
        Some(Ok(_)) => None,
        None => flash_error.clone(),
    })
}

/// The message for one field of `error`.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.field_message(field)))
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] node_ref: Option<NodeRef<Input>>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described = if hint.is_some() {
        format!("{error_id} {hint_id}")
    } else {
        error_id.clone()
    };
    let node_ref = node_ref.unwrap_or_default();
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=name>{label}</label>
            <input
                id=name
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                required=required
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described
                node_ref=node_ref
            />
            {hint.map(|h| view! { <p class="field-hint" id=hint_id>{h}</p> })}
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// The form-level message (an error not tied to a field, or a notice).
#[component]
pub fn FormAlert(error: Signal<Option<AppError>>, #[prop(default = None)] notice: Option<String>) -> impl IntoView {
    let notice = RwSignal::new(notice);
    view! {
        {move || error.get().and_then(|e| e.form_message()).map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
        {move || notice.get().map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
    }
}

/// Clears a password input after a failed submission, so the form keeps what was
/// typed except the password.
pub fn clear_on_error<T>(value: impl Fn() -> Option<Result<T, AppError>> + 'static, input: NodeRef<Input>)
where
    T: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Err(_)) = value()
            && let Some(el) = input.get()
        {
            el.set_value("");
        }
    });
}
