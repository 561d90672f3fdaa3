//! `/admin/campaigns`, `/admin/campaigns/:id` and `/admin/referrers`.

use crate::api::campaigns::{
    AssignLinks, CreateCampaign, DeleteCampaign, RematchCampaigns, UpdateCampaign, get_campaign, list_campaigns,
    list_referrers,
};
use crate::api::dashboards::{get_campaign_page, get_campaigns_performance};
use crate::components::charts::{LineChart, Sparkline};
use crate::components::forms::{Field, FormAlert, field_error, flash_resource, form_error};
use crate::components::pagination::Pagination;
use crate::components::pagination::{CsvLink, ExportLink};
use crate::components::range::RangePicker;
use crate::dto::CampaignPerformance;
use crate::dto::{CampaignDto, FormFlash};
use crate::util::urlencode;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AdminCampaignsPage() -> impl IntoView {
    let create = ServerAction::<CreateCampaign>::new();
    let rematch = ServerAction::<RematchCampaigns>::new();
    let flash = flash_resource("campaign_create");
    let notice = flash_resource("campaigns");
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                rematch.version().get(),
                get("range"),
                get("from"),
                get("to"),
            )
        },
        |(_, _, r, f, t)| get_campaigns_performance(r, f, t),
    );
    view! {
        <Title text="Campaigns"/>
        <h1>"Campaigns"</h1>
        <p class="muted">"New referrer codes join the first campaign, by name, whose pattern matches them. Clicks outside a campaign's dates count for the link, not for the campaign."</p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let n = notice.await.and_then(|f| f.notice);
                view! {
                    {n.map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
                    {move || match rematch.value().get() {
                        Some(Ok(a)) => Some(view! { <p class="alert alert-ok" role="status">{format!("Re-matching assigned {} code(s).", a.assigned)}</p> }),
                        _ => None,
                    }}
                }
            })}
        </Suspense>
        <ActionForm action=rematch attr:class="inline-form" attr:id="rematch-form">
            <button type="submit" class="button button-secondary button-small">"Re-match unassigned referrer codes"</button>
        </ActionForm>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(perf) => {
                        let q = perf.range.query.clone();
                        view! {
                            <RangePicker range=perf.range.clone() base="/admin/campaigns"/>
                            <p><CsvLink href=format!("/admin/export/campaigns.csv?{q}")/></p>
                            {if perf.campaigns.is_empty() {
                                view! { <p class="muted">"No campaigns yet."</p> }.into_any()
                            } else {
                                view! { <CampaignTable list=perf.campaigns query=q/> }.into_any()
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <h2>"New campaign"</h2>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let flash = flash.await;
                view! { <CampaignForm action=create flash campaign=None/> }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignTable(list: Vec<CampaignPerformance>, query: String) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" id="campaigns-table">
                <thead><tr>
                    <th>"Name"</th><th>"Pattern"</th><th>"Dates"</th><th class="num">"Codes"</th>
                    <th class="num">"Clicks"</th><th class="num">"Sign-ups"</th><th class="num">"Unique visitors"</th>
                    <th class="num">"Conversions"</th><th class="num">"Value"</th><th>"Trend"</th><th>"Status"</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|p| {
                        let c = p.campaign;
                        let href = format!("/admin/campaigns/{}?{query}", c.id);
                        let name = c.name.clone();
                        let value = if p.value.is_empty() { "—".to_string() } else { p.value.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ") };
                        view! {
                            <tr data-name=c.name.clone()>
                                <td><A href=href>{name}</A></td>
                                <td class="mono">{format!("{} ({})", c.pattern, c.pattern_kind)}</td>
                                <td>{dates(&c)}</td>
                                <td class="num">{c.codes}</td>
                                <td class="num stat-clicks">{c.clicks}</td>
                                <td class="num stat-signups">{c.signups}</td>
                                <td class="num">{c.unique_visitors}</td>
                                <td class="num stat-conversions">{p.conversions}</td>
                                <td class="num">{value}</td>
                                <td><Sparkline values=p.sparkline label=format!("Conversions per day of {}", c.name)/></td>
                                <td>{if c.active { "active" } else { "inactive" }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn dates(c: &CampaignDto) -> String {
    match (&c.starts_on, &c.ends_on) {
        (None, None) => "always".into(),
        (Some(s), None) => format!("from {s}"),
        (None, Some(e)) => format!("until {e}"),
        (Some(s), Some(e)) => format!("{s} – {e}"),
    }
}

/// The create form.
#[component]
fn CampaignForm(
    action: ServerAction<CreateCampaign>,
    flash: Option<FormFlash>,
    campaign: Option<CampaignDto>,
) -> impl IntoView {
    let values = flash.as_ref().map(|f| f.values.clone()).unwrap_or_default();
    let error = form_error(move || action.value().get(), flash);
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    view! {
        <ActionForm action=action attr:class="form narrow" attr:id="campaign-form" attr:novalidate=true>
            <FormAlert error/>
            {move || saved().then(|| view! { <p class="alert alert-ok" role="status">"Campaign created."</p> })}
            <CampaignFields error values campaign/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Create campaign"</button>
        </ActionForm>
    }
}

/// The edit form.
#[component]
fn EditCampaignForm(
    action: ServerAction<UpdateCampaign>,
    flash: Option<FormFlash>,
    campaign: CampaignDto,
) -> impl IntoView {
    let values = flash.as_ref().map(|f| f.values.clone()).unwrap_or_default();
    let error = form_error(move || action.value().get(), flash);
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    let id = campaign.id.clone();
    view! {
        <ActionForm action=action attr:class="form narrow" attr:id="campaign-edit-form" attr:novalidate=true>
            <FormAlert error/>
            {move || saved().then(|| view! { <p class="alert alert-ok" role="status">"Saved."</p> })}
            <input type="hidden" name="id" value=id/>
            <CampaignFields error values campaign=Some(campaign)/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Save"</button>
        </ActionForm>
    }
}

#[component]
fn CampaignFields(
    error: Signal<Option<crate::error::AppError>>,
    values: std::collections::BTreeMap<String, String>,
    campaign: Option<CampaignDto>,
) -> impl IntoView {
    let c = campaign;
    let v = |k: &str, current: Option<String>| values.get(k).cloned().or(current).unwrap_or_default();
    let kind = v("pattern_kind", c.as_ref().map(|c| c.pattern_kind.clone()));
    let active = c.as_ref().map(|c| c.active).unwrap_or(true);
    view! {
        <Field label="Name" name="name" value=v("name", c.as_ref().map(|c| c.name.clone())) error=field_error(error, "name")/>
        <Field label="Description" name="description" value=v("description", c.as_ref().map(|c| c.description.clone())) error=field_error(error, "description")/>
        <Field label="Pattern" name="pattern" value=v("pattern", c.as_ref().map(|c| c.pattern.clone())) error=field_error(error, "pattern")
            hint="New referrer codes matching this join the campaign. Empty matches nothing."/>
        <div class="field">
            <label for="pattern_kind">"Pattern kind"</label>
            <select id="pattern_kind" name="pattern_kind">
                {[("substring", "Substring (case-insensitive)"), ("glob", "Glob (* and ?)"), ("regex", "Regular expression")].into_iter().map(|(val, label)| {
                    view! { <option value=val selected=kind == val>{label}</option> }
                }).collect_view()}
            </select>
            <p class="field-error">{move || field_error(error, "pattern_kind").get()}</p>
        </div>
        <Field label="Starts (YYYY-MM-DD, optional)" name="starts_at" value=v("starts_at", c.as_ref().and_then(|c| c.starts_on.clone())) error=field_error(error, "starts_at")/>
        <Field label="Ends (YYYY-MM-DD, inclusive, optional)" name="ends_at" value=v("ends_at", c.as_ref().and_then(|c| c.ends_on.clone())) error=field_error(error, "ends_at")/>
        <div class="field">
            <label for="active">"Status"</label>
            <select id="active" name="active">
                <option value="true" selected=active>"Active: new codes may join"</option>
                <option value="false" selected=!active>"Inactive"</option>
            </select>
        </div>
    }
}

#[component]
pub fn AdminCampaignPage() -> impl IntoView {
    let params = use_params_map();
    let update = ServerAction::<UpdateCampaign>::new();
    let delete = ServerAction::<DeleteCampaign>::new();
    let update_flash = flash_resource("campaign_update");
    let delete_flash = flash_resource("campaign_delete");
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), update.version().get()),
        |(id, _)| get_campaign(id),
    );
    let perf = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                get("range"),
                get("from"),
                get("to"),
            )
        },
        |(id, r, f, t)| get_campaign_page(id, r, f, t),
    );
    view! {
        <Title text="Campaign"/>
        <p><A href="/admin/campaigns">"← Campaigns"</A></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let uf = update_flash.await;
                let df = delete_flash.await;
                match data.await {
                    Err(e) => view! { <h1>"Campaign"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(d) => {
                        let c = d.campaign.clone();
                        let delete_error = form_error(move || delete.value().get(), df);
                        view! {
                            <h1>{c.name.clone()}</h1>
                            <dl class="stats">
                                <div><dt>"Codes"</dt><dd>{c.codes}</dd></div>
                                <div><dt>"Clicks"</dt><dd class="stat-clicks">{c.clicks}</dd></div>
                                <div><dt>"Sign-ups"</dt><dd class="stat-signups">{c.signups}</dd></div>
                                <div><dt>"Unique visitors"</dt><dd>{c.unique_visitors}</dd></div>
                            </dl>
                            {match perf.await {
                                Ok(p) => {
                                    let base = format!("/admin/campaigns/{}", c.id);
                                    let value = p.performance.value.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
                                    view! {
                                        <RangePicker range=p.range.clone() base=base/>
                                        <p>{format!("In this range: {} credited conversions{}", p.performance.conversions, if value.is_empty() { String::new() } else { format!(", {value}") })}</p>
                                        <LineChart id="campaign-chart" labels=p.chart.labels series=p.chart.series y_label="Count" x_label="day"/>
                                    }.into_any()
                                }
                                Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                            }}
                            <h2>"Codes, by sign-ups"</h2>
                            {if d.codes.is_empty() {
                                view! { <p class="muted">"No codes in this campaign yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="table" id="campaign-codes">
                                            <thead><tr><th>"Code"</th><th>"Owner"</th><th class="num">"Sign-ups"</th><th class="num">"Clicks"</th><th class="num">"Unique visitors"</th></tr></thead>
                                            <tbody>
                                                {d.codes.into_iter().map(|r| view! {
                                                    <tr data-code=r.code.clone()>
                                                        <td class="mono">{r.code.clone()}</td>
                                                        <td>{r.owner_email.unwrap_or_else(|| "— (referrer code)".into())}</td>
                                                        <td class="num stat-signups">{r.signups}</td>
                                                        <td class="num stat-clicks">{r.clicks}</td>
                                                        <td class="num">{r.unique_visitors}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                            <h2>"Edit"</h2>
                            <EditCampaignForm action=update flash=uf campaign=c.clone()/>
                            <h2>"Delete"</h2>
                            <ActionForm action=delete attr:class="form narrow" attr:id="campaign-delete-form">
                                <FormAlert error=delete_error/>
                                <input type="hidden" name="id" value=c.id.clone()/>
                                {(c.codes > 0).then(|| view! {
                                    <label class="checkbox"><input type="checkbox" name="confirm" value="true"/>
                                        {format!(" Yes, delete it and unassign its {} code(s). Nothing else is deleted.", c.codes)}</label>
                                })}
                                <button type="submit" class="button button-danger">"Delete campaign"</button>
                            </ActionForm>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AdminReferrersPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let assign = ServerAction::<AssignLinks>::new();
    let notice = flash_resource("referrers");
    let campaigns = Resource::new(move || assign.version().get(), |_| list_campaigns());
    let data = Resource::new(
        move || {
            (
                get("q"),
                get("campaign"),
                Some(crate::paging::PageNumber::from_query(get("page").as_deref())),
                assign.version().get(),
            )
        },
        |(q, campaign, page, _)| list_referrers(q, campaign, page),
    );
    view! {
        <Title text="Referrer codes"/>
        <h1>"Referrer codes"</h1>
        <p class="table-actions"><ExportLink table="referrers"/></p>
        <p class="muted">"Ownerless codes, made from ?ref= values nobody registered."</p>
        <Form method="GET" action="" attr:class="toolbar">
            <label>"Code"<input type="search" name="q" value=move || get("q").unwrap_or_default()/></label>
            <button type="submit" class="button button-small">"Search"</button>
        </Form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let n = notice.await.and_then(|f| f.notice);
                n.map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })
            })}
        </Suspense>
        {move || match assign.value().get() {
            Some(Ok(a)) => Some(view! { <p class="alert alert-ok" role="status">{format!("{} code(s) updated.", a.assigned)}</p> }.into_any()),
            Some(Err(e)) => Some(view! { <p class="alert alert-error" role="alert">{e.message}</p> }.into_any()),
            None => None,
        }}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let camps = campaigns.await.unwrap_or_default();
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        let q = get("q");
                        view! {
                            <ActionForm action=assign attr:id="assign-form">
                                <div class="table-wrap">
                                    <table class="table" id="referrers-table">
                                        <thead><tr><th>"Pick"</th><th>"Code"</th><th>"Campaign"</th><th class="num">"Clicks"</th>
                                            <th class="num">"Unique"</th><th class="num">"Sign-ups"</th><th>"Created"</th></tr></thead>
                                        <tbody>
                                            {page.items.into_iter().enumerate().map(|(i, row)| {
                                                let l = row.link;
                                                let name = format!("codes[{i}]");
                                                view! {
                                                    <tr data-code=l.code.clone()>
                                                        <td><input type="checkbox" name=name value=l.code.clone() aria-label=format!("Pick {}", l.code)/></td>
                                                        <td class="mono">{l.code.clone()}</td>
                                                        <td>{row.campaign.unwrap_or_else(|| "—".into())}</td>
                                                        <td class="num">{l.clicks}</td>
                                                        <td class="num">{l.unique_visitors}</td>
                                                        <td class="num">{l.signups}</td>
                                                        <td class="nowrap">{l.created_at.clone()}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <div class="toolbar">
                                    <label>"Assign the picked codes to"
                                        <select name="campaign_id">
                                            <option value="">"(no campaign)"</option>
                                            {camps.into_iter().map(|c| view! { <option value=c.id>{c.name}</option> }).collect_view()}
                                        </select>
                                    </label>
                                    <button type="submit" class="button button-small">"Assign"</button>
                                </div>
                            </ActionForm>
                            <Pagination page=current pages total href=move |p: u64| match &q {
                                Some(q) => format!("/admin/referrers?q={}&page={p}", urlencode(q)),
                                None => format!("/admin/referrers?page={p}"),
                            }/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
