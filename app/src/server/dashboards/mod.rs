//! The marketer dashboards: the overview, campaign and referrer performance,
//! leaderboards and the UTM link builder (their date ranges are `server::range`).

pub mod campaigns;
pub mod leaderboard;
pub mod overview;
pub mod utm;
