//! Referral links: the query parameters they use, where they may send people,
//! referrer codes made from unknown `?ref=` values, codes' case, and how actions are
//! named.

use super::{ConfigError, Env};
use crate::util::is_local_path;
use std::collections::BTreeMap;

#[derive(Clone)]
pub struct ReferralConfig {
    /// `REFERRAL_PARAM`, `REFERRAL_REDIRECT_PARAM`, `REFERRAL_CLICK_ID_PARAM`.
    pub param: String,
    pub redirect_param: String,
    pub click_id_param: String,
    /// `REFERRAL_DEFAULT_DESTINATION`: a path on this site.
    pub default_destination: String,
    /// `REFERRAL_ALLOWED_HOSTS`, lowercased.
    pub allowed_hosts: Vec<String>,
    /// `REFERRAL_AUTO_CREATE`, `REFERRAL_AUTO_ASSOCIATE`, `REFERRAL_AUTO_CREATE_PER_MINUTE`.
    pub auto_create: bool,
    pub auto_associate: bool,
    pub auto_create_per_minute: u32,
    /// `REFERRAL_CASE_SENSITIVE` (recorded in the database, see `server::meta`).
    pub case_sensitive: bool,
    /// `ACTION_LABELS`, with the built-in labels of `RESPONDED` and `SIGNED_UP`.
    pub action_labels: BTreeMap<String, String>,
}

impl ReferralConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default_destination = env.string("REFERRAL_DEFAULT_DESTINATION", "/");
        if !is_local_path(&default_destination) {
            return Err(ConfigError {
                var: "REFERRAL_DEFAULT_DESTINATION",
                message: format!("expected a path on this site starting with '/', got '{default_destination}'"),
            });
        }
        let allowed_hosts = env
            .list("REFERRAL_ALLOWED_HOSTS")
            .into_iter()
            .map(|h| {
                let h = h.to_ascii_lowercase();
                if h.contains('/') || h.contains(':') && !h.starts_with('[') || h.is_empty() {
                    Err(ConfigError {
                        var: "REFERRAL_ALLOWED_HOSTS",
                        message: format!("expected host names like shop.example.com, got '{h}'"),
                    })
                } else {
                    Ok(h)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let action_labels = {
            let mut labels = BTreeMap::from([
                ("RESPONDED".to_string(), "Clicked the link".to_string()),
                ("SIGNED_UP".to_string(), "Signed up".to_string()),
            ]);
            for entry in env.list("ACTION_LABELS") {
                let Some((k, v)) = entry.split_once('=') else {
                    return Err(ConfigError {
                        var: "ACTION_LABELS",
                        message: format!("expected ACTION=Label pairs separated by commas, got '{entry}'"),
                    });
                };
                labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            labels
        };
        Ok(ReferralConfig {
            param: env.param_name("REFERRAL_PARAM", "ref")?,
            redirect_param: env.param_name("REFERRAL_REDIRECT_PARAM", "redirect_to")?,
            click_id_param: env.param_name("REFERRAL_CLICK_ID_PARAM", "tb_click")?,
            default_destination,
            allowed_hosts,
            auto_create: env.bool("REFERRAL_AUTO_CREATE", true)?,
            auto_associate: env.bool("REFERRAL_AUTO_ASSOCIATE", true)?,
            case_sensitive: env.bool("REFERRAL_CASE_SENSITIVE", false)?,
            auto_create_per_minute: env.parse("REFERRAL_AUTO_CREATE_PER_MINUTE", "5", "a positive integer")?,
            action_labels,
        })
    }
}
