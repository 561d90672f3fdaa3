import { expect, test } from "@playwright/test";
import { adminPage, ready, signUp, uniqueEmail, visit } from "./helpers";

test("a UTM landing follows the visitor into their new account", async ({ page, browser }, info) => {
  const campaign = `nov-${info.project.name}-${Date.now().toString(36)}`;
  await visit(page, `/?utm_source=newsletter&utm_campaign=${campaign}`, info);
  // Browse two pages first.
  await page.click("header a:has-text('Log in')");
  await page.waitForURL("**/login");
  await ready(page, info);
  await page.click("main a:has-text('Create an account')");
  await page.waitForURL("**/signup");
  await ready(page, info);
  const email = uniqueEmail("utm", info);
  await signUp(page, info, email, "UTM Visitor");

  const admin = await adminPage(browser, info);
  await visit(admin, `/admin/touchpoints?utm_campaign=${campaign}`, info);
  const rows = admin.locator("table.touch-table tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("newsletter");
  await rows.first().locator("a[href^='/admin/identities/']").click();
  await admin.waitForURL("**/admin/identities/**");
  await ready(admin, info);
  await expect(admin.locator("#identity-user")).toHaveText(email);
  await expect(admin.locator("table.touch-table")).toContainText(campaign);
  await admin.context().close();
});
