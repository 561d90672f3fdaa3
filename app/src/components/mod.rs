//! Shared UI: the layout, the session context, form fields with their errors and
//! one-time messages, pagination, charts, the date-range picker.

pub mod charts;
pub mod forms;
pub mod layout;
pub mod pagination;
pub mod range;
pub mod session;
