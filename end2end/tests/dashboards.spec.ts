import { expect, Page, test, TestInfo } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { hasJs, ready } from "./helpers";

// The dashboards run against a second server on a database filled by
// `tributary seed-demo` (started by scripts/test.sh), so that the other specs keep
// their clean database.
const DEMO_URL = process.env.DEMO_URL ?? "http://127.0.0.1:3301";
const DEMO_ADMIN = process.env.DEMO_ADMIN_EMAIL ?? "demo0.s1@demo.example";
const DEMO_PASSWORD = "demo password 2026";

test.use({ baseURL: DEMO_URL });

const ARTIFACTS = path.join(__dirname, "..", "artifacts");

async function screenshot(page: Page, info: TestInfo, name: string) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}-${info.project.name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await info.attach(name, { path: file, contentType: "image/png" });
}

async function logInDemoAdmin(page: Page, info: TestInfo) {
  await page.goto("/login");
  await ready(page, info);
  await page.fill("#email", DEMO_ADMIN);
  await page.fill("#password", DEMO_PASSWORD);
  await page.click("form button[type=submit]");
  await page.waitForURL("**/account");
  await ready(page, info);
}

async function go(page: Page, info: TestInfo, url: string) {
  await page.goto(url);
  await ready(page, info);
}

async function kpi(page: Page, key: string): Promise<string> {
  return ((await page.locator(`.kpi[data-kpi='${key}'] .kpi-value`).textContent()) ?? "").trim();
}

test("the overview shows the demo data, and the range changes the URL and the numbers", async ({ page }, info) => {
  await logInDemoAdmin(page, info);
  await go(page, info, "/admin?range=30d");
  const chart = page.locator("svg#activity-chart");
  await expect(chart).toBeVisible();
  // Three series (touchpoints, sign-ups, conversions), one point per day.
  await expect(chart.locator(".point")).toHaveCount(3 * 30);
  await expect(chart.locator("text", { hasText: "Touchpoints" })).toHaveCount(1);
  const touches30 = await kpi(page, "touchpoints");
  expect(Number(touches30)).toBeGreaterThan(0);
  await expect(page.locator(".top-table[data-dimension='source'] tbody tr").first()).toBeVisible();
  await screenshot(page, info, "overview");

  await page.click(".presets a[data-range='7d']");
  await page.waitForURL((u) => u.searchParams.get("range") === "7d");
  await ready(page, info);
  await expect(page.locator("svg#activity-chart .point")).toHaveCount(3 * 7);
  const touches7 = await kpi(page, "touchpoints");
  expect(Number(touches7)).toBeLessThan(Number(touches30));

  // Two days or less: one point per hour.
  await page.click(".presets a[data-range='today']");
  await page.waitForURL((u) => u.searchParams.get("range") === "today");
  await ready(page, info);
  await expect(page.locator("svg#activity-chart .point")).toHaveCount(3 * 24);

  if (hasJs(info)) {
    // After hydration a point shows its tooltip on hover.
    await go(page, info, "/admin?range=7d");
    await page.locator("svg#activity-chart .point").nth(3).hover();
    await expect(page.locator("svg#activity-chart g.tooltip")).toBeVisible();
  }
});

async function credited(page: Page): Promise<string[]> {
  return page.locator("#attribution-table tbody td.credited").allTextContents();
}

test("the explorer switches models, compares all five, and drills into an explanation", async ({ page }, info) => {
  await logInDemoAdmin(page, info);
  await go(page, info, "/admin/attribution?range=30d&model=last_touch&group_by=source");
  await expect(page.locator("#attribution-table[data-model='last_touch'] tbody tr").first()).toBeVisible();
  await expect(page.locator("svg#attribution-chart")).toBeVisible();
  const last = await credited(page);
  const total = await page.locator("#attribution-total").textContent();

  await page.selectOption("#model", "linear");
  await page.click("#explorer-form button[type=submit]");
  await page.waitForURL((u) => u.searchParams.get("model") === "linear");
  await ready(page, info);
  // With JavaScript the router swaps the table in place: wait for the new one.
  await expect(page.locator("#attribution-table[data-model='linear'] tbody tr").first()).toBeVisible();
  const linear = await credited(page);
  expect(linear).not.toEqual(last);
  // Every model credits the same conversions in all: the total is kept.
  await expect(page.locator("#attribution-total")).toHaveText(total ?? "");
  await screenshot(page, info, "explorer");

  await page.click("#compare-link");
  await page.waitForURL((u) => u.searchParams.get("view") === "compare");
  await ready(page, info);
  await expect(page.locator("#compare-table thead th[data-model]")).toHaveCount(5);
  await expect(page.locator("#compare-table tbody tr").first()).toBeVisible();
  await screenshot(page, info, "explorer-compare");

  await go(page, info, "/admin/attribution?range=30d&model=position_based&group_by=source");
  await page.locator("#attribution-table a.drill").first().click();
  await page.waitForURL("**/admin/attribution/drill**");
  await ready(page, info);
  await expect(page.locator("#drill-table tbody tr").first()).toBeVisible();
  await page.locator("#drill-table a.explain-link").first().click();
  await page.waitForURL("**/admin/conversions/**");
  await ready(page, info);
  await expect(page.locator("h1")).toContainText("Why conversion");
  const touches = page.locator("#explain-table tbody tr");
  await expect(touches.first()).toBeVisible();
  await expect(page.locator("#explain-table tr[data-verdict=credited]").first()).toBeVisible();
});

test("a CSV download has the table's header and rows", async ({ page }, info) => {
  await logInDemoAdmin(page, info);
  await go(page, info, "/admin/attribution?range=30d&model=linear&group_by=channel");
  const rows = await page.locator("#attribution-table tbody tr").count();
  expect(rows).toBeGreaterThan(0);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("a[href^='/admin/export/attribution.csv']"),
  ]);
  expect(download.suggestedFilename()).toBe("attribution.csv");
  const text = fs.readFileSync((await download.path())!, "utf8");
  const lines = text.trim().split(/\r?\n/);
  expect(lines[0]).toMatch(/^channel,conversions,value_/);
  expect(lines.length - 1).toBe(rows);
});
