//! `/admin`: the overview.

use crate::api::dashboards::get_overview;
use crate::components::charts::LineChart;
use crate::components::pagination::CsvLink;
use crate::components::range::RangePicker;
use crate::dto::{Kpi, TopTable};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || (get("range"), get("from"), get("to")),
        |(r, f, t)| get_overview(r, f, t),
    );
    view! {
        <Title text="Overview"/>
        <h1>"Overview"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(o) => {
                        let q = o.range.query.clone();
                        let unit = if o.range.hourly { "hour" } else { "day" };
                        view! {
                            <RangePicker range=o.range.clone() base="/admin"/>
                            <section class="kpis" aria-label="Headline numbers">
                                {o.kpis.into_iter().map(|k| view! { <KpiCard kpi=k/> }).collect_view()}
                            </section>
                            <h2>{format!("Activity per {unit} ({})", o.timezone)}</h2>
                            <LineChart id="activity-chart" labels=o.chart.labels series=o.chart.series y_label="Count" x_label=unit/>
                            <p class="muted small">"Credit below: last touch within the default window."</p>
                            <div class="tops">
                                {o.tops.into_iter().map(|t| view! { <TopTableView table=t query=q.clone() currency=o.default_currency.clone()/> }).collect_view()}
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn KpiCard(kpi: Kpi) -> impl IntoView {
    let (class, arrow) = match kpi.change_pct {
        Some(c) if c > 0.0 => ("change up", format!("▲ {c:.1}%")),
        Some(c) if c < 0.0 => ("change down", format!("▼ {:.1}%", -c)),
        Some(_) => ("change", "0%".to_string()),
        None => ("change", "new".to_string()),
    };
    view! {
        <div class="kpi" data-kpi=kpi.key.clone()>
            <div class="kpi-label">{kpi.label}</div>
            <div class="kpi-value">{kpi.current}</div>
            <div class=class title=format!("Previous period: {}", kpi.previous)>{arrow}" "<span class="muted">{format!("vs {}", kpi.previous)}</span></div>
        </div>
    }
}

#[component]
fn TopTableView(table: TopTable, query: String, currency: String) -> impl IntoView {
    let export = format!("/admin/export/top-{}.csv?{query}", table.dimension);
    let value_of = |r: &crate::dto::TopRow| {
        r.value
            .iter()
            .map(|(c, v)| format!("{v} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <section class="top-table" data-dimension=table.dimension.clone()>
            <h3>{table.title.clone()}" "<CsvLink href=export/></h3>
            <div class="two-col">
                <table class="table">
                    <caption>"By conversions"</caption>
                    <thead><tr><th>"Name"</th><th class="num">"Conversions"</th></tr></thead>
                    <tbody>
                        {table.by_conversions.iter().map(|r| view! { <tr><td>{r.key.clone()}</td><td class="num">{r.conversions}</td></tr> }).collect_view()}
                    </tbody>
                </table>
                <table class="table">
                    <caption>{format!("By value ({currency})")}</caption>
                    <thead><tr><th>"Name"</th><th class="num">"Value"</th></tr></thead>
                    <tbody>
                        {table.by_value.iter().map(|r| view! { <tr><td>{r.key.clone()}</td><td class="num">{value_of(r)}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
