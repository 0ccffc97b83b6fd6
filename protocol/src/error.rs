//! Why a request frame could not be turned into a request.

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("request frame of {size} bytes is too short for a request header")]
    FrameTooShort { size: usize },
    #[error("unknown api key {api_key} (version {api_version}, correlation id {correlation_id})")]
    UnknownApiKey { api_key: i16, api_version: i16, correlation_id: i32 },
    #[error("unsupported version {api_version} of {api_name} (key {api_key}), correlation id {correlation_id}")]
    UnsupportedVersion { api_key: i16, api_name: &'static str, api_version: i16, correlation_id: i32 },
    #[error("malformed {api_name} v{api_version} request (correlation id {correlation_id}): {reason}")]
    Malformed { api_name: &'static str, api_version: i16, correlation_id: i32, reason: String },
}

/// A response that cannot be encoded at the requested version: a broker bug, never bad input.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {0}")]
pub struct EncodeError(pub String);
