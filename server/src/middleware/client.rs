//! Puts the client address (see the contract) into request extensions.

use app::server::net::{ClientAddr, client_ip};
use app::server::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub async fn client_addr(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let ip = client_ip(peer, forwarded, &state.config.server.trusted_proxies);
    req.extensions_mut().insert(ClientAddr(ip));
    next.run(req).await
}
