//! Page pagination (`page`, `limit`) for rooms, members and invitations.

use crate::error::ApiError;
use crate::request::Query;
use crate::response::PagePagination;

pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    /// `page` ≥ 1 (default 1) and `limit` 1-100 (default 20); anything else is a 400.
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        let page = query.integer_in("page", 1..=u32::MAX, 1);
        let limit = query.integer_in("limit", 1..=MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT);
        match (page, limit) {
            (Ok(page), Ok(limit)) => Ok(PageRequest { page, limit }),
            (Err(ApiError::Validation(mut a)), Err(ApiError::Validation(b))) => {
                a.extend(b);
                Err(ApiError::Validation(a))
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        }
    }

    /// The SQL `OFFSET` of this page.
    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.limit)
    }

    /// The pagination object for a page of this request out of `total` items.
    pub fn pagination(&self, total: u64) -> PagePagination {
        let seen = u64::from(self.page) * u64::from(self.limit);
        PagePagination { page: self.page, limit: self.limit, total, has_more: seen < total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<PageRequest, ApiError> {
        PageRequest::from_query(&Query::parse(query))
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(page("").unwrap(), PageRequest { page: 1, limit: 20 });
        assert_eq!(page("page=3&limit=100").unwrap(), PageRequest { page: 3, limit: 100 });
        for bad in ["page=0", "limit=0", "limit=101", "page=x", "limit=2.0", "page=1&page=2"] {
            assert!(page(bad).is_err(), "{bad}");
        }
        match page("page=0&limit=0").unwrap_err() {
            ApiError::Validation(details) => assert_eq!(details.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn has_more_on_exact_multiples() {
        let request = PageRequest { page: 2, limit: 10 };
        assert!(!request.pagination(20).has_more);
        assert!(request.pagination(21).has_more);
        assert!(!PageRequest { page: 5, limit: 10 }.pagination(20).has_more);
        assert_eq!(request.offset(), 10);
    }
}
