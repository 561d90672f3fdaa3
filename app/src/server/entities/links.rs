use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code: String,
    pub code_key: String,
    pub owner_id: Option<i64>,
    pub label: String,
    pub destination: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub expires_at: Option<i64>,
    pub active: bool,
    pub campaign_id: Option<i64>,
    pub is_personal: bool,
    pub auto_created: bool,
    pub idem_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
