//! The UTM link builder: a page of this site with campaign tags, optionally through
//! `/r/<code>` so the click is also credited to a link or referrer code.

use crate::dto::TaggedUrl;
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::referrals::cache::LinkCache;
use crate::server::referrals::links::qr_svg;
use crate::server::time::now_ms;
use sea_orm::DatabaseConnection;

pub async fn build(
    db: &DatabaseConnection,
    config: &Config,
    links: &LinkCache,
    destination: &str,
    code: Option<&str>,
    tags: &[(&str, Option<String>)],
) -> Result<TaggedUrl, AppError> {
    let Some(destination) = crate::util::local_path(destination.trim_matches(' ')) else {
        return Err(AppError::validation(
            "destination",
            "Choose a page of this site, like /pricing.",
        ));
    };
    let mut errors = Vec::new();
    let given: Vec<(&str, String)> = tags
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (*k, v.to_string()))
        })
        .collect();
    for (k, v) in &given {
        if v.chars().count() > config.tracking.max_param_length || v.chars().any(char::is_control) {
            errors.push((
                *k,
                format!(
                    "{k} is at most {} printable characters.",
                    config.tracking.max_param_length
                ),
            ));
        }
    }
    if given.is_empty() {
        errors.push(("utm_source", "Fill in at least utm_source.".to_string()));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let base = config.server.base_origin();
    let mut url = match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let link = links
                .get(db, c)
                .await?
                .filter(|l| l.is_live(now_ms()))
                .ok_or_else(|| AppError::validation("code", "No active link or referrer code has this code."))?;
            let mut u = url::Url::parse(&format!("{base}/r/{}", link.code)).map_err(|_| AppError::internal())?;
            if destination != link.destination {
                u.query_pairs_mut()
                    .append_pair(&config.referrals.redirect_param, &destination);
            }
            u
        }
        None => url::Url::parse(&format!("{base}{destination}"))
            .map_err(|_| AppError::validation("destination", "That is not a path."))?,
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &given {
            q.append_pair(k, v);
        }
    }
    let url = url.to_string();
    Ok(TaggedUrl {
        qr_svg: qr_svg(&url),
        url,
    })
}
