//! `/admin/conversions` and `/admin/api-keys`.

use crate::api::conversions::{
    CancelConversion, ConfirmConversion, CreateApiKey, RevokeApiKey, admin_conversions, list_api_keys,
};
use crate::components::forms::{Field, FormAlert, field_error, flash_resource, form_error};
use crate::components::pagination::ExportLink;
use crate::components::pagination::Pagination;
use crate::util::urlencode;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

const FILTERS: [(&str, &str); 7] = [
    ("event", "Event"),
    ("status", "Status (valid, pending, cancelled)"),
    ("currency", "Currency"),
    ("from", "From (YYYY-MM-DD)"),
    ("to", "To (YYYY-MM-DD)"),
    ("user", "User email"),
    ("source", "Last-touch source"),
];

#[component]
pub fn AdminConversionsPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let confirm = ServerAction::<ConfirmConversion>::new();
    let cancel = ServerAction::<CancelConversion>::new();
    let data = Resource::new(
        move || {
            (
                FILTERS.map(|(k, _)| get(k)),
                Some(crate::paging::PageNumber::from_query(get("page").as_deref())),
                confirm.version().get(),
                cancel.version().get(),
            )
        },
        |([e, s, c, f, t, u, src], page, _, _)| admin_conversions(e, s, c, f, t, u, src, page),
    );
    view! {
        <Title text="Conversions"/>
        <h1>"Conversions"</h1>
        <p class="table-actions"><ExportLink table="conversions"/></p>
        <Form method="GET" action="" attr:class="toolbar">
            {FILTERS.into_iter().map(|(name, label)| view! {
                <label>{label}<input type="text" name=name value=move || get(name).unwrap_or_default()/></label>
            }).collect_view()}
            <button type="submit" class="button button-small">"Filter"</button>
            <A href="/admin/conversions">"Clear"</A>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        let filters: Vec<(String, String)> = FILTERS.iter().filter_map(|(k, _)| get(k).map(|v| (k.to_string(), v))).collect();
                        view! {
                            <div class="table-wrap">
                                <table class="table" id="conversions-table">
                                    <thead><tr>
                                        <th>"When"</th><th>"Event"</th><th class="num">"Value"</th><th>"Status"</th><th>"User"</th>
                                        <th>"Identity"</th><th>"Source object"</th><th>"Last touch"</th><th>"Actions"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.items.into_iter().map(|row| {
                                            let c = row.conversion;
                                            let (id1, id2) = (c.id.clone(), c.id.clone());
                                            let value = c.value.clone().map(|v| format!("{v} {}", c.currency)).unwrap_or_else(|| "—".into());
                                            view! {
                                                <tr data-id=c.id.clone()>
                                                    <td class="nowrap"><A href=format!("/admin/conversions/{}", c.id) attr:class="explain-link">{row.at}</A></td>
                                                    <td>{c.event.clone()}</td>
                                                    <td class="num">{value}</td>
                                                    <td class="status">{row.status}</td>
                                                    <td>{row.user_email.unwrap_or_default()}</td>
                                                    <td>{c.identity_id.clone().map(|i| {
                                                        let href = format!("/admin/identities/{i}");
                                                        view! { <A href=href>{format!("#{i}")}</A> }
                                                    })}</td>
                                                    <td>{match (c.source_type.clone(), c.source_id.clone()) {
                                                        (Some(t), Some(i)) => format!("{t} {i}"),
                                                        _ => String::new(),
                                                    }}</td>
                                                    <td>{row.last_touch_source.unwrap_or_default()}</td>
                                                    <td class="actions">
                                                        {(!c.confirmed).then(|| view! {
                                                            <ActionForm action=confirm attr:class="inline-form">
                                                                <input type="hidden" name="id" value=id1/>
                                                                <button type="submit" class="button button-small button-secondary">"Confirm"</button>
                                                            </ActionForm>
                                                        })}
                                                        {c.active.then(|| view! {
                                                            <ActionForm action=cancel attr:class="inline-form">
                                                                <input type="hidden" name="id" value=id2/>
                                                                <button type="submit" class="button button-small button-secondary">"Cancel"</button>
                                                            </ActionForm>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages total href=move |p: u64| {
                                let mut qs: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
                                qs.push(format!("page={p}"));
                                format!("/admin/conversions?{}", qs.join("&"))
                            }/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AdminApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let flash = flash_resource("api_keys");
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    view! {
        <Title text="API keys"/>
        <h1>"API keys"</h1>
        <p class="muted">"Keys let your backend call the REST API at /api/v1 (documented at "<a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a>"). A key is shown once."</p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let flash = flash.await;
                let notice = flash.as_ref().and_then(|f| f.notice.clone());
                let error = form_error(move || create.value().get(), flash);
                view! {
                    {notice.map(|n| view! { <p class="alert alert-ok new-key" role="status">{n}</p> })}
                    {move || match create.value().get() {
                        Some(Ok(k)) => Some(view! {
                            <div class="alert alert-ok" role="status">
                                <p>"Your new key. Copy it now: it is not shown again."</p>
                                <input class="link-url mono new-key-secret" type="text" readonly value=k.secret/>
                            </div>
                        }),
                        _ => None,
                    }}
                    <ActionForm action=create attr:class="form narrow" attr:id="api-key-form">
                        <FormAlert error/>
                        <Field label="Name" name="name" error=field_error(error, "name") hint="Who uses it, like \"Shop backend\"."/>
                        <button type="submit" class="button">"Create key"</button>
                    </ActionForm>
                }
            })}
        </Suspense>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="table" id="api-keys-table">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| {
                                        let id = k.id.clone();
                                        view! {
                                            <tr>
                                                <td>{k.name.clone()}</td>
                                                <td class="mono">{format!("{}…", k.prefix)}</td>
                                                <td class="nowrap">{k.created_at.clone()}</td>
                                                <td class="nowrap">{k.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                                <td>{if k.revoked { "revoked" } else { "active" }}</td>
                                                <td>{(!k.revoked).then(|| view! {
                                                    <ActionForm action=revoke attr:class="inline-form">
                                                        <input type="hidden" name="id" value=id/>
                                                        <button type="submit" class="button button-small button-danger">"Revoke"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
