import { expect, Page, TestInfo } from "@playwright/test";

export const PASSWORD = "correct horse battery staple";
export const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL ?? "admin@e2e.test";
export const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD ?? "e2e admin passphrase here";

export function hasJs(info: TestInfo): boolean {
  return info.project.name === "js";
}

/** A unique email per test run and project. */
export function uniqueEmail(prefix: string, info: TestInfo): string {
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return `${prefix}.${info.project.name}.${stamp}@example.com`;
}

/** Goes to a page and, when JavaScript runs, waits until it has hydrated. */
export async function visit(page: Page, path: string, info: TestInfo) {
  await page.goto(path);
  await ready(page, info);
}

export async function ready(page: Page, info: TestInfo) {
  if (hasJs(info)) {
    await page.waitForSelector("body[data-hydrated='true']", { timeout: 30_000 });
  }
}

export async function signUp(page: Page, info: TestInfo, email: string, name = "E2E User") {
  await visit(page, "/signup", info);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.fill("#display_name", name);
  await page.click("button[type=submit]");
  await page.waitForURL("**/account");
  await ready(page, info);
  await expect(page.locator("h1")).toHaveText("Your account");
}

export async function logIn(page: Page, info: TestInfo, email: string, password = PASSWORD) {
  await visit(page, "/login", info);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("form button[type=submit]");
}

export async function logOut(page: Page, info: TestInfo) {
  await page.click("header button:has-text('Log out')");
  await page.waitForURL((url) => url.pathname === "/");
  await ready(page, info);
  await expect(page.locator("header")).toContainText("Log in");
}

/** Another browser context with this project's options (user agent, JavaScript). */
export async function newContext(browser: import("@playwright/test").Browser, info: TestInfo) {
  const use = info.project.use;
  return browser.newContext({ userAgent: use.userAgent, javaScriptEnabled: use.javaScriptEnabled, baseURL: use.baseURL, viewport: use.viewport });
}

export async function adminPage(browser: import("@playwright/test").Browser, info: TestInfo) {
  const ctx = await newContext(browser, info);
  const page = await ctx.newPage();
  await logIn(page, info, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.waitForURL("**/account");
  return page;
}
