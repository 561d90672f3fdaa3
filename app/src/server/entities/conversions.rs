use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub identity_id: Option<i64>,
    pub user_id: Option<i64>,
    pub event: String,
    pub value_minor: Option<i64>,
    pub currency: String,
    pub custom_data: String,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub confirmed: bool,
    pub active: bool,
    pub occurred_at: i64,
    pub created_at: i64,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub lt_touchpoint_id: Option<i64>,
    pub lt_at: Option<i64>,
    pub lt_source: Option<String>,
    pub lt_link_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
