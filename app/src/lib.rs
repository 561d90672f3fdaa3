//! Tributary: the Leptos app (components, pages, server functions) and, behind the
//! `ssr` feature, the server-side domain code.

// Server functions mirror their query parameters one argument each, so list filters
// take more than clippy's seven.
#![allow(clippy::too_many_arguments)]

pub mod api;
pub mod app;
pub mod components;
pub mod dto;
pub mod error;
pub mod pages;
pub mod paging;
#[cfg(feature = "ssr")]
pub mod server;
pub mod util;
