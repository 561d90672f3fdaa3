//! `/admin/attribution` (the explorer, and its compare-models view),
//! `/admin/attribution/drill` and `/admin/conversions/:id` (an explanation).

use crate::api::explorer::{explain_conversion, explorer_compare, explorer_drill, explorer_report};
use crate::components::charts::BarChart;
use crate::components::pagination::CsvLink;
use crate::components::pagination::Pagination;
use crate::components::range::RangePicker;
use crate::dto::{ExplorerParams, RangeDto};
use crate::util::urlencode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

pub const MODELS: [(&str, &str); 5] = [
    ("first_touch", "First touch"),
    ("last_touch", "Last touch"),
    ("linear", "Linear"),
    ("time_decay", "Time decay"),
    ("position_based", "Position based (40/20/40)"),
];

pub const GROUPS: [(&str, &str); 7] = [
    ("source", "Source"),
    ("medium", "Medium"),
    ("utm_campaign", "utm_campaign"),
    ("channel", "Channel"),
    ("link", "Referral link"),
    ("referring_user", "Referring user"),
    ("campaign", "Campaign"),
];

/// Rows of the per-source window editor, as URL parameters `sw_source_N` / `sw_days_N`.
const SW_ROWS: usize = ExplorerParams::SOURCE_WINDOW_ROWS;

/// The explorer's parameters from the URL (see `ExplorerParams::from_query`).
pub fn params_from(q: &ParamsMap) -> ExplorerParams {
    ExplorerParams::from_query(|k| q.get(k))
}

/// The URL query that reproduces these parameters.
pub fn params_query(p: &ExplorerParams) -> String {
    let pairs = [
        ("model", &p.model),
        ("group_by", &p.group_by),
        ("window_days", &p.window_days),
        ("source_windows", &p.source_windows),
        ("half_life_days", &p.half_life_days),
        ("event", &p.event),
        ("range", &p.range),
        ("from", &p.from),
        ("to", &p.to),
        ("valid", &p.valid),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
fn Controls(p: ExplorerParams, range: RangeDto, compare: bool) -> impl IntoView {
    let sw: Vec<(String, String)> = p
        .source_windows
        .clone()
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let model = p.model.clone().unwrap_or_else(|| "last_touch".into());
    let group = p.group_by.clone().unwrap_or_else(|| "source".into());
    let all = p.valid.as_deref() == Some("false");
    view! {
        <Form method="GET" action="/admin/attribution" attr:class="explorer-controls" attr:id="explorer-form">
            {compare.then(|| view! { <input type="hidden" name="view" value="compare"/> })}
            <input type="hidden" name="range" value=range.preset.clone()/>
            {(range.preset == "custom").then(|| view! {
                <input type="hidden" name="from" value=range.from.clone()/>
                <input type="hidden" name="to" value=range.to.clone()/>
            })}
            <div class="toolbar">
                <label>"Model"
                    <select name="model" id="model">
                        {MODELS.into_iter().map(|(v, l)| view! { <option value=v selected=model == v>{l}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Group by"
                    <select name="group_by" id="group_by">
                        {GROUPS.into_iter().map(|(v, l)| view! { <option value=v selected=group == v>{l}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Window (days)"<input type="number" min="1" max="730" name="window_days" value=p.window_days.clone().unwrap_or_default() placeholder="default"/></label>
                <label>"Half-life (days)"<input type="number" min="0.1" step="0.1" name="half_life_days" value=p.half_life_days.clone().unwrap_or_default() placeholder="default"/></label>
                <label>"Event"<input type="text" name="event" value=p.event.clone().unwrap_or_default() placeholder="any"/></label>
                <label>"Conversions"
                    <select name="valid">
                        <option value="true" selected=!all>"Valid only"</option>
                        <option value="false" selected=all>"All"</option>
                    </select>
                </label>
            </div>
            <fieldset class="source-windows">
                <legend>"Per-source windows (days; 0 excludes a source)"</legend>
                {(0..SW_ROWS).map(|i| {
                    let (s, d) = sw.get(i).cloned().unwrap_or_default();
                    view! {
                        <span class="sw-row">
                            <input type="text" name=format!("sw_source_{i}") value=s placeholder="source" aria-label=format!("Source {}", i + 1)/>
                            <input type="number" min="0" max="730" name=format!("sw_days_{i}") value=d placeholder="days" aria-label=format!("Days {}", i + 1)/>
                        </span>
                    }
                }).collect_view()}
            </fieldset>
            <button type="submit" class="button">"Apply"</button>
        </Form>
    }
}

#[component]
pub fn AdminAttributionPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| params_from(&query.read()));
    let compare = Memo::new(move |_| query.read().get("view").as_deref() == Some("compare"));
    let data = Resource::new(move || params.get(), explorer_report);
    let compared = Resource::new(
        move || (params.get(), compare.get()),
        |(p, c)| async move { if c { Some(explorer_compare(p).await) } else { None } },
    );
    view! {
        <Title text="Attribution"/>
        <h1>"Attribution explorer"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = params.get_untracked();
                // Tracked: "compare all five" changes only `view`, which `data` does not depend on.
                let is_compare = compare.get();
                let q = params_query(&p);
                match data.await {
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(d) => {
                        let extra = params_query(&ExplorerParams { range: None, from: None, to: None, ..p.clone() });
                        let extra = if is_compare { format!("view=compare&{extra}") } else { extra };
                        let compare_href = format!("/admin/attribution?view=compare&{q}");
                        let table_href = format!("/admin/attribution?{q}");
                        let meta = d.report.metadata.clone();
                        let body = if is_compare {
                            match compared.await {
                                Some(Ok(c)) => view! {
                                    <p><A href=table_href>"← Back to one model"</A>" · "<CsvLink href=format!("/admin/export/compare.csv?{q}")/></p>
                                    <div class="table-wrap">
                                        <table class="table" id="compare-table">
                                            <thead><tr><th>{d.group_by.clone()}</th>
                                                {c.models.iter().map(|m| view! { <th class="num" data-model=m.clone()>{MODELS.iter().find(|x| x.0 == m).map(|x| x.1).unwrap_or(m.as_str())}</th> }).collect_view()}
                                            </tr></thead>
                                            <tbody>
                                                {c.rows.into_iter().map(|r| view! {
                                                    <tr><td>{r.key}</td>{r.conversions.into_iter().map(|v| view! { <td class="num">{format!("{v:.2}")}</td> }).collect_view()}</tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any(),
                                Some(Err(e)) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                                None => ().into_any(),
                            }
                        } else {
                            let bars: Vec<(String, f64)> = d.report.items.iter().take(15).map(|r| (r.key.clone(), r.conversions)).collect();
                            let total: f64 = d.report.items.iter().map(|r| r.conversions).sum();
                            let model = meta.model.clone();
                            view! {
                                <p>
                                    <A href=compare_href attr:id="compare-link">"Compare all five models"</A>
                                    " · "<CsvLink href=format!("/admin/export/attribution.csv?{q}")/>
                                </p>
                                <BarChart id="attribution-chart" rows=bars unit="credited conversions"/>
                                <div class="table-wrap">
                                    <table class="table" id="attribution-table" data-model=model>
                                        <thead><tr><th>{d.group_by.clone()}</th><th class="num">"Credited conversions"</th><th class="num">"Credited value"</th><th></th></tr></thead>
                                        <tbody>
                                            {d.report.items.into_iter().map(|r| {
                                                let drill = format!("/admin/attribution/drill?key={}&{q}", urlencode(&r.key));
                                                let value = r.value.iter().map(|(c, v)| format!("{v} {c}")).collect::<Vec<_>>().join(", ");
                                                view! {
                                                    <tr data-key=r.key.clone()>
                                                        <td>{r.key.clone()}</td>
                                                        <td class="num credited">{format!("{:.2}", r.conversions)}</td>
                                                        <td class="num">{value}</td>
                                                        <td><A href=drill attr:class="drill">"Conversions →"</A></td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                        <tfoot><tr><th>"Total"</th><th class="num" id="attribution-total">{format!("{total:.2}")}</th><th></th><th></th></tr></tfoot>
                                    </table>
                                </div>
                            }.into_any()
                        };
                        view! {
                            <RangePicker range=d.range.clone() base="/admin/attribution" extra=extra/>
                            <Controls p=p.clone() range=d.range.clone() compare=is_compare/>
                            <p class="muted small">{format!(
                                "{} · window {} days{} · half-life {} days",
                                MODELS.iter().find(|m| m.0 == meta.model).map(|m| m.1).unwrap_or("?"),
                                meta.window_days,
                                if meta.source_windows.is_empty() { String::new() } else {
                                    format!(" ({})", meta.source_windows.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
                                },
                                meta.half_life_days
                            )}</p>
                            {body}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AdminDrillPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| params_from(&query.read()));
    let key = Memo::new(move |_| query.read().get("key").unwrap_or_default());
    let page = Memo::new(move |_| {
        Some(crate::paging::PageNumber::from_query(
            query.read().get("page").as_deref(),
        ))
    });
    let data = Resource::new(
        move || (params.get(), key.get(), page.get()),
        |(p, k, n)| explorer_drill(p, k, n),
    );
    view! {
        <Title text="Credited conversions"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = params.get_untracked();
                let q = params_query(&p);
                let k = key.get_untracked();
                match data.await {
                    Err(e) => view! { <h1>"Credited conversions"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(list) => {
                        let pages = list.pages();
                        let (current, total) = (list.page, list.total);
                        let back = format!("/admin/attribution?{q}");
                        let k2 = k.clone();
                        let q2 = q.clone();
                        view! {
                            <p><A href=back>"← Explorer"</A></p>
                            <h1>{format!("Conversions credited to {k}")}</h1>
                            <p><CsvLink href=format!("/admin/export/drill.csv?key={}&{q}", urlencode(&k))/></p>
                            <div class="table-wrap">
                                <table class="table" id="drill-table">
                                    <thead><tr><th>"When"</th><th>"Event"</th><th class="num">"Value"</th><th class="num">"Share"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.items.into_iter().map(|r| {
                                            let href = format!("/admin/conversions/{}?{q}", r.conversion.id);
                                            let value = r.conversion.value.clone().map(|v| format!("{v} {}", r.conversion.currency)).unwrap_or_else(|| "—".into());
                                            view! {
                                                <tr>
                                                    <td class="nowrap">{r.at}</td>
                                                    <td>{r.conversion.event.clone()}</td>
                                                    <td class="num">{value}</td>
                                                    <td class="num">{format!("{:.2}", r.share)}</td>
                                                    <td><A href=href attr:class="explain-link">"Why?"</A></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages total href=move |n: u64| format!("/admin/attribution/drill?key={}&{q2}&page={n}", urlencode(&k2))/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AdminExplainPage() -> impl IntoView {
    let path = use_params_map();
    let query = use_query_map();
    let params = Memo::new(move |_| params_from(&query.read()));
    let data = Resource::new(
        move || (path.read().get("id").unwrap_or_default(), params.get()),
        |(id, p)| explain_conversion(id, p),
    );
    view! {
        <Title text="Explanation"/>
        <p><A href="/admin/conversions">"← Conversions"</A></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Explanation"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(e) => {
                        let c = e.conversion;
                        let value = c.value.clone().map(|v| format!("{v} {}", c.currency)).unwrap_or_else(|| "no value".into());
                        let m = e.metadata;
                        view! {
                            <h1>{format!("Why conversion #{} was credited as it was", c.id)}</h1>
                            <p>{format!("{} · {} · {} · {}", c.event, value, c.occurred_at, if c.active && c.confirmed { "valid" } else if !c.active { "cancelled" } else { "pending" })}</p>
                            <p class="muted">{format!(
                                "Model {} · default window {} days{} · half-life {} days",
                                m.model, m.window_days,
                                if m.source_windows.is_empty() { String::new() } else { format!(" · per source: {}", m.source_windows.iter().map(|(k, v)| format!("{k} {v} days")).collect::<Vec<_>>().join(", ")) },
                                m.half_life_days
                            )}</p>
                            <Form method="GET" action="" attr:class="toolbar">
                                <label>"Model"
                                    <select name="model">
                                        {MODELS.into_iter().map(|(v, l)| view! { <option value=v selected=m.model == v>{l}</option> }).collect_view()}
                                    </select>
                                </label>
                                <button type="submit" class="button button-small">"Explain with this model"</button>
                            </Form>
                            <h2>"Touches of this visitor, in time order"</h2>
                            {if e.touches.is_empty() {
                                view! { <p class="muted">"No touches: the conversion counts as (none)."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="table" id="explain-table">
                                            <thead><tr><th>"When"</th><th>"Source / medium"</th><th>"utm_campaign"</th><th>"Link"</th><th>"Verdict"</th><th class="num">"Weight"</th><th>"Window"</th></tr></thead>
                                            <tbody>
                                                {e.touches.into_iter().map(|t| {
                                                    let verdict = match t.verdict.as_str() {
                                                        "credited" => "credited",
                                                        "outside_window" => "outside its window",
                                                        _ => "after the conversion",
                                                    };
                                                    let window = format!("{} days ({})", t.window.days, if t.window.kind == "source" { format!("{}'s window", t.source) } else { "default".into() });
                                                    view! {
                                                        <tr class=format!("verdict-{}", t.verdict) data-verdict=t.verdict.clone()>
                                                            <td class="nowrap">{t.at}</td>
                                                            <td>{format!("{} / {}", t.source, t.medium)}</td>
                                                            <td>{t.utm_campaign.unwrap_or_default()}</td>
                                                            <td class="mono">{t.link.unwrap_or_default()}</td>
                                                            <td>{verdict}</td>
                                                            <td class="num">{format!("{:.4}", t.weight)}</td>
                                                            <td>{window}</td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                            <h2>"Merge history"</h2>
                            {if e.merges.is_empty() {
                                view! { <p class="muted">"No other identity was merged into this visitor."</p> }.into_any()
                            } else {
                                view! {
                                    <ul>{e.merges.into_iter().map(|mg| view! { <li>{format!("Identity #{} ({}) merged {}", mg.identity_id, mg.public_id, mg.merged_at)}</li> }).collect_view()}</ul>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
