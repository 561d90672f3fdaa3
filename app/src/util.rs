//! Small helpers shared by the browser and the server.

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a query value made by [`urlencode`] (or a form: `+` is a space). Invalid
/// escapes are kept as they are.
pub fn urldecode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A safe place to go after logging in: a path on this site (normalised), else the
/// default.
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    next.and_then(local_path).unwrap_or_else(|| default.to_string())
}

/// A path on this site: see [`local_path`].
pub fn is_local_path(s: &str) -> bool {
    local_path(s).is_some()
}

/// `s` as a path on this site, normalised, or `None` when it is not one.
///
/// It must start with one `/`, and hold no backslash, whitespace or control character
/// anywhere (they are refused, never stripped: browsers strip tabs and newlines and read
/// `\` as `/`, which is how `/\evil.example` or `/<tab>/evil.example` leave the site).
/// Dot segments are resolved as browsers resolve them (`.`, `..`, and their `%2e`
/// spellings), and the result must still not start with `//`: `/..//evil.example` and
/// `/.//evil.example` would otherwise become the scheme-relative `//evil.example`. The
/// query and fragment are kept as they are.
pub fn local_path(s: &str) -> Option<String> {
    if !s.starts_with('/') || s.len() > 2048 {
        return None;
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let end = s.find(['?', '#']).unwrap_or(s.len());
    let (path, rest) = s.split_at(end);
    let segments: Vec<&str> = path[1..].split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match dots(segment) {
            1 if last => out.push(""),
            1 => {}
            2 => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            _ => out.push(segment),
        }
    }
    let normalised = format!("/{}{rest}", out.join("/"));
    (!normalised.starts_with("//")).then_some(normalised)
}

/// 1 for a single-dot path segment, 2 for a double-dot one (as the URL standard spells
/// them, `%2e` in any case counting as a dot), 0 otherwise.
fn dots(segment: &str) -> u8 {
    match segment.to_ascii_lowercase().as_str() {
        "." | "%2e" => 1,
        ".." | ".%2e" | "%2e." | "%2e%2e" => 2,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urldecode_reverses_urlencode() {
        for s in ["google:7,bing:0", "a b&c=d", "é", "100%", "%zz", ""] {
            assert_eq!(super::urldecode(&super::urlencode(s)), s);
        }
        assert_eq!(super::urldecode("a+b%2"), "a b%2");
        assert_eq!(super::urldecode("%zz"), "%zz");
    }

    #[test]
    fn urlencode_escapes_reserved_characters() {
        assert_eq!(
            super::urlencode("/admin/users?q=a b&x"),
            "%2Fadmin%2Fusers%3Fq%3Da%20b%26x"
        );
        assert_eq!(super::urlencode("é"), "%C3%A9");
    }

    #[test]
    fn local_paths_exclude_scheme_relative_and_backslash_forms() {
        assert!(super::is_local_path("/"));
        assert!(super::is_local_path("/welcome?x=1"));
        assert_eq!(
            super::local_path("/a/./b/../c?x=/..//y").as_deref(),
            Some("/a/c?x=/..//y")
        );
        assert_eq!(super::local_path("/a/..").as_deref(), Some("/"));
        assert_eq!(super::safe_next(Some("/..//evil.example"), "/account"), "/account");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "javascript:alert(1)",
            "",
            "/a b",
            "/a\\b",
            "/..//evil.example",
            "/.//evil.example",
            "/%2e%2e//evil.example",
            "/.%2E//evil.example",
            "////evil.example",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/a\u{2028}b",
        ] {
            assert!(!super::is_local_path(bad), "{bad}");
        }
    }
}
