//! "My links" (`/links`) and one link's responses (`/links/:code`).

use crate::api::links::{CreateLink, DeactivateLink, UpdateLink, link_cards, link_responses};
use crate::components::forms::{Field, FormAlert, field_error, flash_resource, form_error};
use crate::components::pagination::Pagination;
use crate::dto::{FormFlash, LinkCard};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn LinksPage() -> impl IntoView {
    let create = ServerAction::<CreateLink>::new();
    let update = ServerAction::<UpdateLink>::new();
    let deactivate = ServerAction::<DeactivateLink>::new();
    let flash = flash_resource("link_create");
    let cards = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                deactivate.version().get(),
            )
        },
        |_| link_cards(),
    );
    let change_error = Signal::derive(move || {
        [
            update.value().get().and_then(|r| r.err()),
            deactivate.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    view! {
        <Title text="My links"/>
        <h1>"My links"</h1>
        <p class="muted">"Share a link: every visit through it, and every sign-up it brings, counts for you."</p>
        {move || change_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e.message}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match cards.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(cards) => view! {
                        <div class="link-cards">
                            {cards.into_iter().map(|c| view! { <LinkCardView card=c update deactivate/> }).collect_view()}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <h2>"Create a link"</h2>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let flash = flash.await;
                view! { <CreateLinkForm action=create flash/> }
            })}
        </Suspense>
    }
}

#[component]
fn CreateLinkForm(action: ServerAction<CreateLink>, flash: Option<FormFlash>) -> impl IntoView {
    let values = flash.as_ref().map(|f| f.values.clone()).unwrap_or_default();
    let error = form_error(move || action.value().get(), flash);
    let created = move || match action.value().get() {
        Some(Ok(env)) => Some(env.link.url),
        _ => None,
    };
    view! {
        <ActionForm action=action attr:class="form narrow" attr:id="create-link-form" attr:novalidate=true>
            <FormAlert error/>
            {move || created().map(|url| view! { <p class="alert alert-ok" role="status">"Created " <code>{url}</code></p> })}
            <Field label="Label" name="label" value=values.get("label").cloned().unwrap_or_default() error=field_error(error, "label")
                hint="For you, to tell your links apart: \"Newsletter\", \"Conference talk\"."/>
            <Field label="Destination" name="destination" value=values.get("destination").cloned().unwrap_or_else(|| "/".into())
                error=field_error(error, "destination") hint="A page of this site, like /pricing, or an allowed partner site."/>
            <Field label="Custom code (optional)" name="code" value=values.get("code").cloned().unwrap_or_default()
                error=field_error(error, "code") hint="3 to 64 letters, digits, - or _. Leave empty for a random one."/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Create link"</button>
        </ActionForm>
    }
}

/// One link: its shareable URL with a copy button, QR code, counts, and edit controls.
#[component]
pub fn LinkCardView(
    card: LinkCard,
    update: ServerAction<UpdateLink>,
    deactivate: ServerAction<DeactivateLink>,
) -> impl IntoView {
    let LinkCard {
        link,
        qr_svg,
        expired,
        action_labels,
    } = card;
    let copied = RwSignal::new(false);
    let url = link.url.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&url);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &url;
        copied.set(true);
    };
    let code = link.code.clone();
    let status = if !link.active {
        Some("inactive")
    } else if expired {
        Some("expired")
    } else {
        None
    };
    let responses: Vec<(String, i64)> = link
        .responses
        .iter()
        .map(|(a, n)| (action_labels.get(a).cloned().unwrap_or_else(|| a.clone()), *n))
        .collect();
    let detail_href = format!("/links/{}", crate::util::urlencode(&link.code));
    let input_id = format!("link-url-{}", link.code);
    let value = link
        .value
        .iter()
        .map(|(c, v)| format!("{v} {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <article class="link-card" data-code=link.code.clone()>
            <div class="link-main">
                <h3>
                    {link.label.clone()}
                    {link.is_personal.then(|| view! { <span class="badge">"Personal"</span> })}
                    {status.map(|s| view! { <span class="badge badge-off">{s}</span> })}
                </h3>
                <div class="copy-row">
                    <label class="visually-hidden" for=input_id.clone()>"Shareable link"</label>
                    <input id=input_id class="link-url mono" type="text" readonly value=link.url.clone()/>
                    <button type="button" class="button button-small copy-button" on:click=copy>
                        {move || if copied.get() { "Copied!" } else { "Copy" }}
                    </button>
                </div>
                <p class="muted small">"Goes to " <code>{link.destination.clone()}</code></p>
                <dl class="stats">
                    <div><dt>"Clicks"</dt><dd class="stat-clicks">{link.clicks}</dd></div>
                    <div><dt>"Unique visitors"</dt><dd class="stat-unique">{link.unique_visitors}</dd></div>
                    <div><dt>"Sign-ups"</dt><dd class="stat-signups">{link.signups}</dd></div>
                    <div><dt>"Conversions"</dt><dd class="stat-conversions">{link.conversions}</dd></div>
                    <div><dt>"Value"</dt><dd class="stat-value">{if value.is_empty() { "—".to_string() } else { value }}</dd></div>
                </dl>
                {(!responses.is_empty()).then(|| view! {
                    <p class="small muted">
                        {responses.into_iter().map(|(label, n)| format!("{label}: {n}")).collect::<Vec<_>>().join(" · ")}
                    </p>
                })}
                <p><A href=detail_href>"See its responses"</A></p>
                {link.active.then(|| {
                    let (c1, c2) = (code.clone(), code.clone());
                    let expires = link.expires_at.clone().unwrap_or_default();
                    view! {
                        <details class="edit-link">
                            <summary>"Edit"</summary>
                            <ActionForm action=update attr:class="form">
                                <input type="hidden" name="code" value=c1/>
                                <div class="field"><label>"Label"<input type="text" name="label" value=link.label.clone()/></label></div>
                                <div class="field"><label>"Destination"<input type="text" name="destination" value=link.destination.clone()/></label></div>
                                <div class="field"><label>"Expires (YYYY-MM-DD, empty for never)"<input type="text" name="expires_at" value=expires/></label></div>
                                <button type="submit" class="button button-small">"Save"</button>
                            </ActionForm>
                            <ActionForm action=deactivate attr:class="inline-form">
                                <input type="hidden" name="code" value=c2/>
                                <button type="submit" class="button button-small button-danger">"Deactivate"</button>
                            </ActionForm>
                        </details>
                    }
                })}
            </div>
            <div class="qr" inner_html=qr_svg></div>
        </article>
    }
}

#[component]
pub fn LinkDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let update = ServerAction::<UpdateLink>::new();
    let deactivate = ServerAction::<DeactivateLink>::new();
    let data = Resource::new(
        move || {
            (
                params.read().get("code").unwrap_or_default(),
                Some(crate::paging::PageNumber::from_query(
                    query.read().get("page").as_deref(),
                )),
                update.version().get(),
                deactivate.version().get(),
            )
        },
        |(code, page, _, _)| link_responses(code, page),
    );
    view! {
        <Title text="Link"/>
        <p><A href="/links">"← My links"</A></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Link"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok((card, page)) => {
                        let code = card.link.code.clone();
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        view! {
                            <h1>{card.link.label.clone()}</h1>
                            <LinkCardView card update deactivate/>
                            <h2>"Responses"</h2>
                            {if page.items.is_empty() {
                                view! { <p class="muted">"No responses yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="table" id="responses-table">
                                            <thead><tr><th>"When"</th><th>"Action"</th><th>"Target"</th></tr></thead>
                                            <tbody>
                                                {page.items.into_iter().map(|r| view! {
                                                    <tr>
                                                        <td class="nowrap">{r.at}</td>
                                                        <td>{r.action_label}</td>
                                                        <td>{match (r.target_type, r.target_id) {
                                                            (Some(t), Some(i)) => format!("{t} {i}"),
                                                            _ => "—".to_string(),
                                                        }}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                            <Pagination page=current pages total href=move |p: u64| format!("/links/{}?page={p}", crate::util::urlencode(&code))/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
