//! The request pipeline's own layers, outermost first: client address, CSRF,
//! (sessions), auth and page guards, landing capture.

pub mod auth;
pub mod capture;
pub mod client;
pub mod csrf;
pub mod forms;
pub mod observe;
pub mod server_fn_status;
