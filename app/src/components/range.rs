//! The date-range picker of the dashboards: preset links and a custom range form,
//! all in the URL so a view can be bookmarked and shared.

use crate::dto::RangeDto;
use leptos::prelude::*;
use leptos_router::components::{A, Form};

pub const PRESETS: [(&str, &str); 5] = [
    ("today", "Today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
];

/// `base` is the page path; `extra` the other query parameters to keep (`k=v&...`).
#[component]
pub fn RangePicker(
    range: RangeDto,
    #[prop(into)] base: String,
    #[prop(into, default = String::new())] extra: String,
) -> impl IntoView {
    let sep = if extra.is_empty() {
        String::new()
    } else {
        format!("&{extra}")
    };
    let hidden: Vec<(String, String)> = extra
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (crate::util::urldecode(k), crate::util::urldecode(v)))
        .collect();
    let (from, to) = (range.from.clone(), range.to.clone());
    let label = format!("{} to {}", range.from, range.to);
    let preset = range.preset.clone();
    view! {
        <div class="range-picker">
            <nav class="presets" aria-label="Date range">
                {PRESETS.into_iter().map(|(key, label)| {
                    let href = format!("{base}?range={key}{sep}");
                    let current = preset == key;
                    view! { <A href=href attr:class=if current { "preset current" } else { "preset" } attr:data-range=key>{label}</A> }
                }).collect_view()}
            </nav>
            <Form method="GET" action=base.clone() attr:class="toolbar custom-range">
                <input type="hidden" name="range" value="custom"/>
                {hidden.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                <label>"From"<input type="date" name="from" value=from/></label>
                <label>"To"<input type="date" name="to" value=to/></label>
                <button type="submit" class="button button-small">"Apply"</button>
            </Form>
            <p class="muted small range-label">{label}</p>
        </div>
    }
}
