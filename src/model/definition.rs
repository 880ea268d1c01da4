//! A rendered resource definition, held as compact canonical JSON text: tens of thousands of
//! them live in a plan, and a tree of small allocations each would cost several times more.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Definition(Box<RawValue>);

impl Definition {
    /// Canonical: serde_json orders object keys, so equal values give equal text.
    pub fn from_value(v: &Value) -> Self {
        RawValue::from_string(v.to_string()).map_or_else(|_| Self::null(), Self)
    }

    pub fn null() -> Self {
        Self(RawValue::NULL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The definition as a value tree, for diffs and display.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.as_str()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Definition {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Definition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
