//! `fermyon:spin/variables@2.0.0`, resolved as Spin does: a component variable is a template over
//! application variables (`"{{ jwt_secret }}"`); an application variable comes from the
//! `SPIN_VARIABLE_<NAME>` environment variable, else its default. A required variable without a
//! value stops the app from loading, as `spin up` refuses to start.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::bindings::fermyon::spin::variables::{Error, Host};
use crate::manifest::Manifest;
use crate::State;

/// Resolves every application variable. `overrides` win over the environment (for tests).
pub fn resolve_app_variables(
    manifest: &Manifest,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (name, spec) in &manifest.variables {
        let from_env = std::env::var(format!("SPIN_VARIABLE_{}", name.to_uppercase())).ok();
        let value = overrides.get(name).cloned().or(from_env).or_else(|| spec.default.clone());
        match value {
            Some(value) => {
                values.insert(name.clone(), value);
            }
            None if spec.required => {
                bail!("required variable {name} has no value: set SPIN_VARIABLE_{}", name.to_uppercase())
            }
            None => {}
        }
    }
    Ok(values)
}

/// Renders a component variable's template: each `{{ name }}` becomes the application variable.
pub fn render_template(template: &str, app_variables: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else { bail!("unclosed template in {template:?}") };
        let name = rest[start + 2..start + end].trim();
        match app_variables.get(name) {
            Some(value) => out.push_str(value),
            None => bail!("template {template:?} names variable {name}, which has no value"),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Host for State {
    async fn get(&mut self, name: String) -> Result<String, Error> {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(Error::InvalidName(name));
        }
        self.component.variables.get(&name).cloned().ok_or(Error::Undefined(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_templates_from_app_variables() {
        let vars = BTreeMap::from([("jwt_secret".to_owned(), "s3cret".to_owned())]);
        assert_eq!(render_template("{{ jwt_secret }}", &vars).unwrap(), "s3cret");
        assert_eq!(render_template("a-{{jwt_secret}}-b", &vars).unwrap(), "a-s3cret-b");
        assert!(render_template("{{ missing }}", &vars).is_err());
    }
}
