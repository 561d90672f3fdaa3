//! Security headers of HTML responses. The server adds `X-Content-Type-Options`,
//! `Referrer-Policy`, `X-Frame-Options` and a default policy to every response
//! (`server::startup::router`); pages rendered by Leptos get a policy with the nonce of
//! their inline hydration scripts instead (`page_policy`), so that scripts never need
//! `'unsafe-inline'`.

/// The Content-Security-Policy, with the page's script nonce when it has one.
///
/// - scripts: this site's, or inline ones carrying the nonce; `'wasm-unsafe-eval'` lets
///   the hydration script compile the site's WebAssembly (Chromium refuses it otherwise);
/// - styles: this site's, and inline `style` attributes (pages and SVG charts use them);
/// - no frames of this site anywhere (`frame-ancestors 'none'`), no plugins, forms post
///   only here, and `<base>` cannot move relative URLs.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Sets the page's policy, with the nonce Leptos gave this render's inline scripts.
/// Called by the shell while it renders (pages render whole, `SsrMode::Async`, so the
/// header is set before anything is sent).
pub fn page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(v) = http::HeaderValue::from_str(&content_security_policy(Some(&nonce))) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_policy_allows_no_inline_script_without_the_nonce() {
        let p = super::content_security_policy(Some("abc"));
        let scripts = p.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(scripts.contains("'nonce-abc'"));
        assert!(!scripts.contains("unsafe-inline"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
