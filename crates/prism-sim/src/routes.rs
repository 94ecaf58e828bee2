//! Maps a method and a path under `/api/nutanix/v3` to the operation it names, with Prism's
//! answers for near misses: a non-UUID where a UUID belongs is 400 `INVALID_UUID` (so
//! `GET /vms/list` fails the way it does on a real Prism Central), anything else unknown is 404.

use percent_encoding::percent_decode_str;

use crate::model::json::parse_uuid;
use crate::prism_error::ApiError;

/// The v3 API prefix the simulator serves.
pub const API_PREFIX: &str = "/api/nutanix/v3";

/// Entity kinds with list and get endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `clusters`
    Cluster,
    /// `subnets`
    Subnet,
    /// `images`
    Image,
    /// `vms`
    Vm,
    /// `projects`
    Project,
    /// `hosts`
    Host,
    /// `tasks`
    Task,
}

impl Kind {
    /// The `kind` string Prism uses.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::Subnet => "subnet",
            Kind::Image => "image",
            Kind::Vm => "vm",
            Kind::Project => "project",
            Kind::Host => "host",
            Kind::Task => "task",
        }
    }

    fn from_plural(s: &str) -> Option<Self> {
        Some(match s {
            "clusters" => Kind::Cluster,
            "subnets" => Kind::Subnet,
            "images" => Kind::Image,
            "vms" => Kind::Vm,
            "projects" => Kind::Project,
            "hosts" => Kind::Host,
            "tasks" => Kind::Task,
            _ => return None,
        })
    }
}

/// One v3 operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /{kind}s/list`
    List(Kind),
    /// `GET /{kind}s/{uuid}`
    Get(Kind, String),
    /// `POST /vms`, `POST /images`
    Create(Kind),
    /// `PUT /vms/{uuid}`, `PUT /images/{uuid}`
    Update(Kind, String),
    /// `DELETE /vms/{uuid}`, `DELETE /images/{uuid}`
    Delete(Kind, String),
    /// `PUT /images/{uuid}/file`
    Upload(String),
    /// `GET /images/{uuid}/file`
    Download(String),
    /// `POST /categories/list`
    CategoryKeys,
    /// `GET /categories/{key}`
    CategoryKey(String),
    /// `POST /categories/{key}/list`
    CategoryValues(String),
    /// `GET /categories/{key}/{value}`
    CategoryValue(String, String),
}

impl Route {
    /// Whether the request creates a task (so task faults may apply to it).
    pub fn creates_task(&self) -> bool {
        matches!(
            self,
            Route::Create(_) | Route::Update(..) | Route::Delete(..)
        )
    }

    /// Whether the request carries a JSON body the simulator reads.
    pub fn has_json_body(&self) -> bool {
        matches!(
            self,
            Route::List(_)
                | Route::Create(_)
                | Route::Update(..)
                | Route::CategoryKeys
                | Route::CategoryValues(_)
        )
    }

    /// Entity kind for error bodies.
    pub fn kind_name(&self) -> Option<&'static str> {
        match self {
            Route::List(k)
            | Route::Get(k, _)
            | Route::Create(k)
            | Route::Update(k, _)
            | Route::Delete(k, _) => Some(k.name()),
            Route::Upload(_) | Route::Download(_) => Some("image"),
            _ => Some("category"),
        }
    }

    /// Parses `method` and the full request path (query string removed).
    pub fn parse(method: &str, full_path: &str) -> Result<Route, ApiError> {
        let no_route = || ApiError::no_such_path(method, full_path);
        let rest = full_path
            .strip_prefix(API_PREFIX)
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(no_route)?;
        let segs: Vec<&str> = rest.trim_end_matches('/').split('/').skip(1).collect();
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let uuid_of = |kind: Kind, s: &str| {
            parse_uuid(s).ok_or_else(|| ApiError::invalid_uuid(kind.name(), s))
        };
        match (method, segs.as_slice()) {
            ("POST", ["categories", "list"]) => Ok(Route::CategoryKeys),
            ("GET", ["categories", key]) => Ok(Route::CategoryKey(decode(key))),
            ("POST", ["categories", key, "list"]) => Ok(Route::CategoryValues(decode(key))),
            ("GET", ["categories", key, value]) => {
                Ok(Route::CategoryValue(decode(key), decode(value)))
            }
            (_, [plural, tail @ ..]) => {
                let kind = Kind::from_plural(plural).ok_or_else(no_route)?;
                let creatable = matches!(kind, Kind::Vm | Kind::Image);
                match (method, tail) {
                    ("POST", ["list"]) => Ok(Route::List(kind)),
                    ("POST", []) if creatable => Ok(Route::Create(kind)),
                    ("GET", [id]) => Ok(Route::Get(kind, uuid_of(kind, id)?)),
                    ("PUT", [id]) if creatable => Ok(Route::Update(kind, uuid_of(kind, id)?)),
                    ("DELETE", [id]) if creatable => Ok(Route::Delete(kind, uuid_of(kind, id)?)),
                    ("PUT", [id, "file"]) if kind == Kind::Image => {
                        Ok(Route::Upload(uuid_of(kind, id)?))
                    }
                    ("GET", [id, "file"]) if kind == Kind::Image => {
                        Ok(Route::Download(uuid_of(kind, id)?))
                    }
                    _ => Err(no_route()),
                }
            }
            _ => Err(no_route()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000001";

    fn p(m: &str, path: &str) -> Result<Route, ApiError> {
        Route::parse(m, path)
    }

    #[test]
    fn every_endpoint_the_builder_uses() {
        let b = API_PREFIX;
        assert_eq!(
            p("POST", &format!("{b}/clusters/list")).unwrap(),
            Route::List(Kind::Cluster)
        );
        assert_eq!(
            p("GET", &format!("{b}/clusters/{U}")).unwrap(),
            Route::Get(Kind::Cluster, U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/subnets/list")).unwrap(),
            Route::List(Kind::Subnet)
        );
        assert_eq!(
            p("GET", &format!("{b}/subnets/{U}")).unwrap(),
            Route::Get(Kind::Subnet, U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/images/list")).unwrap(),
            Route::List(Kind::Image)
        );
        assert_eq!(
            p("POST", &format!("{b}/images")).unwrap(),
            Route::Create(Kind::Image)
        );
        assert_eq!(
            p("GET", &format!("{b}/images/{U}")).unwrap(),
            Route::Get(Kind::Image, U.into())
        );
        assert_eq!(
            p("PUT", &format!("{b}/images/{U}")).unwrap(),
            Route::Update(Kind::Image, U.into())
        );
        assert_eq!(
            p("DELETE", &format!("{b}/images/{U}")).unwrap(),
            Route::Delete(Kind::Image, U.into())
        );
        assert_eq!(
            p("PUT", &format!("{b}/images/{U}/file")).unwrap(),
            Route::Upload(U.into())
        );
        assert_eq!(
            p("GET", &format!("{b}/images/{U}/file")).unwrap(),
            Route::Download(U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/vms/list")).unwrap(),
            Route::List(Kind::Vm)
        );
        assert_eq!(
            p("POST", &format!("{b}/vms")).unwrap(),
            Route::Create(Kind::Vm)
        );
        assert_eq!(
            p("PUT", &format!("{b}/vms/{U}/")).unwrap(),
            Route::Update(Kind::Vm, U.into())
        );
        assert_eq!(
            p("DELETE", &format!("{b}/vms/{U}")).unwrap(),
            Route::Delete(Kind::Vm, U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/projects/list")).unwrap(),
            Route::List(Kind::Project)
        );
        assert_eq!(
            p("GET", &format!("{b}/projects/{U}")).unwrap(),
            Route::Get(Kind::Project, U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/hosts/list")).unwrap(),
            Route::List(Kind::Host)
        );
        assert_eq!(
            p("GET", &format!("{b}/tasks/{U}")).unwrap(),
            Route::Get(Kind::Task, U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/tasks/list")).unwrap(),
            Route::List(Kind::Task)
        );
        assert_eq!(
            p("GET", &format!("{b}/categories/Environment")).unwrap(),
            Route::CategoryKey("Environment".into())
        );
        assert_eq!(
            p("GET", &format!("{b}/categories/My%20Key/Dev")).unwrap(),
            Route::CategoryValue("My Key".into(), "Dev".into())
        );
        assert!(Route::Create(Kind::Vm).creates_task());
        assert!(!Route::List(Kind::Vm).creates_task());
    }

    #[test]
    fn uppercase_uuids_are_canonicalised() {
        let up = U.to_uppercase();
        assert_eq!(
            p("GET", &format!("{API_PREFIX}/vms/{up}")).unwrap(),
            Route::Get(Kind::Vm, U.into())
        );
    }

    #[test]
    fn near_misses() {
        let e = p("GET", &format!("{API_PREFIX}/vms/list")).unwrap_err();
        assert_eq!(
            (e.status, e.reason.as_str(), e.kind.as_deref()),
            (400, "INVALID_UUID", Some("vm"))
        );
        for (m, path) in [
            ("GET", "/api/nutanix/v3/widgets/list"),
            ("POST", "/api/nutanix/v3/clusters"),
            (
                "DELETE",
                "/api/nutanix/v3/clusters/c3b5e0a2-2222-4e1f-9d4b-000000000001",
            ),
            (
                "PATCH",
                "/api/nutanix/v3/vms/c3b5e0a2-2222-4e1f-9d4b-000000000001",
            ),
            ("GET", "/api/nutanix/v3"),
            ("GET", "/api/nutanix/v3x/vms/list"),
            ("GET", "/api/nutanix/v4/vms"),
            ("GET", "/"),
            (
                "GET",
                "/api/nutanix/v3/vms/c3b5e0a2-2222-4e1f-9d4b-000000000001/file",
            ),
            ("POST", "/api/nutanix/v3/vms/list/extra"),
        ] {
            let e = p(m, path).unwrap_err();
            assert_eq!(e.status, 404, "{m} {path}");
        }
    }
}
