import { expect, test } from "@playwright/test";
import { adminPage, newContext, ready, signUp, uniqueEmail, visit } from "./helpers";

test("a partner's ?ref= code lands in the Partners campaign with its click and sign-up", async ({ browser }, info) => {
  const stamp = `${info.project.name}${Date.now().toString(36)}`;
  const campaign = `Partners ${stamp}`;
  const code = `partner-blog-${stamp}`;
  const admin = await adminPage(browser, info);
  await visit(admin, "/admin/campaigns", info);
  const form = admin.locator("#campaign-form");
  await form.locator("#name").fill(campaign);
  await form.locator("#pattern").fill(`partner-blog-${stamp}`);
  await form.locator("button[type=submit]").click();
  await expect(admin.locator("#campaigns-table")).toContainText(campaign);

  const ctx = await newContext(browser, info);
  const visitor = await ctx.newPage();
  await visit(visitor, `/?ref=${code}&utm_source=blog`, info);
  await visitor.click("header a:has-text('Log in')");
  await visitor.waitForURL("**/login");
  await ready(visitor, info);
  const email = uniqueEmail("partnerfan", info);
  await signUp(visitor, info, email, "Partner Fan");
  await ctx.close();

  await visit(admin, "/admin/campaigns", info);
  const row = admin.locator(`#campaigns-table tr[data-name='${campaign}']`);
  await expect(row.locator(".stat-clicks")).toHaveText("1");
  await expect(row.locator(".stat-signups")).toHaveText("1");
  await row.locator("a").click();
  await admin.waitForURL("**/admin/campaigns/**");
  await ready(admin, info);
  const codeRow = admin.locator(`#campaign-codes tr[data-code='${code}']`);
  await expect(codeRow.locator(".stat-clicks")).toHaveText("1");
  await expect(codeRow.locator(".stat-signups")).toHaveText("1");

  await visit(admin, `/admin/users?q=${encodeURIComponent(email)}`, info);
  const userRow = admin.locator(`#users-table tr[data-email='${email}']`);
  await expect(userRow).toContainText(code);
  await expect(userRow).toContainText(campaign);
  await admin.context().close();
});
