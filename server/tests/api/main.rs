//! Integration tests: the real application over real HTTP, each test on SQLite and
//! on PostgreSQL.

mod helpers;

mod accounts;
mod attribution;
mod campaigns;
mod conversions;
mod dashboards;
mod hardening;
mod links;
mod paging;
mod seed;
mod tracking;
