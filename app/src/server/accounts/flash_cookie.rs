//! One-time form messages for visitors without a session.
//!
//! A failed anonymous form post (a wrong password, say) must not create a session row:
//! anyone could fill the sessions table by posting forms. Its message travels instead
//! in a short-lived cookie, signed (HMAC-SHA256) with a key kept in the database
//! (`app_meta.flash_key`, made at first start), so that every instance reads what
//! another wrote, and nobody can plant a message of their own. The next page that shows
//! the form takes it and clears the cookie. Visitors with a session keep the session's
//! message (`session::set_flash`).

use crate::dto::FormFlash;
use crate::server::config::ServerConfig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const COOKIE: &str = "tributary_flash";
/// Long enough for the redirect back to the form, short enough to be gone soon after.
const MAX_AGE_SECS: i64 = 120;
/// Browsers keep cookies up to 4 KB; the submitted values are dropped past this.
const MAX_COOKIE_BYTES: usize = 3500;
const MAX_VALUE_CHARS: usize = 200;

/// The signing key. Never printed.
#[derive(Clone)]
pub struct FlashKey([u8; 32]);

impl std::fmt::Debug for FlashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlashKey(..)")
    }
}

impl FlashKey {
    /// The key recorded in the database, made (by whichever instance starts first) when
    /// there is none.
    pub async fn load_or_create(db: &impl ConnectionTrait) -> Result<FlashKey, DbErr> {
        let backend = db.get_database_backend();
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        db.execute(crate::server::sql::stmt(
            backend,
            "INSERT INTO app_meta (key, value) VALUES ('flash_key', ?) ON CONFLICT (key) DO NOTHING",
            [fresh.into()],
        ))
        .await?;
        let row = db
            .query_one(crate::server::sql::stmt(
                backend,
                "SELECT value FROM app_meta WHERE key = 'flash_key'",
                [],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the flash key was not recorded".into()))?;
        let value: String = row.try_get("", "value")?;
        let bytes: [u8; 32] = hex::decode(value.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| DbErr::Custom("app_meta.flash_key is not 32 bytes of hex".into()))?;
        Ok(FlashKey(bytes))
    }

    /// A key for tests and tools that do not touch a database.
    pub fn random() -> FlashKey {
        FlashKey(rand::random())
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }

    /// The cookie value carrying `flash` for `form`, valid until `now + MAX_AGE`.
    pub fn encode(&self, form: &str, mut flash: FormFlash, now_ms: i64) -> String {
        for v in flash.values.values_mut() {
            if v.chars().count() > MAX_VALUE_CHARS {
                *v = v.chars().take(MAX_VALUE_CHARS).collect();
            }
        }
        let mut body = Payload {
            form: form.to_string(),
            flash,
            expires_ms: now_ms + MAX_AGE_SECS * 1000,
        };
        let mut value = self.sign(&body);
        if value.len() > MAX_COOKIE_BYTES {
            body.flash.values.clear();
            value = self.sign(&body);
        }
        value
    }

    fn sign(&self, body: &Payload) -> String {
        let payload = B64.encode(serde_json::to_vec(body).unwrap_or_default());
        let tag = B64.encode(self.mac(payload.as_bytes()).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The form and message of a cookie value this key signed, unless it has expired.
    pub fn decode(&self, value: &str, now_ms: i64) -> Option<(String, FormFlash)> {
        let (payload, tag) = value.split_once('.')?;
        let tag = B64.decode(tag).ok()?;
        self.mac(payload.as_bytes()).verify_slice(&tag).ok()?;
        let body: Payload = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        (body.expires_ms > now_ms).then_some((body.form, body.flash))
    }

    /// The message in a request's flash cookie, if it has a valid one.
    pub fn from_headers(&self, headers: &http::HeaderMap, now_ms: i64) -> Option<(String, FormFlash)> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .and_then(|v| self.decode(v, now_ms))
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    form: String,
    flash: FormFlash,
    expires_ms: i64,
}

/// Whether a request carries a flash cookie at all (a few comparisons; no parsing).
pub fn present(headers: &http::HeaderMap) -> bool {
    headers.get_all(http::header::COOKIE).iter().any(|h| {
        h.as_bytes()
            .windows(COOKIE.len() + 1)
            .any(|w| w.starts_with(COOKIE.as_bytes()) && w[COOKIE.len()] == b'=')
    })
}

pub fn set_cookie(config: &ServerConfig, value: &str) -> http::HeaderValue {
    cookie(config, value, MAX_AGE_SECS)
}

pub fn clear_cookie(config: &ServerConfig) -> http::HeaderValue {
    cookie(config, "", 0)
}

fn cookie(config: &ServerConfig, value: &str, max_age: i64) -> http::HeaderValue {
    let secure = if config.cookies_secure() { "; Secure" } else { "" };
    let v = format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    http::HeaderValue::from_str(&v).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn flash() -> FormFlash {
        FormFlash {
            error: Some(AppError::unauthorized("The email or password is incorrect.")),
            values: [("email".to_string(), "a@example.com".to_string())].into(),
            notice: None,
        }
    }

    #[test]
    fn a_signed_message_reads_back_until_it_expires() {
        let key = FlashKey::random();
        let v = key.encode("login", flash(), 1_000);
        assert_eq!(key.decode(&v, 2_000), Some(("login".to_string(), flash())));
        assert_eq!(key.decode(&v, 1_000 + MAX_AGE_SECS * 1000), None);
    }

    #[test]
    fn a_forged_or_foreign_message_is_ignored() {
        let key = FlashKey::random();
        let v = key.encode("login", flash(), 0);
        assert_eq!(FlashKey::random().decode(&v, 1), None);
        let (payload, tag) = v.split_once('.').unwrap();
        let mut forged = flash();
        forged.notice = Some("Phishing: call this number".into());
        let other = B64.encode(
            serde_json::to_vec(&Payload {
                form: "login".into(),
                flash: forged,
                expires_ms: i64::MAX,
            })
            .unwrap(),
        );
        assert_eq!(key.decode(&format!("{other}.{tag}"), 1), None);
        assert_eq!(key.decode(payload, 1), None);
        assert_eq!(key.decode("garbage", 1), None);
    }

    #[test]
    fn long_values_are_cut_to_fit_a_cookie() {
        let key = FlashKey::random();
        let mut f = flash();
        for i in 0..40 {
            f.values.insert(format!("field{i}"), "x".repeat(500));
        }
        let v = key.encode("campaign_create", f, 0);
        assert!(v.len() <= MAX_COOKIE_BYTES, "{}", v.len());
        let (_, back) = key.decode(&v, 1).unwrap();
        assert_eq!(back.error, flash().error);
    }
}
