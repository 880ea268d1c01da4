//! A fake of AWS Service Quotas' listings (ListServiceQuotas and ListAWSDefaultServiceQuotas,
//! awsJson1_1: `POST /` with `X-Amz-Target: ServiceQuotasV20190624.<Operation>`), which
//! moto_server has for the `vpc` service only. The account's applied quotas are those a test
//! sets, the same in every region; AWS's defaults are empty. An unknown service code is
//! refused with `NoSuchResourceException`, as Service Quotas does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const TARGET: &str = "ServiceQuotasV20190624.";

/// The services the fake knows.
const SERVICES: &[&str] = &["medialive", "mediapackage", "cloudfront", "ec2", "vpc"];

#[derive(Default)]
pub struct ServiceQuotas {
    /// (service, quota name) → value.
    applied: Mutex<BTreeMap<(String, String), f64>>,
}

impl ServiceQuotas {
    /// The operation a call asks for, when it is one of Service Quotas'.
    pub fn operation(headers: &HeaderMap) -> Option<String> {
        headers
            .get("x-amz-target")?
            .to_str()
            .ok()?
            .strip_prefix(TARGET)
            .map(String::from)
    }

    /// Sets the account's quota `name` of `service`.
    pub fn set(&self, service: &str, name: &str, value: f64) {
        let mut all = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        all.insert((service.to_string(), name.to_string()), value);
    }

    pub fn answer(&self, operation: &str, body: &[u8]) -> Response {
        let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let Some(service) = req["ServiceCode"].as_str() else {
            return error("ValidationException", "ServiceCode is required");
        };
        if !SERVICES.contains(&service) {
            return error(
                "NoSuchResourceException",
                &format!("no service `{service}`"),
            );
        }
        let quotas: Vec<Value> = match operation {
            "ListServiceQuotas" => {
                let all = self.applied.lock().unwrap_or_else(|p| p.into_inner());
                all.iter()
                    .filter(|((s, _), _)| s == service)
                    .enumerate()
                    .map(|(i, ((s, name), v))| {
                        json!({
                            "ServiceCode": s,
                            "QuotaCode": format!("L-FAKE{i:04}"),
                            "QuotaName": name,
                            "Value": v,
                            "Adjustable": true,
                            "GlobalQuota": false,
                        })
                    })
                    .collect()
            }
            "ListAWSDefaultServiceQuotas" => Vec::new(),
            other => {
                return error(
                    "UnknownOperationException",
                    &format!("`{other}` is not served by the fake"),
                );
            }
        };
        (
            StatusCode::OK,
            [("content-type", "application/x-amz-json-1.1")],
            json!({ "Quotas": quotas }).to_string(),
        )
            .into_response()
    }
}

/// An error in awsJson1_1's shape: the code as `__type`.
fn error(code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.1")],
        json!({ "__type": code, "message": message }).to_string(),
    )
        .into_response()
}
