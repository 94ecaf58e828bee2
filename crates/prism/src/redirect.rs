//! Which HTTP redirects a client carrying credentials may follow.
//!
//! Every request we send carries a credential (Basic auth, the `X-ntnx-api-key` header, and the
//! user's custom headers, which are usually tokens too). A generic HTTP client strips only the
//! headers it knows to be sensitive when a redirect leaves the origin, so the API key and custom
//! headers would be re-sent to whatever host a redirect names. The rule here is simpler and
//! stricter: a redirect is followed only within the origin (scheme, host and port) of the
//! request, with the same method and body; anything else is an error that names the target.
//! This is pure so the console (websocket) and WinRM transports can apply the same rule.

use url::Url;

/// Most redirects one call follows. Prism itself does not redirect API calls; a proxy in front
/// of it may redirect once or twice. More hops than this is a loop or a misconfiguration.
pub const MAX_REDIRECTS: u32 = 3;

/// What to do with a 3xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectDecision {
    /// Send the same method, headers and body to this URL.
    Follow(Url),
    /// Do not follow; the reason is for the user.
    Refuse(RedirectRefusal),
}

/// Why a redirect is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRefusal {
    /// The target has another scheme, host or port: credentials would go to a third party (or
    /// in clear text, for `http`).
    CrossOrigin {
        /// `scheme://host:port` of the request.
        from: String,
        /// `scheme://host:port` of the target.
        to: String,
    },
    /// 301/302/303 to a method other than GET/HEAD: clients conventionally turn these into a
    /// GET, which would silently drop the request body (a create becomes a read).
    MethodChange {
        /// The 3xx status.
        status: u16,
        /// The request method.
        method: String,
    },
    /// The body was streamed from a file and cannot be sent a second time.
    BodyNotReplayable,
    /// The target carries a user name or password of its own.
    CredentialsInUrl,
    /// The status is 3xx but not one that names a new location to repeat the request at
    /// (300, 304, 305, 306).
    NotARedirect {
        /// The 3xx status.
        status: u16,
    },
}

impl std::fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CrossOrigin { from, to } if from.starts_with("https:") && to.starts_with("http:") => write!(
                f,
                "it leaves {from} for {to} (a downgrade to plain http); credentials are never sent to another origin"
            ),
            Self::CrossOrigin { from, to } => write!(
                f,
                "it leaves {from} for {to}; credentials are never sent to another origin"
            ),
            Self::MethodChange { status, method } => write!(
                f,
                "HTTP {status} would turn the {method} into a GET; only 307/308 keep the method"
            ),
            Self::BodyNotReplayable => {
                f.write_str("the request body was streamed and cannot be sent again")
            }
            Self::CredentialsInUrl => f.write_str("the target URL carries credentials of its own"),
            Self::NotARedirect { status } => {
                write!(f, "HTTP {status} is not a redirect this client follows")
            }
        }
    }
}

/// `scheme://host:port` with the scheme's default port filled in: what "same origin" compares.
pub fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Decides whether a `status` answer to `method from` may be followed to `to`.
///
/// `body_replayable` is false when the request body was a stream that is already spent (a
/// request without a body is replayable). The caller counts hops against [`MAX_REDIRECTS`].
pub fn redirect_decision(
    from: &Url,
    to: &Url,
    method: &str,
    status: u16,
    body_replayable: bool,
) -> RedirectDecision {
    let refuse = RedirectDecision::Refuse;
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return refuse(RedirectRefusal::NotARedirect { status });
    }
    if !to.username().is_empty() || to.password().is_some() {
        return refuse(RedirectRefusal::CredentialsInUrl);
    }
    let (from_origin, to_origin) = (origin(from), origin(to));
    if from_origin != to_origin || !matches!(to.scheme(), "http" | "https") {
        return refuse(RedirectRefusal::CrossOrigin {
            from: from_origin,
            to: to_origin,
        });
    }
    let keeps_method = matches!(status, 307 | 308) || matches!(method, "GET" | "HEAD");
    if !keeps_method {
        return refuse(RedirectRefusal::MethodChange {
            status,
            method: method.to_string(),
        });
    }
    if !body_replayable {
        return refuse(RedirectRefusal::BodyNotReplayable);
    }
    RedirectDecision::Follow(to.clone())
}

/// Resolves a `Location` header value against the URL it answered (it may be relative).
pub fn resolve_location(from: &Url, location: &str) -> Result<Url, url::ParseError> {
    from.join(location.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const FROM: &str = "https://pc.example:9440/api/nutanix/v3/clusters/list";

    #[test]
    fn same_origin_307_and_308_keep_method_and_are_followed() {
        for status in [307, 308] {
            let to = u("https://pc.example:9440/api/nutanix/v3/other");
            assert_eq!(
                redirect_decision(&u(FROM), &to, "POST", status, true),
                RedirectDecision::Follow(to.clone())
            );
        }
    }

    #[test]
    fn default_ports_compare_equal() {
        let from = u("https://pc.example/a");
        let to = u("https://pc.example:443/b");
        assert!(matches!(
            redirect_decision(&from, &to, "GET", 302, true),
            RedirectDecision::Follow(_)
        ));
    }

    #[test]
    fn another_host_port_or_scheme_is_refused() {
        for to in [
            "https://evil.example:9440/x",
            "https://pc.example:9441/x",
            "http://pc.example:9440/x",
            "HTTPS://PC.example:9440/x/../../y", // same origin after normalising: followed
        ] {
            let decision = redirect_decision(&u(FROM), &u(to), "GET", 307, true);
            if to.starts_with("HTTPS") {
                assert!(matches!(decision, RedirectDecision::Follow(_)), "{to}");
            } else {
                assert!(
                    matches!(
                        decision,
                        RedirectDecision::Refuse(RedirectRefusal::CrossOrigin { .. })
                    ),
                    "{to}: {decision:?}"
                );
            }
        }
        let RedirectDecision::Refuse(why) =
            redirect_decision(&u(FROM), &u("http://pc.example:9440/x"), "GET", 308, true)
        else {
            panic!("followed a downgrade")
        };
        assert!(why.to_string().contains("downgrade"), "{why}");
    }

    #[test]
    fn post_is_never_turned_into_get() {
        let to = u("https://pc.example:9440/api/nutanix/v3/x");
        for status in [301, 302, 303] {
            assert_eq!(
                redirect_decision(&u(FROM), &to, "POST", status, true),
                RedirectDecision::Refuse(RedirectRefusal::MethodChange {
                    status,
                    method: "POST".into()
                })
            );
            assert!(matches!(
                redirect_decision(&u(FROM), &to, "GET", status, true),
                RedirectDecision::Follow(_)
            ));
        }
    }

    #[test]
    fn streamed_bodies_credentials_in_urls_and_non_redirects_are_refused() {
        let to = u("https://pc.example:9440/x");
        assert_eq!(
            redirect_decision(&u(FROM), &to, "PUT", 307, false),
            RedirectDecision::Refuse(RedirectRefusal::BodyNotReplayable)
        );
        assert_eq!(
            redirect_decision(
                &u(FROM),
                &u("https://a:b@pc.example:9440/x"),
                "GET",
                307,
                true
            ),
            RedirectDecision::Refuse(RedirectRefusal::CredentialsInUrl)
        );
        for status in [300, 304, 305, 306] {
            assert_eq!(
                redirect_decision(&u(FROM), &to, "GET", status, true),
                RedirectDecision::Refuse(RedirectRefusal::NotARedirect { status })
            );
        }
    }

    #[test]
    fn relative_locations_resolve_against_the_request() {
        assert_eq!(
            resolve_location(&u(FROM), "/api/nutanix/v3/y").unwrap(),
            u("https://pc.example:9440/api/nutanix/v3/y")
        );
        assert_eq!(
            resolve_location(&u(FROM), "//evil.example/y").unwrap(),
            u("https://evil.example/y")
        );
    }
}
