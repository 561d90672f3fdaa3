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

/// A safe place to go after logging in: a path on this site, else the default.
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => default.to_string(),
    }
}

/// A path on this site: starts with one `/`, not `//` or `/\`, no control characters.
pub fn is_local_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
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
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "javascript:alert(1)",
            "",
            "/a b",
            "/a\\b",
        ] {
            assert!(!super::is_local_path(bad), "{bad}");
        }
    }
}
