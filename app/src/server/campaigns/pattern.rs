//! Campaign patterns: which referrer codes a campaign takes. Case-insensitive
//! substrings by default; a glob (`*`, `?`) or a size-limited regular expression on
//! request. An empty pattern matches nothing.

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    Substring,
    Glob,
    Regex,
}

impl PatternKind {
    pub fn parse(s: &str) -> Option<PatternKind> {
        match s.trim() {
            "" | "substring" => Some(PatternKind::Substring),
            "glob" => Some(PatternKind::Glob),
            "regex" => Some(PatternKind::Regex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::Substring => "substring",
            PatternKind::Glob => "glob",
            PatternKind::Regex => "regex",
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub enum Matcher {
    Nothing,
    Substring(String),
    Compiled(Regex),
}

/// Compiled regexes may use this much memory: enough for any sensible pattern, too
/// little for a pathological one.
const REGEX_SIZE_LIMIT: usize = 64 * 1024;
pub const MAX_PATTERN_LEN: usize = 500;

impl Matcher {
    pub fn new(pattern: &str, kind: PatternKind) -> Result<Matcher, String> {
        if pattern.chars().count() > MAX_PATTERN_LEN {
            return Err(format!("Patterns are at most {MAX_PATTERN_LEN} characters."));
        }
        if pattern.trim().is_empty() {
            return Ok(Matcher::Nothing);
        }
        match kind {
            PatternKind::Substring => Ok(Matcher::Substring(pattern.trim().to_lowercase())),
            PatternKind::Glob => Ok(Matcher::Compiled(compile(&glob_to_regex(pattern.trim()))?)),
            PatternKind::Regex => compile(pattern).map(Matcher::Compiled),
        }
    }

    pub fn matches(&self, code: &str) -> bool {
        match self {
            Matcher::Nothing => false,
            Matcher::Substring(s) => code.to_lowercase().contains(s.as_str()),
            Matcher::Compiled(re) => re.is_match(code),
        }
    }
}

fn compile(re: &str) -> Result<Regex, String> {
    RegexBuilder::new(re)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "That regular expression is too large.".to_string(),
            regex::Error::Syntax(s) => format!(
                "That is not a valid regular expression: {}",
                s.lines().last().unwrap_or("").trim()
            ),
            _ => "That is not a valid regular expression.".to_string(),
        })
}

/// `summer-*` → `^summer\-.*$`: `*` is any run, `?` any one character, the rest literal.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, k: PatternKind) -> Matcher {
        Matcher::new(p, k).unwrap()
    }

    #[test]
    fn substrings_are_case_insensitive() {
        assert!(m("fb", PatternKind::Substring).matches("summer-fb"));
        assert!(m("FB", PatternKind::Substring).matches("Summer-Fb"));
        assert!(!m("fb", PatternKind::Substring).matches("summer-tw"));
    }

    #[test]
    fn globs_anchor_and_match_wildcards() {
        let g = m("summer-*", PatternKind::Glob);
        assert!(g.matches("summer-fb") && g.matches("SUMMER-") && !g.matches("old-summer-fb"));
        assert!(m("p?rtner", PatternKind::Glob).matches("partner"));
        assert!(m("a.b", PatternKind::Glob).matches("a.b") && !m("a.b", PatternKind::Glob).matches("axb"));
    }

    #[test]
    fn regexes_are_checked_and_limited() {
        assert!(m("^(partner|affiliate)-\\d+$", PatternKind::Regex).matches("Partner-12"));
        assert!(Matcher::new("(unclosed", PatternKind::Regex).is_err());
        assert!(Matcher::new("a{1000}{1000}", PatternKind::Regex).is_err(), "too big");
        assert!(Matcher::new(&"a".repeat(501), PatternKind::Substring).is_err());
    }

    #[test]
    fn an_empty_pattern_matches_nothing() {
        for k in [PatternKind::Substring, PatternKind::Glob, PatternKind::Regex] {
            assert!(!m("", k).matches("anything"));
            assert!(!m("   ", k).matches("anything"));
        }
    }
}
