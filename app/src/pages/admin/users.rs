//! `/admin/users`: search by email, pagination, promote/demote, deactivate.

use crate::api::admin_users::{SetUserActive, SetUserRole, list_users};
use crate::components::pagination::ExportLink;
use crate::components::pagination::Pagination;
use crate::dto::Role;
use crate::util::urlencode;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let page = Memo::new(move |_| crate::paging::PageNumber::from_query(query.read().get("page").as_deref()));
    let set_role = ServerAction::<SetUserRole>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let users = Resource::new(
        move || {
            (
                q.get(),
                page.get(),
                set_role.version().get(),
                set_active.version().get(),
            )
        },
        |(q, page, _, _)| list_users(Some(q), Some(page)),
    );
    let action_error = Signal::derive(move || {
        [
            set_role.value().get().and_then(|r| r.err()),
            set_active.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        <p class="table-actions"><ExportLink table="users"/></p>
        <Form method="GET" action="" attr:class="toolbar">
            <label for="q" class="visually-hidden">"Search by email"</label>
            <input type="search" id="q" name="q" placeholder="Search by email" value=move || q.get()/>
            <button type="submit" class="button button-small">"Search"</button>
        </Form>
        {move || action_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e.message}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <p class="alert alert-error">{e.message}</p> }.into_any(),
                    Ok(page) => {
                        let q_now = q.get_untracked();
                        let pages = page.pages();
                        let (current, total) = (page.page, page.total);
                        view! {
                            <div class="table-wrap">
                                <table class="table" id="users-table">
                                    <thead>
                                        <tr>
                                            <th>"Email"</th>
                                            <th>"Name"</th>
                                            <th>"Role"</th>
                                            <th>"Status"</th>
                                            <th>"Referred by"</th>
                                            <th>"Joined"</th>
                                            <th>"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|u| {
                                            let promote_to = if u.role == Role::Admin { "member" } else { "admin" };
                                            let promote_label = if u.role == Role::Admin { "Make member" } else { "Make admin" };
                                            let activate_to = if u.active { "false" } else { "true" };
                                            let activate_label = if u.active { "Deactivate" } else { "Reactivate" };
                                            let (role_id, active_id) = (u.id.clone(), u.id.clone());
                                            let email_text = u.email.clone();
                                            view! {
                                                <tr data-email=u.email.clone()>
                                                    <td><A href=format!("/admin/users/{}", u.id)>{email_text}</A></td>
                                                    <td>{u.display_name.clone()}</td>
                                                    <td>{u.role.as_str()}</td>
                                                    <td>{if u.active { "active" } else { "deactivated" }}</td>
                                                    <td>
                                                        {u.referred_by.clone().unwrap_or_else(|| "—".into())}
                                                        {u.referred_by_campaign.clone().map(|c| view! { <span class="muted">{format!(" ({c})")}</span> })}
                                                    </td>
                                                    <td>{u.created_at.clone()}</td>
                                                    <td class="actions">
                                                        <ActionForm action=set_role attr:class="inline-form">
                                                            <input type="hidden" name="user_id" value=role_id/>
                                                            <input type="hidden" name="role" value=promote_to/>
                                                            <button type="submit" class="button button-small button-secondary">{promote_label}</button>
                                                        </ActionForm>
                                                        <ActionForm action=set_active attr:class="inline-form">
                                                            <input type="hidden" name="user_id" value=active_id/>
                                                            <input type="hidden" name="active" value=activate_to/>
                                                            <button type="submit" class="button button-small button-secondary">{activate_label}</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages total href=move |p: u64| {
                                let mut qs = vec![format!("page={p}")];
                                if !q_now.is_empty() {
                                    qs.push(format!("q={}", urlencode(&q_now)));
                                }
                                format!("/admin/users?{}", qs.join("&"))
                            }/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
