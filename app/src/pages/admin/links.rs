//! `/admin/links` and `/admin/responses`.

use crate::api::admin_links::{admin_links, admin_responses};
use crate::components::pagination::ExportLink;
use crate::components::pagination::Pagination;
use crate::util::urlencode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

fn query_string(pairs: &[(&str, Option<String>)], page: u64) -> String {
    let mut qs: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v))))
        .collect();
    qs.push(format!("page={page}"));
    qs.join("&")
}

#[component]
pub fn AdminLinksPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                get("q"),
                get("status"),
                Some(crate::paging::PageNumber::from_query(get("page").as_deref())),
            )
        },
        |(q, status, page)| admin_links(q, status, page),
    );
    view! {
        <Title text="Links"/>
        <h1>"Links"</h1>
        <p class="table-actions"><ExportLink table="links"/></p>
        <Form method="GET" action="" attr:class="toolbar">
            <label>"Code, label or owner"<input type="search" name="q" value=move || get("q").unwrap_or_default()/></label>
            <label>"Status"
                <select name="status">
                    {[("", "all"), ("active", "active"), ("inactive", "inactive"), ("expired", "expired")].into_iter().map(|(v, l)| {
                        view! { <option value=v selected=move || get("status").unwrap_or_default() == v>{l}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button button-small">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        let filters = [("q", get("q")), ("status", get("status"))];
                        view! {
                            <div class="table-wrap">
                                <table class="table" id="links-table">
                                    <thead><tr>
                                        <th>"Code"</th><th>"Label"</th><th>"Owner"</th><th>"Campaign"</th><th>"Destination"</th>
                                        <th class="num">"Clicks"</th><th class="num">"Unique"</th><th class="num">"Sign-ups"</th>
                                        <th class="num">"Conversions"</th><th>"Status"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.items.into_iter().map(|row| {
                                            let l = row.link;
                                            let responses_href = format!("/admin/responses?link={}", urlencode(&l.code));
                                            let code_text = l.code.clone();
                                            let status = if !l.active { "inactive" } else if l.expires_at.is_some() { "expires" } else { "active" };
                                            view! {
                                                <tr data-code=l.code.clone()>
                                                    <td class="mono"><A href=responses_href>{code_text}</A></td>
                                                    <td>{l.label.clone()}</td>
                                                    <td>{row.owner_email.unwrap_or_else(|| "— (referrer code)".into())}</td>
                                                    <td>{row.campaign.unwrap_or_default()}</td>
                                                    <td class="mono break">{l.destination.clone()}</td>
                                                    <td class="num">{l.clicks}</td>
                                                    <td class="num">{l.unique_visitors}</td>
                                                    <td class="num">{l.signups}</td>
                                                    <td class="num">{l.conversions}</td>
                                                    <td>{status}{l.expires_at.clone().map(|e| format!(" {e}"))}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages total href=move |p: u64| format!("/admin/links?{}", query_string(&filters, p))/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

const RESPONSE_FILTERS: [(&str, &str); 7] = [
    ("action", "Action"),
    ("link", "Link code"),
    ("user", "User email"),
    ("from", "From (YYYY-MM-DD)"),
    ("to", "To (YYYY-MM-DD)"),
    ("target_type", "Target type"),
    ("target_id", "Target id"),
];

#[component]
pub fn AdminResponsesPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                RESPONSE_FILTERS.map(|(k, _)| get(k)),
                Some(crate::paging::PageNumber::from_query(get("page").as_deref())),
            )
        },
        |([a, l, u, f, t, tt, ti], page)| admin_responses(a, l, u, f, t, tt, ti, page),
    );
    view! {
        <Title text="Responses"/>
        <h1>"Responses"</h1>
        <p class="table-actions"><ExportLink table="responses"/></p>
        <Form method="GET" action="" attr:class="toolbar">
            {RESPONSE_FILTERS.into_iter().map(|(name, label)| view! {
                <label>{label}<input type="text" name=name value=move || get(name).unwrap_or_default()/></label>
            }).collect_view()}
            <button type="submit" class="button button-small">"Filter"</button>
            <A href="/admin/responses">"Clear"</A>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        let filters: Vec<(&str, Option<String>)> = RESPONSE_FILTERS.iter().map(|(k, _)| (*k, get(k))).collect();
                        view! {
                            <div class="table-wrap">
                                <table class="table" id="responses-table">
                                    <thead><tr>
                                        <th>"When"</th><th>"Action"</th><th>"Link"</th><th>"User"</th><th>"Identity"</th>
                                        <th>"Target"</th><th>"http_referrer"</th><th>"Address"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.items.into_iter().map(|r| {
                                            let target = match (r.target_type.clone(), r.target_id.clone()) {
                                                (Some(t), Some(i)) => {
                                                    let href = format!("/admin/responses?target_type={}&target_id={}", urlencode(&t), urlencode(&i));
                                                    view! { <A href=href>{format!("{t} {i}")}</A> }.into_any()
                                                }
                                                _ => view! { <span class="muted">"—"</span> }.into_any(),
                                            };
                                            view! {
                                                <tr>
                                                    <td class="nowrap">{r.at}</td>
                                                    <td title=r.action.clone()>{r.action_label}</td>
                                                    <td class="mono">{r.link_code}</td>
                                                    <td>{r.user_email.unwrap_or_default()}</td>
                                                    <td>{r.identity_id.map(|i| {
                                                        let href = format!("/admin/identities/{i}");
                                                        view! { <A href=href>{format!("#{i}")}</A> }
                                                    })}</td>
                                                    <td>{target}</td>
                                                    <td class="mono break">{r.http_referrer.unwrap_or_default()}</td>
                                                    <td class="mono">{r.client_ip.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages total href=move |p: u64| format!("/admin/responses?{}", query_string(&filters, p))/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
