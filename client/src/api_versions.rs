//! The API versions a broker serves (ApiVersions), and the version to speak: the highest both
//! sides know, as Kafka's `NodeApiVersions.latestUsableVersion` picks it.

use std::ops::RangeInclusive;

use kafka_protocol::messages::ApiVersionsRequest;
use kafka_protocol::protocol::Request;

use crate::{ClientError, Connection, Result};

/// `(api key, min, max)` per API a broker advertised.
#[derive(Debug, Clone, Default)]
pub struct ApiVersions(Vec<(i16, i16, i16)>);

impl ApiVersions {
    /// Asks `conn`'s broker with ApiVersions v0, which every broker answers.
    pub async fn fetch(conn: &mut Connection) -> Result<ApiVersions> {
        let response = conn.send(&ApiVersionsRequest::default(), 0).await?;
        if response.error_code != 0 {
            return Err(ClientError::Refused {
                what: "ApiVersions".to_string(),
                code: response.error_code,
            });
        }
        Ok(ApiVersions(
            response
                .api_keys
                .iter()
                .map(|v| (v.api_key, v.min_version, v.max_version))
                .collect(),
        ))
    }

    /// The highest version of `R` in both `ours` and what the broker serves.
    pub fn usable<R: Request>(&self, ours: RangeInclusive<i16>) -> Option<i16> {
        let &(_, min, max) = self.0.iter().find(|(key, _, _)| *key == R::KEY)?;
        let version = (*ours.end()).min(max);
        (version >= (*ours.start()).max(min)).then_some(version)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{JoinGroupRequest, SyncGroupRequest};

    use super::*;

    #[test]
    fn highest_common_version() {
        let versions = ApiVersions(vec![(JoinGroupRequest::KEY, 0, 5)]);
        assert_eq!(versions.usable::<JoinGroupRequest>(1..=7), Some(5));
        assert_eq!(versions.usable::<JoinGroupRequest>(6..=7), None);
        assert_eq!(versions.usable::<SyncGroupRequest>(0..=5), None);
    }
}
