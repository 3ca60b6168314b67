//! The parts of a Spin manifest (version 2) the test host needs: application variables, HTTP
//! triggers, and each component's source, databases and variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    variables: BTreeMap<String, VariableSpec>,
    #[serde(default)]
    trigger: Triggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Default, Deserialize)]
struct Triggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct HttpTrigger {
    route: String,
    component: String,
}

/// An application variable as declared in `[variables]`.
#[derive(Debug, Clone, Deserialize)]
pub struct VariableSpec {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// One component, as the host loads it.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub id: String,
    pub source: PathBuf,
    pub sqlite_databases: Vec<String>,
    /// Component variables: name → template such as `{{ jwt_secret }}`.
    pub variables: BTreeMap<String, String>,
}

/// A parsed `spin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub variables: BTreeMap<String, VariableSpec>,
    /// (route as written, component id), in manifest order.
    pub routes: Vec<(String, String)>,
    pub components: BTreeMap<String, ComponentSpec>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Manifest::parse(&text, base)
    }

    pub fn parse(text: &str, base: &Path) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).context("parsing the Spin manifest")?;
        if raw.spin_manifest_version != 2 {
            bail!("only spin_manifest_version = 2 is supported");
        }
        let mut routes = Vec::new();
        for trigger in raw.trigger.http {
            if !raw.component.contains_key(&trigger.component) {
                bail!("route {} names unknown component {}", trigger.route, trigger.component);
            }
            routes.push((trigger.route, trigger.component));
        }
        let components = raw
            .component
            .into_iter()
            .map(|(id, c)| {
                let spec = ComponentSpec {
                    id: id.clone(),
                    source: base.join(c.source),
                    sqlite_databases: c.sqlite_databases,
                    variables: c.variables,
                };
                (id, spec)
            })
            .collect();
        Ok(Manifest { variables: raw.variables, routes, components })
    }
}
