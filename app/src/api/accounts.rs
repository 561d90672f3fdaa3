//! Sign-up, log-in, log-out, the password and the profile.

use crate::dto::{Done, FormFlash, UserDto, UserEnvelope};
use crate::error::AppError;
use leptos::prelude::*;

/// `POST /api/signup` (email, password, display_name).
#[server(prefix = "/api", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    display_name: String,
    #[server(default)] next: Option<String>,
) -> Result<UserEnvelope, AppError> {
    use crate::server::{accounts, state};
    let next = crate::util::safe_next(next.as_deref(), "/account");
    let result = async {
        let st = state::state()?;
        let account = accounts::NewAccount::parse(&email, &password, &display_name)?;
        accounts::reserve_signup(&st.limits, &st.metrics, state::client_addr())?;
        let hash = accounts::password::hash(account.password.expose().to_string())
            .await
            .map_err(crate::server::internal)?;
        let ctx = crate::server::context::RequestContext::current()?;
        let visitor = crate::server::accounts::signup::Visitor::from_context(&ctx);
        let created = crate::server::accounts::signup::create_account(
            &st.db,
            &st.config,
            &account,
            hash,
            crate::dto::Role::Member,
            Some(&visitor),
        )
        .await?;
        accounts::session::log_in(&state::session()?, &created.user).await?;
        super::respond::identity_cookie(&st.config, created.identity.as_ref());
        Ok(UserEnvelope {
            user: accounts::AuthUser::from(&created.user).to_dto(),
        })
    }
    .await;
    let values = [("email", email.as_str()), ("display_name", display_name.as_str())];
    super::respond::form("signup", "/signup", &values, result, Some(&next)).await
}

/// `POST /api/login` (email, password).
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<UserEnvelope, AppError> {
    use crate::server::{accounts, state};
    let next = crate::util::safe_next(next.as_deref(), "/account");
    let result = async {
        let st = state::state()?;
        let user =
            accounts::authenticate(&st.db, &st.limits, &st.metrics, &email, &password, state::client_addr()).await?;
        accounts::session::log_in(&state::session()?, &user).await?;
        accounts::record_login(&st.db.write, user.id).await?;
        let ctx = crate::server::context::RequestContext::current()?;
        let visitor = crate::server::accounts::signup::Visitor::from_context(&ctx);
        let identity = crate::server::accounts::signup::join_identity_at_login(&st.db, user.id, &visitor).await?;
        super::respond::identity_cookie(&st.config, identity.as_ref());
        Ok(UserEnvelope {
            user: accounts::AuthUser::from(&user).to_dto(),
        })
    }
    .await;
    super::respond::form("login", "/login", &[("email", email.as_str())], result, Some(&next)).await
}

/// `POST /api/logout`.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<Done, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        accounts::session::log_out(&state::session()?).await?;
        // A shared computer must not credit the next person to this one.
        super::respond::clear_identity_cookie(&state::state()?.config);
        Ok(Done::OK)
    }
    .await;
    super::respond::form("logout", "/", &[], result, Some("/")).await
}

/// `POST /api/password` (current_password, new_password).
#[server(prefix = "/api", endpoint = "password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<Done, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        let st = state::state()?;
        let me = state::require_user()?;
        let user = accounts::change_password(&st.db, me.id, &current_password, &new_password).await?;
        accounts::session::refresh_epoch(&state::session()?, &user).await?;
        Ok(Done::OK)
    }
    .await;
    if result.is_ok() {
        super::respond::notice(
            "password",
            "Your password has been changed. Your other sessions have been logged out.",
        )
        .await;
    }
    super::respond::form("password", "/account", &[], result, None).await
}

/// `POST /api/account/profile` (display_name).
#[server(prefix = "/api", endpoint = "account/profile")]
pub async fn update_profile(display_name: String) -> Result<UserEnvelope, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        let st = state::state()?;
        let me = state::require_user()?;
        let user = accounts::update_display_name(&st.db, me.id, &display_name).await?;
        Ok(UserEnvelope {
            user: accounts::AuthUser::from(&user).to_dto(),
        })
    }
    .await;
    if result.is_ok() {
        super::respond::notice("profile", "Your display name has been saved.").await;
    }
    let values = [("display_name", display_name.as_str())];
    super::respond::form("profile", "/account", &values, result, None).await
}

/// `GET /api/me`: the logged-in user, or null.
#[server(prefix = "/api", endpoint = "me", input = server_fn::codec::GetUrl)]
pub async fn current_user() -> Result<Option<UserDto>, AppError> {
    Ok(crate::server::state::current_user().map(|u| u.to_dto()))
}

/// The one-time message of a form, if the last plain form post left one.
#[server(prefix = "/api", endpoint = "flash")]
pub async fn take_flash(form: String) -> Result<Option<FormFlash>, AppError> {
    use crate::server::{accounts, state};
    let session = state::session()?;
    let taken = state::parts()?
        .extensions
        .get::<accounts::session::TakenFlashes>()
        .cloned();
    Ok(match taken {
        Some(taken) => taken.take(&session, &form).await,
        None => accounts::session::take_flash(&session, &form).await,
    })
}
