//! `/admin/touchpoints` and `/admin/identities/:id`.

use crate::api::admin_tracking::{get_identity, list_touchpoints};
use crate::components::pagination::ExportLink;
use crate::components::pagination::Pagination;
use crate::dto::TouchpointRow;
use crate::util::urlencode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

const FILTERS: [(&str, &str); 6] = [
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("referrer_host", "Referrer host"),
    ("from", "From (YYYY-MM-DD)"),
    ("to", "To (YYYY-MM-DD)"),
];

#[component]
pub fn AdminTouchpointsPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                get("utm_source"),
                get("utm_medium"),
                get("utm_campaign"),
                get("referrer_host"),
                get("from"),
                get("to"),
                Some(crate::paging::PageNumber::from_query(get("page").as_deref())),
            )
        },
        |(s, m, c, r, f, t, p)| list_touchpoints(s, m, c, r, f, t, p),
    );
    view! {
        <Title text="Touchpoints"/>
        <h1>"Touchpoints"</h1>
        <p class="table-actions"><ExportLink table="touchpoints"/></p>
        <Form method="GET" action="" attr:class="toolbar">
            {FILTERS.into_iter().map(|(name, label)| view! {
                <label>{label}<input type="text" name=name value=move || get(name).unwrap_or_default()/></label>
            }).collect_view()}
            <button type="submit" class="button button-small">"Filter"</button>
            <A href="/admin/touchpoints">"Clear"</A>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        let base: Vec<(String, String)> = FILTERS
                            .iter()
                            .filter_map(|(k, _)| get(k).map(|v| (k.to_string(), v)))
                            .collect();
                        view! {
                            <TouchTable rows=page.items with_identity=true/>
                            <Pagination page=current pages total href=move |p: u64| {
                                let mut qs: Vec<String> = base.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
                                qs.push(format!("page={p}"));
                                format!("/admin/touchpoints?{}", qs.join("&"))
                            }/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// A table of touches. Every value is text; referrers are never links.
#[component]
pub fn TouchTable(rows: Vec<TouchpointRow>, with_identity: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No touchpoints."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table touch-table">
                <thead>
                    <tr>
                        <th>"When"</th>
                        {with_identity.then(|| view! { <th>"Identity"</th> })}
                        <th>"Source / medium"</th>
                        <th>"Channel"</th>
                        <th>"utm_campaign"</th>
                        <th>"Link"</th>
                        <th>"Landing"</th>
                        <th>"http_referrer"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|t| view! {
                        <tr>
                            <td class="nowrap">{t.at}</td>
                            {with_identity.then(|| {
                                let href = format!("/admin/identities/{}", t.identity_id);
                                view! { <td><A href=href>{format!("#{}", t.identity_id)}</A></td> }
                            })}
                            <td>{format!("{} / {}", t.source, t.medium)}</td>
                            <td>{t.channel}</td>
                            <td>{t.utm_campaign.unwrap_or_default()}</td>
                            <td class="mono">{t.link_code.unwrap_or_default()}</td>
                            <td class="mono break">{t.path}</td>
                            <td class="mono break">{t.http_referrer.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn AdminIdentityPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(move || params.read().get("id").unwrap_or_default(), get_identity);
    view! {
        <Title text="Identity"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Identity"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(d) => view! {
                        <h1>{format!("Identity #{}", d.id)}</h1>
                        <dl class="facts">
                            <dt>"Cookie value"</dt><dd class="mono">{d.public_id.clone()}</dd>
                            <dt>"First seen"</dt><dd>{d.created_at.clone()}</dd>
                            <dt>"User"</dt>
                            <dd id="identity-user">{d.user_email.clone().unwrap_or_else(|| "anonymous".into())}</dd>
                            {d.merged_into.clone().map(|m| {
                                let href = format!("/admin/identities/{m}");
                                view! { <dt>"Merged into"</dt><dd><A href=href>{format!("#{m}")}</A></dd> }
                            })}
                        </dl>
                        <h2>"Merged identities"</h2>
                        {if d.merged.is_empty() {
                            view! { <p class="muted">"None."</p> }.into_any()
                        } else {
                            view! {
                                <ul>
                                    {d.merged.into_iter().map(|m| view! {
                                        <li>{format!("#{} ({}), merged {}", m.id, m.public_id, m.merged_at)}</li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        <h2>"Touches"</h2>
                        <TouchTable rows=d.touches with_identity=false/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
