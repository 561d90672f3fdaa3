//! `/admin/leaderboard`, `/admin/users/:id` and `/admin/utm`.

use crate::api::dashboards::{build_utm, get_leaderboard, get_user_detail};
use crate::components::pagination::CsvLink;
use crate::components::range::RangePicker;
use crate::dto::LeaderRow;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

fn money(v: &std::collections::BTreeMap<String, String>) -> String {
    if v.is_empty() {
        "—".into()
    } else {
        v.iter().map(|(c, x)| format!("{x} {c}")).collect::<Vec<_>>().join(", ")
    }
}

#[component]
fn Board(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    rows: Vec<LeaderRow>,
    users: bool,
    export: String,
) -> impl IntoView {
    view! {
        <section class="board">
            <h3>{title}" "<CsvLink href=export/></h3>
            <table class="table" id=id>
                <thead><tr><th>{if users { "Referring user" } else { "Link" }}</th><th class="num">"Sign-ups"</th><th class="num">"Conversions"</th><th class="num">"Value"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let name = r.name.clone();
                        let cell = if users && !r.id.is_empty() {
                            let href = format!("/admin/users/{}", r.id);
                            view! { <A href=href>{name}</A> }.into_any()
                        } else {
                            view! { <span class="mono">{name}</span> }.into_any()
                        };
                        view! { <tr><td>{cell}</td><td class="num">{r.signups}</td><td class="num">{r.conversions}</td><td class="num">{money(&r.value)}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
pub fn AdminLeaderboardPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || (get("range"), get("from"), get("to")),
        |(r, f, t)| get_leaderboard(r, f, t),
    );
    view! {
        <Title text="Leaderboard"/>
        <h1>"Referrers leaderboard"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(b) => {
                        let q = b.range.query.clone();
                        let cur = b.default_currency.clone();
                        view! {
                            <RangePicker range=b.range.clone() base="/admin/leaderboard"/>
                            <p class="muted small">"Sign-ups: users whose referred-by link is theirs. Value: conversions credited by last touch in the default window."</p>
                            <div class="two-col">
                                <Board id="users-by-signups" title="Referring users by sign-ups" rows=b.users_by_signups users=true export=format!("/admin/export/leaderboard-users.csv?{q}")/>
                                <Board id="users-by-value" title=format!("Referring users by value ({cur})") rows=b.users_by_value users=true export=format!("/admin/export/leaderboard-users.csv?{q}&by=value")/>
                                <Board id="links-by-signups" title="Links by sign-ups" rows=b.links_by_signups users=false export=format!("/admin/export/leaderboard-links.csv?{q}")/>
                                <Board id="links-by-value" title=format!("Links by value ({cur})") rows=b.links_by_value users=false export=format!("/admin/export/leaderboard-links.csv?{q}&by=value")/>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(move || params.read().get("id").unwrap_or_default(), get_user_detail);
    view! {
        <Title text="User"/>
        <p><A href="/admin/leaderboard">"← Leaderboard"</A></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"User"</h1><p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(d) => view! {
                        <h1>{d.user.display_name.clone()}</h1>
                        <p>{d.user.email.clone()}" · "{d.user.role.as_str()}" · joined "{d.user.created_at.clone()}
                            {d.user.referred_by.clone().map(|r| format!(" · referred by {r}"))}
                            {d.identity_id.clone().map(|i| {
                                let href = format!("/admin/identities/{i}");
                                view! { " · "<A href=href>"identity"</A> }
                            })}
                        </p>
                        <dl class="stats">
                            <div><dt>"Referred users"</dt><dd id="referred-count">{d.referred.len()}</dd></div>
                            <div><dt>"Credited conversions"</dt><dd id="credited-count">{d.credited_total}</dd></div>
                            <div><dt>"Credited value"</dt><dd>{money(&d.credited_value)}</dd></div>
                        </dl>
                        <h2>"Links"</h2>
                        <table class="table" id="user-links">
                            <thead><tr><th>"Code"</th><th>"Label"</th><th class="num">"Clicks"</th><th class="num">"Sign-ups"</th><th class="num">"Conversions"</th><th class="num">"Value"</th></tr></thead>
                            <tbody>
                                {d.links.into_iter().map(|l| view! {
                                    <tr><td class="mono">{l.code.clone()}</td><td>{l.label.clone()}</td><td class="num">{l.clicks}</td><td class="num">{l.signups}</td><td class="num">{l.conversions}</td><td class="num">{money(&l.value)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>"Referred users"</h2>
                        {if d.referred.is_empty() { view! { <p class="muted">"Nobody yet."</p> }.into_any() } else {
                            view! {
                                <table class="table" id="referred-users">
                                    <thead><tr><th>"User"</th><th>"Joined"</th><th>"Through"</th></tr></thead>
                                    <tbody>{d.referred.into_iter().map(|r| view! { <tr><td>{format!("{} ({})", r.display_name, r.email)}</td><td>{r.joined}</td><td class="mono">{r.link}</td></tr> }).collect_view()}</tbody>
                                </table>
                            }.into_any()
                        }}
                        <h2>"Credited conversions"</h2>
                        {if d.credited.is_empty() { view! { <p class="muted">"None yet."</p> }.into_any() } else {
                            view! {
                                <table class="table" id="credited-conversions">
                                    <thead><tr><th>"When"</th><th>"Event"</th><th class="num">"Value"</th></tr></thead>
                                    <tbody>{d.credited.into_iter().map(|c| {
                                        let href = format!("/admin/conversions/{}", c.conversion.id);
                                        view! {
                                            <tr>
                                                <td><A href=href>{c.at}</A></td>
                                                <td>{c.conversion.event.clone()}</td>
                                                <td class="num">{c.conversion.value.clone().map(|v| format!("{v} {}", c.conversion.currency)).unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }
                                    }).collect_view()}</tbody>
                                </table>
                            }.into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

const UTM_FIELDS: [(&str, &str); 5] = [
    ("utm_source", "utm_source (where: newsletter, twitter)"),
    ("utm_medium", "utm_medium (how: email, social, cpc)"),
    ("utm_campaign", "utm_campaign (why: spring-sale)"),
    ("utm_term", "utm_term (optional)"),
    ("utm_content", "utm_content (optional)"),
];

#[component]
pub fn AdminUtmPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let result = Resource::new(
        move || (get("destination"), get("code"), UTM_FIELDS.map(|(k, _)| get(k))),
        |(d, c, [s, m, ca, t, co])| async move {
            match d {
                Some(d) => Some(build_utm(d, c, s, m, ca, t, co).await),
                None => None,
            }
        },
    );
    let copied = RwSignal::new(false);
    view! {
        <Title text="UTM builder"/>
        <h1>"UTM link builder"</h1>
        <p class="muted">"Tag a link to a page of this site, optionally through a referral link or referrer code, so its visits show in every report."</p>
        <Form method="GET" action="/admin/utm" attr:class="form narrow" attr:id="utm-form">
            <div class="field"><label for="destination">"Page of this site"</label>
                <input id="destination" name="destination" type="text" value=move || get("destination").unwrap_or_else(|| "/".into())/></div>
            <div class="field"><label for="code">"Through a link or referrer code (optional)"</label>
                <input id="code" name="code" type="text" value=move || get("code").unwrap_or_default()/></div>
            {UTM_FIELDS.into_iter().map(|(k, label)| view! {
                <div class="field"><label for=k>{label}</label><input id=k name=k type="text" value=move || get(k).unwrap_or_default()/></div>
            }).collect_view()}
            <button type="submit" class="button">"Build the link"</button>
        </Form>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match result.await {
                    None => ().into_any(),
                    Some(Err(e)) => view! {
                        <div class="alert alert-error" role="alert">
                            {e.fields.values().cloned().collect::<Vec<_>>().join(" ")}
                            {e.fields.is_empty().then(|| e.message.clone())}
                        </div>
                    }.into_any(),
                    Some(Ok(t)) => {
                        let url = t.url.clone();
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
                        view! {
                            <section class="tagged">
                                <h2>"Your link"</h2>
                                <div class="copy-row">
                                    <input id="tagged-url" class="link-url mono" type="text" readonly value=t.url.clone()/>
                                    <button type="button" class="button button-small copy-button" on:click=copy>{move || if copied.get() { "Copied!" } else { "Copy" }}</button>
                                </div>
                                <div class="qr" inner_html=t.qr_svg></div>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
