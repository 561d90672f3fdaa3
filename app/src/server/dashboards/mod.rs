//! The marketer dashboards: date ranges in the configured time zone, the overview,
//! campaign and referrer performance, and the attribution explorer's extra views.

pub mod campaigns;
pub mod leaderboard;
pub mod overview;
pub mod range;
pub mod utm;
