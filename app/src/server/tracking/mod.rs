//! Landing capture: which requests are looked at, the tracked parameters, bots,
//! sources and channels, visitor identities, and the admin's view of touchpoints.

pub mod admin;
pub mod bots;
pub mod capture;
pub mod identity;
pub mod params;
pub mod source;
