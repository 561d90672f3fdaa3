import { expect, test } from "@playwright/test";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, hasJs, logIn, logOut, ready, signUp, uniqueEmail, visit } from "./helpers";

test("the home page is server-rendered and hydrates", async ({ page }, info) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const res = await page.goto("/");
  expect(res?.status()).toBe(200);
  await expect(page.locator("h1")).toContainText("Know who brings you people");
  await ready(page, info);
  if (hasJs(info)) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }
  expect(errors).toEqual([]);
});

test("sign up, log out, log in and change the password", async ({ page }, info) => {
  const email = uniqueEmail("flow", info);
  await signUp(page, info, email, "Flow Tester");
  await expect(page.locator("header")).toContainText("Flow Tester");

  await logOut(page, info);
  await logIn(page, info, email);
  await page.waitForURL("**/account");
  await ready(page, info);
  await expect(page.locator("h1")).toHaveText("Your account");

  const newPassword = "another long passphrase";
  await page.fill("#current_password", PASSWORD);
  await page.fill("#new_password", newPassword);
  await page.click("#password-form button[type=submit]");
  await expect(page.locator("#password-form .alert-ok")).toContainText("Your password has been changed");

  await logOut(page, info);
  await logIn(page, info, email, newPassword);
  await page.waitForURL("**/account");
  await expect(page.locator("header")).toContainText("Flow Tester");
});

test("a wrong password shows its message and keeps the email", async ({ page }, info) => {
  const email = uniqueEmail("wrong", info);
  await signUp(page, info, email);
  await logOut(page, info);
  await logIn(page, info, email, "not the right password");
  await expect(page.locator(".alert-error")).toContainText("The email or password is incorrect.");
  await expect(page.locator("#email")).toHaveValue(email);
  await expect(page.locator("#password")).toHaveValue("");
});

test("sign-up errors show next to their fields", async ({ page }, info) => {
  await visit(page, "/signup", info);
  await page.fill("#email", "not-an-email");
  await page.fill("#password", "short");
  await page.fill("#display_name", "Kept Name");
  await page.click("button[type=submit]");
  await expect(page.locator("#email-error")).toContainText("valid email");
  await expect(page.locator("#password-error")).toContainText("at least 8");
  await expect(page.locator("#display_name")).toHaveValue("Kept Name");
  await expect(page.locator("#password")).toHaveValue("");
});

test("a member sees 403 at /admin", async ({ page }, info) => {
  const email = uniqueEmail("member", info);
  await signUp(page, info, email);
  const res = await page.goto("/admin");
  expect(res?.status()).toBe(403);
  await ready(page, info);
  await expect(page.locator("h1")).toContainText("Not allowed");
});

test("an admin reaches the users page", async ({ page }, info) => {
  await logIn(page, info, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.waitForURL("**/account");
  await visit(page, "/admin/users", info);
  await expect(page.locator("h1")).toHaveText("Users");
  await expect(page.locator("#users-table")).toContainText(ADMIN_EMAIL);
});
