import { test, expect, Page } from "@playwright/test";
import { adminPage, hasJs, signUp, uniqueEmail, visit } from "./helpers";

/** Records every Content-Security-Policy violation and console error of a page. */
async function watch(page: Page) {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__violations = [...((window as any).__violations ?? []), `${e.violatedDirective} ${e.blockedURI}`];
    });
  });
  return problems;
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__violations ?? []);
}

test("pages hydrate under the Content-Security-Policy without violations", async ({ page, browser }, info) => {
  test.skip(!hasJs(info), "hydration needs JavaScript");
  const problems = await watch(page);
  for (const path of ["/", "/login", "/signup", "/?utm_source=csp-check"]) {
    const res = await page.goto(path);
    const csp = res!.headers()["content-security-policy"];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res!.headers()["x-content-type-options"]).toBe("nosniff");
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true", { timeout: 30_000 });
    expect(await violations(page), path).toEqual([]);
  }
  // Server functions (fetch) and client-side navigation work under the policy.
  await signUp(page, info, uniqueEmail("csp", info));
  await visit(page, "/links", info);
  expect(await violations(page)).toEqual([]);

  const admin = await adminPage(browser, info);
  const adminProblems = await watch(admin);
  for (const path of ["/admin", "/admin/campaigns", "/admin/utm", "/admin/attribution"]) {
    await visit(admin, path, info);
    expect(await violations(admin), path).toEqual([]);
  }
  expect(problems).toEqual([]);
  expect(adminProblems).toEqual([]);
});

test("the site cannot be framed", async ({ page }) => {
  const res = await page.goto("/login");
  expect(res!.headers()["x-frame-options"]).toBe("DENY");
});
