//! Referral links for their owners: `/api/links/create|update|deactivate|mine`, and
//! the "My links" page's data.

use crate::dto::{LinkCard, LinkEnvelope, LinksEnvelope, Page, ResponseDto};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `POST /api/links/create` (label, destination, code?, target_type?, target_id?, expires_at?).
#[server(prefix = "/api", endpoint = "links/create")]
pub async fn create_link(
    label: String,
    destination: String,
    #[server(default)] code: Option<String>,
    #[server(default)] target_type: Option<String>,
    #[server(default)] target_id: Option<String>,
    #[server(default)] expires_at: Option<String>,
) -> Result<LinkEnvelope, AppError> {
    use crate::server::referrals::links;
    use crate::server::state;
    let values = [
        ("label", label.clone()),
        ("destination", destination.clone()),
        ("code", code.clone().unwrap_or_default()),
    ];
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let input = links::LinkInput {
            label,
            destination,
            code,
            target_type,
            target_id,
            expires_at,
        };
        let valid = input.validate(Some(me.id), &st.config)?;
        let (link, _created) = links::create(&st.db.write, &st.config, &valid).await?;
        Ok(LinkEnvelope {
            link: links::dto_with_counts(&st.db.read, &st.config, &link).await?,
        })
    }
    .await;
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    super::respond::form("link_create", "/links", &values, result, None).await
}

/// `POST /api/links/update` (code, label, destination, expires_at).
#[server(prefix = "/api", endpoint = "links/update")]
pub async fn update_link(
    code: String,
    label: String,
    destination: String,
    #[server(default)] expires_at: Option<String>,
) -> Result<LinkEnvelope, AppError> {
    use crate::server::referrals::links;
    use crate::server::state;
    // The form's name carries the code only when it is one (it names a one-time message).
    let form = if crate::server::referrals::codes::validate_custom(&code).is_ok() {
        format!("link_update_{code}")
    } else {
        "links".to_string()
    };
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let link = links::owned(&st.db.read, &st.config, me.id, &code).await?;
        let link = links::update(
            &st.db.write,
            &st.config,
            &st.links,
            link,
            &label,
            &destination,
            expires_at.as_deref(),
        )
        .await?;
        Ok(LinkEnvelope {
            link: links::dto_with_counts(&st.db.read, &st.config, &link).await?,
        })
    }
    .await;
    super::respond::form(
        &form,
        "/links",
        &[("label", &label), ("destination", &destination)],
        result,
        None,
    )
    .await
}

/// `POST /api/links/deactivate` (code).
#[server(prefix = "/api", endpoint = "links/deactivate")]
pub async fn deactivate_link(code: String) -> Result<LinkEnvelope, AppError> {
    use crate::server::referrals::links;
    use crate::server::state;
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let link = links::owned(&st.db.read, &st.config, me.id, &code).await?;
        let link = links::deactivate(&st.db.write, &st.links, link).await?;
        Ok(LinkEnvelope {
            link: links::dto_with_counts(&st.db.read, &st.config, &link).await?,
        })
    }
    .await;
    super::respond::form("links", "/links", &[], result, None).await
}

/// `GET /api/links/mine`: the user's links with their counts, the personal link first.
#[server(prefix = "/api", endpoint = "links/mine", input = server_fn::codec::GetUrl)]
pub async fn my_links() -> Result<LinksEnvelope, AppError> {
    use crate::server::referrals::links;
    use crate::server::state;
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let rows = links::mine(&st.db.read, &st.config, me.id).await?;
        Ok(LinksEnvelope {
            links: rows.into_iter().map(|(_, dto)| dto).collect(),
        })
    }
    .await;
    super::respond::json(result)
}

/// The "My links" page: each link with its QR code.
#[server(prefix = "/api", endpoint = "links/cards", input = server_fn::codec::GetUrl)]
pub async fn link_cards() -> Result<Vec<LinkCard>, AppError> {
    use crate::server::referrals::links;
    use crate::server::state;
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let now = crate::server::time::now_ms();
        let rows = links::mine(&st.db.read, &st.config, me.id).await?;
        Ok(rows
            .into_iter()
            .map(|(model, dto)| links::card(&st.config, &model, dto, now))
            .collect())
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/links/responses?code=&page=`: one of the user's links and its responses.
#[server(prefix = "/api", endpoint = "links/responses", input = server_fn::codec::GetUrl)]
pub async fn link_responses(
    code: String,
    #[server(default)] page: Option<PageNumber>,
) -> Result<(LinkCard, Page<ResponseDto>), AppError> {
    use crate::server::referrals::{links, responses};
    use crate::server::state;
    let result = async {
        let me = state::require_user()?;
        let st = state::state()?;
        let link = links::owned(&st.db.read, &st.config, me.id, &code).await?;
        let dto = links::dto_with_counts(&st.db.read, &st.config, &link).await?;
        let page = responses::of_link(&st.db.read, &st.config, link.id, page.unwrap_or_default()).await?;
        Ok((links::card(&st.config, &link, dto, crate::server::time::now_ms()), page))
    }
    .await;
    super::respond::json(result)
}
