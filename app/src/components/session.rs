//! Who is logged in, for every component: the actions that change it and the
//! current-user resource (lemmy-ui-leptos keeps the same in its `contexts/`).
//! `App` provides them once with [`provide_session`]; components read them with
//! [`use_current_user`] and `expect_context::<AuthActions>()`.

use crate::api::accounts::{ChangePassword, Login, Logout, Signup, current_user};
use crate::dto::UserDto;
use crate::error::AppError;
use leptos::prelude::*;

/// The actions that change who is logged in; the current-user resource refetches
/// whenever one of them completes.
#[derive(Clone, Copy)]
pub struct AuthActions {
    pub signup: ServerAction<Signup>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub password: ServerAction<ChangePassword>,
}

/// The logged-in user (or `None`), for every component.
#[derive(Clone, Copy)]
pub struct CurrentUserResource(pub Resource<Result<Option<UserDto>, AppError>>);

impl CurrentUserResource {
    /// The user once loaded; `None` for visitors and while loading.
    pub fn get(&self) -> Option<UserDto> {
        self.0.get().and_then(|r| r.ok()).flatten()
    }
}

pub fn use_current_user() -> CurrentUserResource {
    expect_context::<CurrentUserResource>()
}

/// Makes the actions and the current-user resource available to every component.
pub fn provide_session() {
    let actions = AuthActions {
        signup: ServerAction::<Signup>::new(),
        login: ServerAction::<Login>::new(),
        logout: ServerAction::<Logout>::new(),
        password: ServerAction::<ChangePassword>::new(),
    };
    provide_context(actions);
    let user = Resource::new_blocking(
        move || {
            (
                actions.signup.version().get(),
                actions.login.version().get(),
                actions.logout.version().get(),
                actions.password.version().get(),
            )
        },
        |_| current_user(),
    );
    provide_context(CurrentUserResource(user));
}
