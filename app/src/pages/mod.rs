//! One component module per route.

pub mod account;
pub mod admin;
pub mod auth;
pub mod errors;
pub mod home;
pub mod links;
