//! Shared UI: the layout, form fields with their errors, pagination.

pub mod charts;
pub mod forms;
pub mod layout;
pub mod pagination;
pub mod range;
