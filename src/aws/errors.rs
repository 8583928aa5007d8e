//! From the SDK's errors to [`ProviderError`]: classified by the AWS error code, so the engine can
//! tell "gone" from "busy" from "forbidden" without knowing any AWS type.
//!
//! Every SDK call in `aws/` goes through [`sdk`]. The SDK has already retried throttling and 5xx
//! answers by the time an error gets here (see `RetryConfig` in `aws/mod.rs`), so what survives
//! is reported, not retried again.

use std::error::Error as StdError;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::provider::ProviderError;

/// Codes AWS uses when the credentials lack a permission.
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
];

/// Codes of throttling that survived the SDK's own retries.
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Codes of a session token that expired, by protocol: `ExpiredToken` (query services such as
/// RDS), `ExpiredTokenException` (JSON services such as ECS), and EC2's `RequestExpired`, which
/// its error list says "can also occur if the credentials have expired"
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];

/// Codes that mean "something else still uses it".
const DEPENDENCY: &[&str] = &[
    "DependencyViolation",
    "ResourceInUseException",
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsCapacityProviderException",
];

/// Codes that mean "not in a state that allows this now".
const INVALID_STATE: &[&str] = &[
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "InvalidDBSnapshotState",
    "InvalidDBSnapshotStateFault",
    "IncorrectInstanceState",
    "IncorrectState",
    // DeleteVolume of a volume still attached: it is freed when its instance ends.
    "VolumeInUse",
    "ServiceNotActiveException",
];

/// The error code of an SDK error, if AWS sent one.
pub(crate) fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// True when AWS answered with an error code that says the object does not exist.
pub(crate) fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    code_of(err).is_some_and(is_not_found_code)
}

pub(crate) fn is_not_found_code(code: &str) -> bool {
    code.contains("NotFound")
}

/// Map an SDK error. `action` is the IAM action name (`rds:DeleteDBInstance`), `what` names the
/// object the call was about (`rds_instance.db (prerelease-db)`).
pub(crate) fn sdk<E>(action: &str, what: &str, err: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default().to_owned();
            let message = service
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
            if code.is_empty() {
                let status = service.raw().status().as_u16();
                return ProviderError::Api {
                    action: action.to_owned(),
                    code: format!("HTTP {status}"),
                    message,
                };
            }
            classify(action, what, &code, message)
        }
        SdkError::TimeoutError(_) => ProviderError::Connection {
            action: action.to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        },
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            ProviderError::Connection {
                action: action.to_owned(),
                message: DisplayErrorContext(&err).to_string(),
            }
        }
        // Not sent for another reason than the network: typically no usable credentials.
        SdkError::DispatchFailure(_) => ProviderError::Api {
            action: action.to_owned(),
            code: "RequestNotSent".to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        },
        SdkError::ResponseError(_) => ProviderError::Api {
            action: action.to_owned(),
            code: "InvalidResponse".to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        },
        _ => ProviderError::Api {
            action: action.to_owned(),
            code: "RequestFailed".to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        },
    }
}

/// Classify an AWS error code (also used for the ECS per-item `failures` lists).
pub(crate) fn classify(action: &str, what: &str, code: &str, message: String) -> ProviderError {
    let action = action.to_owned();
    let what = what.to_owned();
    if is_not_found_code(code) {
        ProviderError::NotFound { what }
    } else if ACCESS_DENIED.contains(&code) {
        ProviderError::AccessDenied { action, message }
    } else if EXPIRED.contains(&code) {
        ProviderError::CredentialsExpired { action, message }
    } else if THROTTLED.contains(&code) {
        ProviderError::Throttled { action, message }
    } else if DEPENDENCY.contains(&code) {
        ProviderError::DependencyViolation { what, message }
    } else if INVALID_STATE.contains(&code) {
        ProviderError::InvalidState {
            what,
            state: format!("in the wrong state for {action}"),
            message,
        }
    } else {
        ProviderError::Api {
            action,
            code: code.to_owned(),
            message,
        }
    }
}

/// An SDK error during a create: a "not found" there is about something the request refers to
/// (a snapshot, a subnet group), not the resource being created, so it is reported as an API
/// error with AWS's own message, which names the missing object.
pub(crate) fn sdk_create<E>(action: &str, what: &str, err: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let code = code_of(&err).map(str::to_owned);
    match (code, sdk(action, what, err)) {
        (Some(code), ProviderError::NotFound { what }) => ProviderError::Api {
            action: action.to_owned(),
            code,
            message: format!("something {what} refers to does not exist"),
        },
        (_, other) => other,
    }
}

/// A request built from the spec's attributes was rejected before it was sent.
pub(crate) fn build(action: &str, err: impl std::fmt::Display) -> ProviderError {
    ProviderError::Api {
        action: action.to_owned(),
        code: "InvalidRequest".to_owned(),
        message: err.to_string(),
    }
}

/// An attribute of the spec that the provider cannot use.
pub(crate) fn attribute(kind: impl std::fmt::Display, message: impl Into<String>) -> ProviderError {
    ProviderError::Api {
        action: format!("read the attributes of {kind}"),
        code: "InvalidAttribute".to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let c = |code: &str| classify("rds:DeleteDBInstance", "db", code, "m".into());
        assert_eq!(
            c("DBInstanceNotFound"),
            ProviderError::NotFound { what: "db".into() }
        );
        assert_eq!(
            c("InvalidInstanceID.NotFound"),
            ProviderError::NotFound { what: "db".into() }
        );
        assert!(
            matches!(c("AccessDenied"), ProviderError::AccessDenied { action, .. } if action == "rds:DeleteDBInstance")
        );
        assert!(matches!(
            c("UnauthorizedOperation"),
            ProviderError::AccessDenied { .. }
        ));
        assert!(matches!(
            c("RequestLimitExceeded"),
            ProviderError::Throttled { .. }
        ));
        for expired in ["ExpiredToken", "ExpiredTokenException", "RequestExpired"] {
            assert!(matches!(
                c(expired),
                ProviderError::CredentialsExpired { .. }
            ));
        }
        assert!(matches!(
            c("ThrottlingException"),
            ProviderError::Throttled { .. }
        ));
        assert!(matches!(
            c("DependencyViolation"),
            ProviderError::DependencyViolation { .. }
        ));
        assert!(matches!(
            c("ClusterContainsServicesException"),
            ProviderError::DependencyViolation { .. }
        ));
        assert!(matches!(
            c("InvalidDBInstanceState"),
            ProviderError::InvalidState { .. }
        ));
        assert!(matches!(
            c("IncorrectInstanceState"),
            ProviderError::InvalidState { .. }
        ));
        assert!(matches!(
            c("InvalidParameterCombination"),
            ProviderError::Api { code, .. } if code == "InvalidParameterCombination"
        ));
    }
}
