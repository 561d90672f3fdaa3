//! Landing capture: the landing pipeline (what counts as a landing, and recording it),
//! the tracked parameters, bots, sources and channels, visitor identities (and the
//! last touch rolled up on their conversions), and the admin's view of touchpoints.

pub mod admin;
pub mod bots;
pub mod capture;
pub mod identity;
pub mod landing;
pub mod params;
pub mod rollup;
pub mod source;
