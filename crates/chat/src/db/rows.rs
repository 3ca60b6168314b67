//! Values, rows and decoding. Columns are read by name through [`Column`] and [`FromRow`], so an
//! added column shifts nothing and a renamed one fails a repository test with its name. Names
//! are portable only when every computed column is aliased: libSQL reformats the names of
//! unaliased expressions (`count (*)`).

use super::DbError;

/// One SQLite value, as Spin's sqlite interface transports it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<bool> for SqlValue {
    fn from(value: bool) -> Self {
        SqlValue::Integer(i64::from(value))
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// The rows a statement returned, with its column names.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    pub fn first(&self) -> Option<Row<'_>> {
        self.rows.first().map(|values| Row { columns: &self.columns, values })
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row { columns: &self.columns, values })
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every row as a `T`.
    pub fn decode<T: FromRow>(&self) -> Result<Vec<T>, DbError> {
        self.iter().map(T::from_row).collect()
    }

    /// The rows whose `column` is not NULL, as `T`s: the left-joined side of a statement that
    /// also answers one row of its own when nothing joined (a page and its total).
    pub fn decode_joined<T: FromRow>(&self, column: &str) -> Result<Vec<T>, DbError> {
        let mut decoded = Vec::with_capacity(self.rows.len());
        for row in self.iter() {
            if row.get::<Option<&SqlValue>>(column)?.is_some() {
                decoded.push(T::from_row(row)?);
            }
        }
        Ok(decoded)
    }

    /// The first row as a `T`, if there is one.
    pub fn decode_first<T: FromRow>(&self) -> Result<Option<T>, DbError> {
        self.first().map(T::from_row).transpose()
    }
}

/// A borrowed row. A missing column or a value of an unexpected type is a [`DbError::Decode`]
/// naming the column, never a panic.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [SqlValue],
}

impl<'a> Row<'a> {
    /// The value of the column `name`, decoded.
    pub fn get<T: Column<'a>>(&self, name: &str) -> Result<T, DbError> {
        let value =
            self.columns.iter().position(|column| column == name).and_then(|index| self.values.get(index)).ok_or_else(
                || DbError::Decode(format!("no column named {name} (columns: {})", self.columns.join(", "))),
            )?;
        T::from_value(value)
            .map_err(|expected| DbError::Decode(format!("column {name}: expected {expected}, got {value:?}")))
    }
}

/// A type a row decodes into.
pub trait FromRow: Sized {
    fn from_row(row: Row<'_>) -> Result<Self, DbError>;
}

/// A type one column decodes into; the error names what was expected.
pub trait Column<'a>: Sized {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str>;
}

impl<'a> Column<'a> for i64 {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        match value {
            SqlValue::Integer(n) => Ok(*n),
            _ => Err("an integer"),
        }
    }
}

impl<'a> Column<'a> for bool {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        i64::from_value(value).map(|n| n != 0).map_err(|_| "0 or 1")
    }
}

impl<'a> Column<'a> for &'a str {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        match value {
            SqlValue::Text(text) => Ok(text),
            _ => Err("text"),
        }
    }
}

impl<'a> Column<'a> for String {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        <&str>::from_value(value).map(str::to_owned)
    }
}

impl<'a> Column<'a> for uuid::Uuid {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        <&str>::from_value(value).and_then(|text| uuid::Uuid::try_parse(text).map_err(|_| "a UUID"))
    }
}

/// Any value, undecoded.
impl<'a> Column<'a> for &'a SqlValue {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        Ok(value)
    }
}

impl<'a, T: Column<'a>> Column<'a> for Option<T> {
    fn from_value(value: &'a SqlValue) -> Result<Self, &'static str> {
        match value {
            SqlValue::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(columns: &[&str], values: Vec<SqlValue>) -> Rows {
        Rows { columns: columns.iter().map(|c| c.to_string()).collect(), rows: vec![values] }
    }

    #[test]
    fn columns_are_found_by_name_whatever_their_position() {
        let rows = rows(&["b", "a"], vec![SqlValue::Integer(2), SqlValue::Integer(1)]);
        let row = rows.first().unwrap();
        assert_eq!((row.get::<i64>("a").unwrap(), row.get::<i64>("b").unwrap()), (1, 2));
    }

    #[test]
    fn a_missing_column_is_an_error_naming_it() {
        let rows = rows(&["a"], vec![SqlValue::Integer(1)]);
        let error = rows.first().unwrap().get::<i64>("renamed").unwrap_err();
        assert!(matches!(error, DbError::Decode(message) if message.contains("renamed")));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_not_a_panic() {
        let rows = rows(&["a", "b"], vec![SqlValue::Null, SqlValue::Text("not a uuid".into())]);
        let row = rows.first().unwrap();
        assert!(row.get::<i64>("a").is_err());
        assert_eq!(row.get::<Option<&str>>("a").unwrap(), None);
        assert!(row.get::<uuid::Uuid>("b").is_err());
    }
}
