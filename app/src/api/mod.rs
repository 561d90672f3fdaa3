//! Server functions, one file per area, at stable endpoints under `/api`. Each takes a
//! form-encoded body, answers JSON to clients that ask for it, and answers a plain
//! HTML form post with a redirect (errors travel in a one-time session message).

pub mod accounts;
pub mod admin_links;
pub mod admin_tracking;
pub mod admin_users;
pub mod campaigns;
pub mod conversions;
pub mod dashboards;
pub mod explorer;
pub mod links;

#[cfg(feature = "ssr")]
pub(crate) mod respond {
    use crate::dto::FormFlash;
    use crate::error::{AppError, ErrorCode};
    use crate::server::accounts::flash_cookie;
    use crate::server::accounts::session::set_flash;
    use crate::server::state::{current_user, is_html_form_post, parts, session, state};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    /// A form-backed server function's result, turned into the right answer:
    /// - success: an optional redirect (`success`), or back to the form's page;
    /// - failure from a plain form post: the error and the submitted values (never
    ///   passwords) are kept for one page (`keep`), and the browser is sent back to
    ///   the form;
    /// - failure from JavaScript or a script: the contract's status code and JSON body.
    pub async fn form<T>(
        form: &str,
        back: &str,
        values: &[(&str, &str)],
        result: Result<T, AppError>,
        success: Option<&str>,
    ) -> Result<T, AppError> {
        let parts = parts()?;
        match result {
            Ok(v) => {
                if let Some(to) = success {
                    redirect(to, back);
                }
                Ok(v)
            }
            Err(err) => {
                if is_html_form_post(&parts) {
                    let flash = FormFlash {
                        error: Some(err.clone()),
                        values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                        notice: None,
                    };
                    keep(form, flash).await;
                    redirect(&back_path(&parts, back), "/");
                } else {
                    set_status(&err);
                }
                Err(err)
            }
        }
    }

    /// For server functions without a form: the status code of an error.
    pub fn json<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(err) = &result {
            set_status(err);
        }
        result
    }

    /// A success notice for a plain form post ("Password changed.").
    pub async fn notice(form: &str, message: &str) {
        let Ok(parts) = parts() else { return };
        if !is_html_form_post(&parts) {
            return;
        }
        let flash = FormFlash {
            notice: Some(message.to_string()),
            ..Default::default()
        };
        keep(form, flash).await;
    }

    /// Keeps a one-time message for the next page that shows `form`: in the session of
    /// a logged-in user; for a visitor, in a signed cookie, so that a failed anonymous
    /// form post creates no session row.
    async fn keep(form: &str, flash: FormFlash) {
        if current_user().is_some() {
            if let Ok(session) = session()
                && let Err(e) = set_flash(&session, form, flash).await
            {
                tracing::warn!(error = %e, "could not keep the form's message");
            }
            return;
        }
        if let (Ok(st), Some(res)) = (state(), use_context::<ResponseOptions>()) {
            let value = st.flash_key.encode(form, flash, crate::server::time::now_ms());
            res.append_header(
                http::header::SET_COOKIE,
                flash_cookie::set_cookie(&st.config.server, &value),
            );
        }
    }

    /// Redirects to `to` when it is a path on this site, else to `fallback`; the
    /// `Location` never carries raw input (non-ASCII is percent-encoded).
    fn redirect(to: &str, fallback: &str) {
        let target = crate::util::local_path(to).unwrap_or_else(|| fallback.to_string());
        let mut encoded = String::with_capacity(target.len());
        for b in target.bytes() {
            if b.is_ascii_graphic() {
                encoded.push(b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        leptos_axum::redirect(&encoded);
    }

    /// Points the identity cookie at `identity` (after sign-up or log-in).
    pub fn identity_cookie(
        config: &crate::server::config::Config,
        identity: Option<&crate::server::tracking::identity::Identity>,
    ) {
        if let (Some(res), Some(i)) = (use_context::<ResponseOptions>(), identity) {
            res.append_header(
                http::header::SET_COOKIE,
                crate::server::tracking::identity::set_cookie(config, &i.public_id),
            );
        }
    }

    pub fn clear_identity_cookie(config: &crate::server::config::Config) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.append_header(
                http::header::SET_COOKIE,
                crate::server::tracking::identity::clear_cookie(config),
            );
        }
    }

    fn set_status(err: &AppError) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(
                http::StatusCode::from_u16(err.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
            if err.code == ErrorCode::RateLimited
                && let Some(secs) = err.retry_after
            {
                res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
        }
    }

    /// Back to the page the form was on, when the Referer is a page of this site;
    /// otherwise the form's own page.
    fn back_path(parts: &http::request::Parts, default: &str) -> String {
        let host = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
        parts
            .headers
            .get(http::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .filter(|u| {
                let authority = match u.port() {
                    Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                    None => u.host_str().unwrap_or_default().to_string(),
                };
                Some(authority.as_str()) == host
            })
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            })
            .unwrap_or_else(|| default.to_string())
    }
}
