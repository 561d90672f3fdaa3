use crate::components::session::{AuthActions, use_current_user};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    let user = use_current_user();
    let actions = expect_context::<AuthActions>();
    view! {
        <header class="site-header">
            <nav class="container nav">
                <A href="/" attr:class="brand">"Tributary"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let me = user.0.await.ok().flatten();
                        match me {
                            Some(u) => {
                                let admin = u.is_admin();
                                view! {
                                    <ul class="nav-links">
                                        <li><A href="/links">"My links"</A></li>
                                        <li><A href="/account">"Account"</A></li>
                                        {admin.then(|| view! { <li><A href="/admin">"Admin"</A></li> })}
                                        <li class="nav-user" title=u.email.clone()>{u.display_name.clone()}</li>
                                        <li>
                                            <ActionForm action=actions.logout attr:class="inline-form">
                                                <button type="submit" class="link-button">"Log out"</button>
                                            </ActionForm>
                                        </li>
                                    </ul>
                                }
                                .into_any()
                            }
                            None => view! {
                                <ul class="nav-links">
                                    <li><A href="/login">"Log in"</A></li>
                                    <li><A href="/signup" attr:class="button button-small">"Sign up"</A></li>
                                </ul>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}
