use leptos::prelude::*;
use leptos_router::components::A;

/// "Page 2 of 7" with previous/next links that keep the other query parameters. From
/// a page past the end, "Previous" goes to the last page.
#[component]
pub fn Pagination(page: u64, pages: u64, total: u64, #[prop(into)] href: Callback<u64, String>) -> impl IntoView {
    let prev = (page > 1).then(|| href.run(page.min(pages + 1) - 1));
    let next = (page < pages).then(|| href.run(page + 1));
    view! {
        <nav class="pagination" aria-label="Pagination">
            {match prev {
                Some(h) => view! { <A href=h attr:rel="prev">"← Previous"</A> }.into_any(),
                None => view! { <span class="disabled">"← Previous"</span> }.into_any(),
            }}
            <span class="page-info">{format!("Page {page} of {pages} · {total} in all")}</span>
            {match next {
                Some(h) => view! { <A href=h attr:rel="next">"Next →"</A> }.into_any(),
                None => view! { <span class="disabled">"Next →"</span> }.into_any(),
            }}
        </nav>
    }
}

/// "Export CSV": the table's export, with the filters of the page's URL (not its page number).
#[component]
pub fn ExportLink(table: &'static str) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let href = move || {
        let mut q = query.get();
        q.remove("page");
        format!("/admin/export/{table}.csv{}", q.to_query_string())
    };
    view! { <a class="export small" href=href download rel="external">"Export CSV"</a> }
}

/// A link to a CSV export. `download` (and `rel="external"`) keep the client-side
/// router from treating it as a page of the app.
#[component]
pub fn CsvLink(#[prop(into)] href: String) -> impl IntoView {
    view! { <a class="export small" href=href download rel="external">"CSV"</a> }
}
