//! The sources pass: read-only look-ups of what exists (production), each query checked.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn sources(
        &self,
        raw: &RawSpec,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
    ) -> Result<BTreeMap<SourceAddress, SourceSpec>, SpecError> {
        let mut out = BTreeMap::new();
        let mut add = |kind: SourceKind,
                       name: &str,
                       id: Option<&str>,
                       tags: &BTreeMap<String, String>,
                       cluster: Option<&str>|
         -> Result<(), SpecError> {
            let path = ["sources", kind.as_str(), name];
            self.check_references(&path, &BTreeSet::new(), &BTreeMap::new(), vars, true)?;
            let subst = |s: &str| -> String {
                let value =
                    refs::interpolate(&Value::String(s.into()), &|r| plain_value(r, vars, env));
                refs::unescape(&value)
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            let address = SourceAddress {
                kind,
                name: name.to_string(),
            };
            let query = SourceQuery {
                kind,
                id: id.map(subst),
                tags: tags.iter().map(|(k, v)| (k.clone(), subst(v))).collect(),
                cluster: cluster.map(subst),
            };
            out.insert(
                address.clone(),
                SourceSpec {
                    address,
                    query,
                    location: self.location(&path),
                },
            );
            Ok(())
        };
        let none = BTreeMap::new();
        for (name, s) in &raw.sources.ec2_instance {
            if s.id.is_some() != s.tags.is_empty() {
                return Err(self.error(
                    self.span(&["sources", "ec2_instance", name]),
                    format!("source.ec2_instance.{name} needs exactly one of `id` or `tags`"),
                    Some(
                        "find the server by id = \"i-...\" or by tags = { Name = \"...\" }".into(),
                    ),
                ));
            }
            add(
                SourceKind::Ec2Instance,
                name,
                s.id.as_deref(),
                &s.tags,
                None,
            )?;
        }
        for (name, s) in &raw.sources.rds_instance {
            add(
                SourceKind::RdsInstance,
                name,
                Some(&s.identifier),
                &none,
                None,
            )?;
        }
        for (name, s) in &raw.sources.ecs_cluster {
            add(SourceKind::EcsCluster, name, Some(&s.name), &none, None)?;
        }
        for (name, s) in &raw.sources.ecs_service {
            add(
                SourceKind::EcsService,
                name,
                Some(&s.name),
                &none,
                Some(&s.cluster),
            )?;
        }
        for (name, s) in &raw.sources.ecs_task_definition {
            add(
                SourceKind::EcsTaskDefinition,
                name,
                Some(&s.family),
                &none,
                None,
            )?;
        }
        Ok(out)
    }
}
