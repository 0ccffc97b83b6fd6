//! ApiVersions (key 18): the advertised ranges, `odradek_protocol::SUPPORTED_APIS`. A request
//! newer than we serve never reaches here; the connection answers it in the v0 format.

use kafka_protocol::messages::ResponseKind;
use odradek_protocol::error_codes;
use odradek_protocol::response::api_versions_body;

pub(super) fn handle(_version: i16) -> ResponseKind {
    ResponseKind::ApiVersions(api_versions_body(error_codes::NONE))
}
