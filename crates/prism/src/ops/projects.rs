//! Projects.

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::lookup::LookupSpec;
use crate::models::Project;

impl PrismClient {
    /// Every project.
    pub async fn list_projects(&self) -> Result<Vec<Project>, PrismError> {
        self.list_all("list projects", "project", &["projects", "list"], None)
            .await
    }

    /// `GET /projects/{uuid}`.
    pub async fn get_project(&self, uuid: &str) -> Result<Project, PrismError> {
        self.get_json(&format!("get project {uuid}"), &["projects", uuid])
            .await
    }

    /// The project named exactly `name`. Memoised.
    pub async fn project_by_name(&self, name: &str) -> Result<Project, PrismError> {
        if let Some(hit) = self.memo(|m| m.projects.get(name).cloned()) {
            return Ok(hit);
        }
        let spec = LookupSpec {
            label: "project",
            kind: "project",
            path: &["projects", "list"],
            scope: None,
            name_of: Project::name,
            uuid_of: Project::uuid,
        };
        let project = self.find_unique(&spec, name, |_: &Project| true).await?;
        self.memo(|m| m.projects.insert(name.to_string(), project.clone()));
        Ok(project)
    }
}
