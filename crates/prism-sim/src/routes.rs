//! Maps a method and a path under `/api/nutanix/v3` (or the v4 VM-template paths under
//! `/api/vmm/v4.{0,1,2}/content/templates`) to the operation it names, with Prism's answers for
//! near misses: a non-UUID where a UUID belongs is 400 `INVALID_UUID` (so `GET /vms/list` fails
//! the way it does on a real Prism Central), anything else unknown is 404. Errors on v4 paths
//! are in the v4 shape.

use percent_encoding::percent_decode_str;

use crate::model::json::parse_uuid;
use crate::prism_error::ApiError;

/// The v3 API prefix the simulator serves.
pub const API_PREFIX: &str = "/api/nutanix/v3";

/// The prefix of the v4 VMM namespace (followed by a version such as `v4.0`).
pub const V4_VMM_PREFIX: &str = "/api/vmm/";

/// v4 versions accepted in the version slot of v4 paths (what the Go plugins call).
pub const V4_VERSIONS: &[&str] = &["v4.0", "v4.1", "v4.2"];

/// Envelope type of v4 errors that belong to no known operation (unknown v4 paths). GUESS.
pub const V4_GENERIC_RESPONSE: &str = "vmm.v4.error.ErrorResponse";

/// The prefix of the v4 Prism namespace (tasks).
pub const V4_PRISM_PREFIX: &str = "/api/prism/";

/// v4 versions of the console-token action (it first appears in vmm v4.2).
pub const V4_CONSOLE_VERSIONS: &[&str] = &["v4.2", "v4.3"];

/// v4 versions of the Prism tasks API.
pub const V4_TASK_VERSIONS: &[&str] = &["v4.0", "v4.1", "v4.2", "v4.3"];

/// Whether a path belongs to a v4 namespace the simulator serves (so its errors take the v4
/// shape).
pub fn is_v4_path(path: &str) -> bool {
    path.starts_with(V4_VMM_PREFIX) || path.starts_with(V4_PRISM_PREFIX)
}

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
    /// `ovas`
    Ova,
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
            Kind::Ova => "ova",
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
            "ovas" => Kind::Ova,
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
    /// `DELETE /vms/{uuid}`, `DELETE /images/{uuid}`, `DELETE /ovas/{uuid}`
    Delete(Kind, String),
    /// `PUT /images/{uuid}/file`
    Upload(String),
    /// `GET /images/{uuid}/file`
    Download(String),
    /// `POST /vms/{uuid}/export` (creates an OVA)
    ExportVm(String),
    /// `GET /ovas/{uuid}/file`
    OvaDownload(String),
    /// v4 `POST /api/vmm/v4.x/content/templates`
    TemplateCreate,
    /// v4 `GET /api/vmm/v4.x/content/templates`
    TemplateList,
    /// v4 `GET /api/vmm/v4.x/content/templates/{extId}`
    TemplateGet(String),
    /// v4 `DELETE /api/vmm/v4.x/content/templates/{extId}`
    TemplateDelete(String),
    /// `POST /categories/list`
    CategoryKeys,
    /// `GET /categories/{key}`
    CategoryKey(String),
    /// `POST /categories/{key}/list`
    CategoryValues(String),
    /// `GET /categories/{key}/{value}`
    CategoryValue(String, String),
    /// `POST /groups` (the groups query the Go plugin uses to find an exported OVA)
    Groups,
    /// `GET /users/me` (the v3 console path takes its session cookie from it)
    UsersMe,
    /// v4 `POST /api/vmm/v4.{2,3}/ahv/config/vms/{extId}/$actions/generate-console-token`
    ConsoleToken(String),
    /// v4 `GET /api/prism/v4.x/config/tasks/{extId}` (the extId as given)
    V4Task(String),
}

impl Route {
    /// Whether the request creates a task (so task faults may apply to it).
    pub fn creates_task(&self) -> bool {
        matches!(
            self,
            Route::Create(_)
                | Route::Update(..)
                | Route::Delete(..)
                | Route::ExportVm(_)
                | Route::TemplateCreate
                | Route::TemplateDelete(_)
                | Route::ConsoleToken(_)
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
                | Route::ExportVm(_)
                | Route::TemplateCreate
                | Route::Groups
        )
    }

    /// For v4 operations, the `$objectType` of their ApiResponse envelope (errors use it too).
    pub fn v4_response(&self) -> Option<&'static str> {
        Some(match self {
            Route::TemplateCreate => "vmm.v4.content.CreateTemplateApiResponse",
            Route::TemplateList => "vmm.v4.content.ListTemplatesApiResponse",
            Route::TemplateGet(_) => "vmm.v4.content.GetTemplateApiResponse",
            Route::TemplateDelete(_) => "vmm.v4.content.DeleteTemplateApiResponse",
            Route::ConsoleToken(_) => crate::model::console::TOKEN_RESPONSE,
            Route::V4Task(_) => crate::model::console::TASK_RESPONSE,
            _ => return None,
        })
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
            Route::ExportVm(_) => Some("vm"),
            Route::OvaDownload(_) => Some("ova"),
            Route::TemplateCreate
            | Route::TemplateList
            | Route::TemplateGet(_)
            | Route::TemplateDelete(_) => Some(crate::model::TEMPLATE_KIND),
            Route::Groups => Some(crate::model::GROUPS_KIND),
            Route::UsersMe => Some("user"),
            Route::ConsoleToken(_) => Some("vm"),
            Route::V4Task(_) => Some("task"),
            _ => Some("category"),
        }
    }

    /// Parses `method` and the full request path (query string removed).
    pub fn parse(method: &str, full_path: &str) -> Result<Route, ApiError> {
        if is_v4_path(full_path) {
            return Self::parse_v4(method, full_path);
        }
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
            ("POST", ["groups"]) => Ok(Route::Groups),
            ("GET", ["users", "me"]) => Ok(Route::UsersMe),
            ("POST", ["categories", "list"]) => Ok(Route::CategoryKeys),
            ("GET", ["categories", key]) => Ok(Route::CategoryKey(decode(key))),
            ("POST", ["categories", key, "list"]) => Ok(Route::CategoryValues(decode(key))),
            ("GET", ["categories", key, value]) => {
                Ok(Route::CategoryValue(decode(key), decode(value)))
            }
            (_, [plural, tail @ ..]) => {
                let kind = Kind::from_plural(plural).ok_or_else(no_route)?;
                let creatable = matches!(kind, Kind::Vm | Kind::Image);
                let deletable = creatable || kind == Kind::Ova;
                match (method, tail) {
                    ("POST", ["list"]) => Ok(Route::List(kind)),
                    ("POST", []) if creatable => Ok(Route::Create(kind)),
                    ("GET", [id]) => Ok(Route::Get(kind, uuid_of(kind, id)?)),
                    ("PUT", [id]) if creatable => Ok(Route::Update(kind, uuid_of(kind, id)?)),
                    ("DELETE", [id]) if deletable => Ok(Route::Delete(kind, uuid_of(kind, id)?)),
                    ("POST", [id, "export"]) if kind == Kind::Vm => {
                        Ok(Route::ExportVm(uuid_of(kind, id)?))
                    }
                    ("GET", [id, "file"]) if kind == Kind::Ova => {
                        Ok(Route::OvaDownload(uuid_of(kind, id)?))
                    }
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

impl Route {
    /// The v4 VM-template and console-token paths and the v4 task reads; anything else under
    /// `/api/vmm/` or `/api/prism/` is a v4 404.
    fn parse_v4(method: &str, full_path: &str) -> Result<Route, ApiError> {
        let no_route = || ApiError::no_such_path(method, full_path).in_v4(V4_GENERIC_RESPONSE);
        if let Some(rest) = full_path.strip_prefix(V4_PRISM_PREFIX) {
            let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            return match (method, segs.as_slice()) {
                ("GET", [version, "config", "tasks", id]) if V4_TASK_VERSIONS.contains(version) => {
                    Ok(Route::V4Task(
                        percent_decode_str(id).decode_utf8_lossy().into_owned(),
                    ))
                }
                _ => Err(no_route()),
            };
        }
        let rest = full_path.strip_prefix(V4_VMM_PREFIX).ok_or_else(no_route)?;
        let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if let (
            "POST",
            [version, "ahv", "config", "vms", id, "$actions", "generate-console-token"],
        ) = (method, segs.as_slice())
        {
            if !V4_CONSOLE_VERSIONS.contains(version) {
                return Err(no_route());
            }
            let uuid = parse_uuid(id).ok_or_else(|| {
                ApiError::invalid_uuid("vm", id).in_v4(crate::model::console::TOKEN_RESPONSE)
            })?;
            return Ok(Route::ConsoleToken(uuid));
        }
        let [version, "content", "templates", tail @ ..] = segs.as_slice() else {
            return Err(no_route());
        };
        if !V4_VERSIONS.contains(version) {
            return Err(no_route());
        }
        let ext_id = |id: &str, route: Route| -> Result<Route, ApiError> {
            let response = route.v4_response().unwrap_or(V4_GENERIC_RESPONSE);
            let uuid = parse_uuid(id).ok_or_else(|| {
                ApiError::invalid_uuid(crate::model::TEMPLATE_KIND, id).in_v4(response)
            })?;
            Ok(match route {
                Route::TemplateGet(_) => Route::TemplateGet(uuid),
                _ => Route::TemplateDelete(uuid),
            })
        };
        match (method, tail) {
            ("POST", []) => Ok(Route::TemplateCreate),
            ("GET", []) => Ok(Route::TemplateList),
            ("GET", [id]) => ext_id(id, Route::TemplateGet(String::new())),
            ("DELETE", [id]) => ext_id(id, Route::TemplateDelete(String::new())),
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
    fn ova_and_template_endpoints() {
        let b = API_PREFIX;
        assert_eq!(
            p("POST", &format!("{b}/vms/{U}/export")).unwrap(),
            Route::ExportVm(U.into())
        );
        assert_eq!(
            p("POST", &format!("{b}/ovas/list")).unwrap(),
            Route::List(Kind::Ova)
        );
        assert_eq!(
            p("GET", &format!("{b}/ovas/{U}")).unwrap(),
            Route::Get(Kind::Ova, U.into())
        );
        assert_eq!(
            p("GET", &format!("{b}/ovas/{U}/file")).unwrap(),
            Route::OvaDownload(U.into())
        );
        assert_eq!(
            p("DELETE", &format!("{b}/ovas/{U}")).unwrap(),
            Route::Delete(Kind::Ova, U.into())
        );
        for v in ["v4.0", "v4.1", "v4.2"] {
            let t = format!("/api/vmm/{v}/content/templates");
            assert_eq!(p("POST", &t).unwrap(), Route::TemplateCreate);
            assert_eq!(p("GET", &format!("{t}/")).unwrap(), Route::TemplateList);
            assert_eq!(
                p("GET", &format!("{t}/{}", U.to_uppercase())).unwrap(),
                Route::TemplateGet(U.into())
            );
            assert_eq!(
                p("DELETE", &format!("{t}/{U}")).unwrap(),
                Route::TemplateDelete(U.into())
            );
        }
        // Task faults reach exactly the requests that create tasks.
        for (r, creates) in [
            (Route::ExportVm(U.into()), true),
            (Route::Delete(Kind::Ova, U.into()), true),
            (Route::TemplateCreate, true),
            (Route::TemplateDelete(U.into()), true),
            (Route::List(Kind::Ova), false),
            (Route::Get(Kind::Ova, U.into()), false),
            (Route::OvaDownload(U.into()), false),
            (Route::TemplateList, false),
            (Route::TemplateGet(U.into()), false),
        ] {
            assert_eq!(r.creates_task(), creates, "{r:?}");
            assert_eq!(
                r.v4_response().is_some(),
                matches!(
                    r,
                    Route::TemplateCreate
                        | Route::TemplateList
                        | Route::TemplateGet(_)
                        | Route::TemplateDelete(_)
                ),
                "{r:?}"
            );
        }
    }

    #[test]
    fn v4_near_misses_are_v4_errors() {
        let e = p("GET", "/api/vmm/v4.0/content/templates/nope").unwrap_err();
        assert_eq!((e.status, e.reason.as_str()), (400, "INVALID_UUID"));
        assert_eq!(e.v4_response, Some("vmm.v4.content.GetTemplateApiResponse"));
        for (m, path) in [
            ("GET", "/api/vmm/v4.3/content/templates"),
            ("GET", "/api/vmm/v4.0.b1/content/templates"),
            ("GET", "/api/vmm/v4.0/content/ovas"),
            ("PUT", &format!("/api/vmm/v4.0/content/templates/{U}")),
            ("POST", &format!("/api/vmm/v4.0/content/templates/{U}")),
            ("GET", "/api/vmm/"),
            ("GET", "/api/vmm/v4.0/content/templates/a/b"),
        ] {
            let e = p(m, path).unwrap_err();
            assert_eq!(e.status, 404, "{m} {path}");
            assert!(e.v4_response.is_some(), "{m} {path}");
        }
        // OVAs take no PUT, no create, no file upload; VMs have no PUT on export.
        for (m, path) in [
            ("PUT", format!("{API_PREFIX}/ovas/{U}")),
            ("POST", format!("{API_PREFIX}/ovas")),
            ("PUT", format!("{API_PREFIX}/ovas/{U}/file")),
            ("GET", format!("{API_PREFIX}/vms/{U}/export")),
            ("POST", format!("{API_PREFIX}/images/{U}/export")),
        ] {
            let e = p(m, &path).unwrap_err();
            assert_eq!(e.status, 404, "{m} {path}");
            assert!(e.v4_response.is_none());
        }
    }

    #[test]
    fn groups_is_a_post_with_a_body_and_no_task() {
        let path = format!("{API_PREFIX}/groups");
        let r = p("POST", &path).unwrap();
        assert_eq!(r, Route::Groups);
        assert!(r.has_json_body());
        assert!(!r.creates_task());
        assert!(r.v4_response().is_none());
        assert_eq!(p("POST", &format!("{path}/")).unwrap(), Route::Groups);
        for m in ["GET", "PUT", "DELETE"] {
            assert_eq!(p(m, &path).unwrap_err().status, 404, "{m}");
        }
        assert_eq!(p("POST", &format!("{path}/list")).unwrap_err().status, 404);
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
