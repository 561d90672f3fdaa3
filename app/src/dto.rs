//! Types that cross the wire between server and browser (and to JSON clients).
//! Never a database model, never a password hash. Ids are strings in JSON.

use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl UserDto {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// `{"user": {...}}`: the answer of signup and login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEnvelope {
    pub user: UserDto,
}

/// `{"ok": true}`: the answer of actions that return nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub ok: bool,
}

impl Done {
    pub const OK: Done = Done { ok: true };
}

/// A form's error and the values it was submitted with (never a password), kept in
/// the session for one request so that a form posted without JavaScript can show
/// its errors after the redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FormFlash {
    pub error: Option<AppError>,
    pub values: BTreeMap<String, String>,
    pub notice: Option<String>,
}

/// One row of the admin Users page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
    pub referred_by: Option<String>,
    pub referred_by_campaign: Option<String>,
}

/// A page of a list, with the total count for pagination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }

    /// The same page with each item converted.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        })
    }
}

/// A touchpoint as the admin sees it. Values are plain text: the page never turns an
/// `http_referrer` into a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchpointRow {
    pub id: String,
    pub identity_id: String,
    pub at: String,
    pub path: String,
    pub http_referrer: Option<String>,
    pub referrer_host: Option<String>,
    pub source: String,
    pub medium: String,
    pub channel: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub click_ids: Option<String>,
    pub link_code: Option<String>,
}

/// Filters of the admin touchpoint list (all optional; dates as `YYYY-MM-DD` or RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TouchpointFilters {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub referrer_host: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedIdentityRow {
    pub id: String,
    pub public_id: String,
    pub merged_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDetail {
    pub id: String,
    pub public_id: String,
    pub created_at: String,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    /// Set when this identity was merged into another.
    pub merged_into: Option<String>,
    pub merged: Vec<MergedIdentityRow>,
    pub touches: Vec<TouchpointRow>,
}

/// A referral link with its counts: the contract's `/api/links/mine` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkDto {
    pub code: String,
    pub url: String,
    pub label: String,
    pub destination: String,
    pub active: bool,
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    pub is_personal: bool,
    pub created_at: String,
    pub clicks: i64,
    pub unique_visitors: i64,
    pub signups: i64,
    pub responses: BTreeMap<String, i64>,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkEnvelope {
    pub link: LinkDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinksEnvelope {
    pub links: Vec<LinkDto>,
}

/// A link on the "My links" page: the link, its QR code (SVG markup made on the
/// server) and whether it has expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkCard {
    pub link: LinkDto,
    pub qr_svg: String,
    pub expired: bool,
    /// Display labels of the actions in `link.responses`.
    pub action_labels: BTreeMap<String, String>,
}

/// One response as a link's owner sees it: no visitor address, no identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseDto {
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

/// A response as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminResponseRow {
    pub id: String,
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub link_code: String,
    pub user_email: Option<String>,
    pub identity_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub http_referrer: Option<String>,
    pub client_ip: Option<String>,
}

/// A link as an admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminLinkRow {
    pub link: LinkDto,
    pub owner_email: Option<String>,
    pub campaign: Option<String>,
    pub campaign_id: Option<String>,
    pub auto_created: bool,
}

/// A campaign with its counts (clicks and sign-ups inside its dates only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub pattern: String,
    pub pattern_kind: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// The first and last local days, for forms (`YYYY-MM-DD`).
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub codes: i64,
    pub clicks: i64,
    pub signups: i64,
    pub unique_visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEnvelope {
    pub campaign: CampaignDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    pub assigned: u64,
}

/// One code of a campaign, with its counts inside the campaign's dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCodeRow {
    pub code: String,
    pub owner_email: Option<String>,
    pub clicks: i64,
    pub signups: i64,
    pub unique_visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub campaign: CampaignDto,
    pub codes: Vec<CampaignCodeRow>,
}

/// A conversion as the API and the admin pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionDto {
    pub id: String,
    pub event: String,
    /// A decimal string in the currency's minor units (`"99.99"`), or null.
    pub value: Option<String>,
    pub currency: String,
    pub custom_data: serde_json::Value,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub confirmed: bool,
    pub active: bool,
    pub occurred_at: String,
    pub created_at: String,
    pub identity_id: Option<String>,
    pub user_id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A row of the admin conversions page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminConversionRow {
    pub conversion: ConversionDto,
    pub at: String,
    pub user_email: Option<String>,
    pub status: String,
    /// The derived `source` of the conversion's last touch (last-touch model, default window).
    pub last_touch_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A newly created key: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKeyDto,
    pub secret: String,
}

/// The settings a report or credit list was computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionMetadata {
    pub model: String,
    pub window_days: i64,
    pub source_windows: BTreeMap<String, i64>,
    pub half_life_days: f64,
}

/// One row of an attribution report: credited conversions (weighted) and credited
/// value per currency (never mixed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub key: String,
    pub conversions: f64,
    pub value: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub items: Vec<ReportRow>,
    pub metadata: AttributionMetadata,
}

/// One touch's share of a conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    pub touchpoint_id: String,
    pub weight: f64,
    pub at: String,
    pub source: String,
    pub medium: String,
    /// The touch's tracked parameters (UTM, click ids, extras).
    pub params: BTreeMap<String, String>,
    pub http_referrer: Option<String>,
    pub link: Option<String>,
    pub referring_user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub credits: Vec<Credit>,
    pub metadata: AttributionMetadata,
}

/// A conversion with its attribution (the API's list item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributedConversion {
    #[serde(flatten)]
    pub conversion: ConversionDto,
    pub attribution: Attribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// `default` or `source`.
    pub kind: String,
    pub days: i64,
}

/// One touch of the converting identity, and what the model made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedTouch {
    pub id: String,
    pub at: String,
    pub source: String,
    pub medium: String,
    pub utm_campaign: Option<String>,
    pub link: Option<String>,
    /// `credited`, `outside_window` or `after_conversion`.
    pub verdict: String,
    pub weight: f64,
    pub window: WindowInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub identity_id: String,
    pub public_id: String,
    pub merged_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub conversion: ConversionDto,
    pub touches: Vec<ExplainedTouch>,
    pub merges: Vec<MergeRecord>,
    pub metadata: AttributionMetadata,
}

/// A dashboard date range as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDto {
    pub preset: String,
    /// First and last day, `YYYY-MM-DD` (inclusive).
    pub from: String,
    pub to: String,
    pub hourly: bool,
    /// `range=...` (and `from`/`to` for custom ranges), for links that keep the range.
    pub query: String,
}

/// A headline number and its change against the previous period of the same length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    pub key: String,
    pub label: String,
    pub current: String,
    pub previous: String,
    /// Percent change; `None` when the previous period had nothing.
    pub change_pct: Option<f64>,
}

/// One line of a chart: its name and a value per label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopRow {
    pub key: String,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
}

/// A top-10 table, ranked by conversions and by value (in the default currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopTable {
    pub dimension: String,
    pub title: String,
    pub by_conversions: Vec<TopRow>,
    pub by_value: Vec<TopRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub range: RangeDto,
    pub kpis: Vec<Kpi>,
    pub chart: ChartData,
    pub tops: Vec<TopTable>,
    pub default_currency: String,
    pub timezone: String,
}

/// The same groups under every model, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub key: String,
    /// Credited conversions per model, in `CompareReport::models` order.
    pub conversions: Vec<f64>,
    /// Credited value per model (per currency).
    pub value: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub models: Vec<String>,
    pub rows: Vec<CompareRow>,
    pub metadata: AttributionMetadata,
}

/// A conversion credited to a group, with the group's share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRow {
    pub conversion: ConversionDto,
    pub at: String,
    pub share: f64,
}

/// The explorer's parameters, as the URL carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExplorerParams {
    pub model: Option<String>,
    pub group_by: Option<String>,
    pub window_days: Option<String>,
    pub source_windows: Option<String>,
    pub half_life_days: Option<String>,
    pub event: Option<String>,
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub valid: Option<String>,
}

impl ExplorerParams {
    /// The rows of per-source windows the explorer's form offers (`sw_source_0`,
    /// `sw_days_0`, ...).
    pub const SOURCE_WINDOW_ROWS: usize = 4;

    /// The parameters of the explorer's URL (blank values are absent). Per-source
    /// windows come from the form's rows, or from a compact `source_windows=google:14,email:7`.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let rows: Vec<String> = (0..Self::SOURCE_WINDOW_ROWS)
            .filter_map(|i| {
                let s = get(&format!("sw_source_{i}"))?;
                let d = get(&format!("sw_days_{i}"))?;
                Some(format!("{}:{}", s.trim(), d.trim()))
            })
            .collect();
        let source_windows = if rows.is_empty() {
            get("source_windows")
        } else {
            Some(rows.join(","))
        };
        ExplorerParams {
            model: get("model"),
            group_by: get("group_by"),
            window_days: get("window_days"),
            source_windows,
            half_life_days: get("half_life_days"),
            event: get("event"),
            range: get("range"),
            from: get("from"),
            to: get("to"),
            valid: get("valid"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorerData {
    pub report: Report,
    pub range: RangeDto,
    pub group_by: String,
    pub event: Option<String>,
    pub valid_only: bool,
}

/// A referring user or a link on the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderRow {
    pub id: String,
    pub name: String,
    pub signups: i64,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub range: RangeDto,
    pub users_by_signups: Vec<LeaderRow>,
    pub users_by_value: Vec<LeaderRow>,
    pub links_by_signups: Vec<LeaderRow>,
    pub links_by_value: Vec<LeaderRow>,
    pub default_currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferredUser {
    pub email: String,
    pub display_name: String,
    pub joined: String,
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: AdminUserRow,
    pub identity_id: Option<String>,
    pub links: Vec<LinkDto>,
    pub referred: Vec<ReferredUser>,
    /// Conversions credited to the user's links (last touch, default window), newest first.
    pub credited: Vec<DrillRow>,
    pub credited_total: i64,
    pub credited_value: BTreeMap<String, String>,
}

/// A campaign's performance in a date range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignPerformance {
    pub campaign: CampaignDto,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
    /// Conversions per day of the range.
    pub sparkline: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignsPerformance {
    pub range: RangeDto,
    pub campaigns: Vec<CampaignPerformance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignPage {
    pub range: RangeDto,
    pub performance: CampaignPerformance,
    pub codes: Vec<CampaignCodeRow>,
    pub chart: ChartData,
}

/// The UTM builder's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaggedUrl {
    pub url: String,
    pub qr_svg: String,
}
