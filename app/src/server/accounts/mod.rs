//! Accounts: sign-up, log-in, passwords, roles, and the session that names a user.

pub mod flash_cookie;
pub mod password;
pub mod service;
pub mod session;
pub mod signup;
pub mod validate;

pub use service::*;
pub use session::{AuthUser, CurrentUser};
