//! Bot detection: one case-insensitive pattern list, extendable with
//! `EXTRA_BOT_PATTERNS`. An empty user agent is a bot.

use regex::{Regex, RegexBuilder};

/// Substrings of well-known crawlers, previewers, HTTP libraries and headless
/// browsers. "bot" covers Googlebot, Bingbot, Twitterbot, LinkedInBot, Slackbot,
/// YandexBot, DuckDuckBot, AhrefsBot, SemrushBot, MJ12bot and most others.
pub const PATTERNS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "facebookcatalog",
    "embedly",
    "quora link preview",
    "whatsapp",
    "skypeuripreview",
    "preview",
    "curl/",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "apache-httpclient",
    "libwww",
    "lwp::",
    "httpclient",
    "axios/",
    "node-fetch",
    "undici",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "puppeteer",
    "playwright",
    "selenium",
    "lighthouse",
    "pingdom",
    "uptimerobot",
    "statuscake",
    "monitor",
    "feedfetcher",
    "mediapartners",
    "archive.org",
];

pub struct BotFilter {
    re: Regex,
}

impl BotFilter {
    pub fn new(extra: &[String]) -> Self {
        let alternatives: Vec<String> = PATTERNS
            .iter()
            .map(|p| regex::escape(p))
            .chain(extra.iter().filter(|p| !p.is_empty()).map(|p| regex::escape(p)))
            .collect();
        let re = RegexBuilder::new(&alternatives.join("|"))
            .case_insensitive(true)
            .build()
            .unwrap_or_else(|_| Regex::new("bot").expect("a literal pattern compiles"));
        BotFilter { re }
    }

    pub fn is_bot(&self, user_agent: Option<&str>) -> bool {
        match user_agent.map(str::trim) {
            None | Some("") => true,
            Some(ua) => self.re.is_match(ua),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_bots_are_matched() {
        let f = BotFilter::new(&[]);
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
            "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "",
            "   ",
        ] {
            assert!(f.is_bot(Some(ua)), "{ua}");
        }
        assert!(f.is_bot(None));
    }

    #[test]
    fn browsers_are_not_bots_and_extra_patterns_extend_the_list() {
        let f = BotFilter::new(&["acme-checker".into()]);
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ] {
            assert!(!f.is_bot(Some(ua)), "{ua}");
        }
        assert!(f.is_bot(Some("ACME-Checker/2.0")));
    }
}
