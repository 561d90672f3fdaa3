import { expect, test } from "@playwright/test";
import { adminPage, hasJs, newContext, signUp, uniqueEmail, visit } from "./helpers";

test("a purchase reported for a tb_click shows on the link owner's page", async ({ page, browser, request }, info) => {
  // An admin creates an API key in the UI.
  const admin = await adminPage(browser, info);
  await visit(admin, "/admin/api-keys", info);
  await admin.locator("#api-key-form #name").fill(`Shop backend ${info.project.name}`);
  await admin.locator("#api-key-form button[type=submit]").click();
  let secret: string;
  if (hasJs(info)) {
    secret = await admin.locator(".new-key-secret").inputValue();
  } else {
    const notice = await admin.locator(".new-key").textContent();
    secret = (notice ?? "").split(": ").pop()!.trim();
  }
  expect(secret).toMatch(/^tb_[a-z0-9]{40}$/);
  await admin.context().close();

  // A member makes a link to the (allowed) external shop.
  await signUp(page, info, uniqueEmail("seller", info), "Seller");
  await visit(page, "/links", info);
  const code = `shop-${info.project.name}-${Date.now().toString(36)}`;
  await page.locator("#label").fill("Shop");
  await page.locator("#destination").fill("https://shop.e2e.test/checkout");
  await page.locator("#code").fill(code);
  await page.locator("#create-link-form button[type=submit]").click();
  await expect(page.locator(`article.link-card[data-code='${code}']`)).toBeVisible();

  // A visitor comes through the link and lands on the shop with a tb_click.
  // shop.e2e.test does not exist (and Playwright cannot fulfil a redirect's target):
  // the address Chromium is sent to is what matters.
  const ctx = await newContext(browser, info);
  const visitor = await ctx.newPage();
  const toShop = visitor.waitForRequest((r) => r.url().startsWith("https://shop.e2e.test/"));
  await visitor.goto(`/r/${code}?utm_source=newsletter`).catch(() => undefined);
  const landed = new URL((await toShop).url());
  expect(landed.host).toBe("shop.e2e.test");
  expect(landed.searchParams.get("utm_source")).toBe("newsletter");
  const click = landed.searchParams.get("tb_click");
  expect(click).toMatch(/^[0-9a-f]{32}$/);
  await ctx.close();

  // The shop's backend reports the purchase.
  const res = await request.post("/api/v1/conversions", {
    headers: { Authorization: `Bearer ${secret}` },
    data: { event: "purchase", value: "42.50", currency: "EUR", click_id: click },
  });
  expect(res.status()).toBe(201);

  await visit(page, "/links", info);
  const card = page.locator(`article.link-card[data-code='${code}']`);
  await expect(card.locator(".stat-clicks")).toHaveText("1");
  await expect(card.locator(".stat-conversions")).toHaveText("1");
  await expect(card.locator(".stat-value")).toHaveText("42.50 EUR");
});
