//! Recording conversions: the currency of values given without one, and whether a
//! sign-up is itself a conversion.

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct ConversionConfig {
    /// `DEFAULT_CURRENCY`: an ISO 4217 code, uppercased.
    pub default_currency: String,
    /// `RECORD_SIGNUP_CONVERSION`.
    pub record_signup_conversion: bool,
}

impl ConversionConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default_currency = env.string("DEFAULT_CURRENCY", "EUR").to_ascii_uppercase();
        if crate::server::money::Currency::parse(&default_currency).is_none() {
            return Err(ConfigError {
                var: "DEFAULT_CURRENCY",
                message: format!("expected an ISO 4217 currency code like EUR, got '{default_currency}'"),
            });
        }
        Ok(ConversionConfig {
            default_currency,
            record_signup_conversion: env.bool("RECORD_SIGNUP_CONVERSION", true)?,
        })
    }
}
