//! Referral links (pinax-referrals done right): codes, safe destinations, the link
//! cache of the click path, clicks, responses and the lists built on them.

pub mod admin;
pub mod cache;
pub mod click;
pub mod codes;
pub mod destination;
pub mod links;
pub mod referrers;
pub mod responses;
