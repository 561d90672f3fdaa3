//! Reports: credited conversions and value per group, under one model (`report`) or
//! all five side by side (`compare`). The sums come from the credit by day where the
//! settings allow it (see `credit_days`), else from searching every conversion's
//! candidates (see `engine`); this module only assembles them.

use super::credit_days;
use super::engine::{Sums, round6, search_sums};
use super::settings::{ConversionFilter, GroupBy, Model, Settings};
use crate::dto::{CompareReport, CompareRow, Report, ReportRow};
use crate::server::money::{exponent_of, format_weighted_minor};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use std::collections::BTreeMap;

/// The sums of `models`: from the credit by day where the settings allow it (see
/// `credit_days`), else by searching.
async fn sums<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
    models: &[Model],
) -> Result<Sums, DbErr> {
    if s.reads_credit_days() && filter.ids.is_none() && filter.late.is_none() {
        credit_days::sums(db, s, filter, group, models).await
    } else {
        search_sums(db, s, filter, group, models).await
    }
}

fn value_map(values: BTreeMap<String, f64>) -> BTreeMap<String, String> {
    values
        .into_iter()
        .map(|(c, v)| {
            let e = exponent_of(&c);
            (c, format_weighted_minor(v, e))
        })
        .collect()
}

/// Credited conversions and value per group.
pub async fn report<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
) -> Result<Report, DbErr> {
    let sums = sums(db, s, filter, group, &[s.model]).await?;
    let mut items: Vec<ReportRow> = sums
        .into_iter()
        .filter_map(|(key, mut models)| {
            let (conversions, value) = models.pop()?;
            (conversions > 0.0).then(|| ReportRow {
                key,
                conversions: round6(conversions),
                value: value_map(value),
            })
        })
        .collect();
    items.sort_by(|a, b| {
        b.conversions
            .partial_cmp(&a.conversions)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(Report {
        items,
        metadata: s.metadata(),
    })
}

/// Every model's credited conversions and value per group, in one pass over the candidates.
pub async fn compare<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
) -> Result<CompareReport, DbErr> {
    let sums = sums(db, s, filter, group, &Model::ALL).await?;
    let mut rows: Vec<CompareRow> = sums
        .into_iter()
        .filter(|(_, models)| models.iter().any(|(c, _)| *c > 0.0))
        .map(|(key, models)| {
            let (conversions, value): (Vec<f64>, Vec<_>) =
                models.into_iter().map(|(c, v)| (round6(c), value_map(v))).unzip();
            CompareRow {
                key,
                conversions,
                value,
            }
        })
        .collect();
    let last = Model::ALL.iter().position(|m| *m == s.model).unwrap_or(1);
    rows.sort_by(|a, b| {
        b.conversions[last]
            .partial_cmp(&a.conversions[last])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(CompareReport {
        models: Model::ALL.iter().map(|m| m.as_str().to_string()).collect(),
        rows,
        metadata: s.metadata(),
    })
}
