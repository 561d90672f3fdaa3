import { expect, test } from "@playwright/test";
import { hasJs, newContext, ready, signUp, uniqueEmail, visit } from "./helpers";

test("a user shares their personal link and sees the click and the sign-up it brought", async ({ page, browser, context }, info) => {
  const referrer = uniqueEmail("referrer", info);
  await signUp(page, info, referrer, "Referrer");
  await visit(page, "/links", info);
  const card = page.locator("article.link-card").first();
  await expect(card.locator("h3")).toContainText("Personal");
  const url = await card.locator("input.link-url").inputValue();
  expect(url).toMatch(/\/r\/[a-z0-9]{8,10}$/);
  await expect(card.locator(".qr svg")).toBeVisible();
  if (hasJs(info)) {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await card.locator("button.copy-button").click();
    await expect(card.locator("button.copy-button")).toHaveText("Copied!");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(url);
  }

  // A fresh browser opens the link (on this server), lands, and signs up.
  const path = new URL(url).pathname;
  const friendCtx = await newContext(browser, info);
  const friend = await friendCtx.newPage();
  const landing = await friend.goto(path);
  expect(landing?.status()).toBe(200);
  expect(new URL(friend.url()).pathname).toBe("/");
  await ready(friend, info);
  await signUp(friend, info, uniqueEmail("friend", info), "Friend");
  await friendCtx.close();

  await visit(page, "/links", info);
  const personal = page.locator("article.link-card").first();
  await expect(personal.locator(".stat-clicks")).toHaveText("1");
  await expect(personal.locator(".stat-signups")).toHaveText("1");
  await personal.locator("a:has-text('See its responses')").click();
  await page.waitForURL("**/links/**");
  await ready(page, info);
  await expect(page.locator("#responses-table")).toContainText("Clicked the link");
  await expect(page.locator("#responses-table")).toContainText("Signed up");
});

test("a user creates a labelled link and sees field errors for bad input", async ({ page }, info) => {
  await signUp(page, info, uniqueEmail("creator", info), "Creator");
  await visit(page, "/links", info);
  const form = page.locator("#create-link-form");
  await form.locator("#label").fill("Conference");
  await form.locator("#destination").fill("https://evil.example/");
  await form.locator("button[type=submit]").click();
  await expect(page.locator("#destination-error")).toContainText("not an allowed destination");
  await expect(page.locator("#label")).toHaveValue("Conference");
  await page.locator("#destination").fill("/signup");
  const code = `conf-${info.project.name}-${Date.now().toString(36)}`;
  await page.locator("#code").fill(code);
  await page.locator("#create-link-form button[type=submit]").click();
  await expect(page.locator(`article.link-card[data-code='${code}']`)).toBeVisible();
});
