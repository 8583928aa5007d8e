//! The resources pass: each resource table typed by its kind, `count` expanded, defaults and
//! the kind's own rules applied.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn resources(
        &self,
        raw: &RawSpec,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
        sources: &BTreeMap<SourceAddress, SourceSpec>,
    ) -> Result<BTreeMap<Address, ResourceSpec>, SpecError> {
        // Every declared address first, so references can point forwards. A table with
        // `count = N` declares N resources, `name[0]` to `name[N-1]`.
        let r = &raw.resources;
        let mut entries: Vec<Entry> = vec![];
        fn collect<'r, T: ResourceTable>(
            kind: ResourceKind,
            tables: &'r BTreeMap<String, T>,
            entries: &mut Vec<Entry<'r>>,
        ) {
            for (name, table) in tables {
                let value = serde_json::to_value(table).expect("spec types serialize");
                let copies: Vec<(Address, Option<u32>)> = match table.count() {
                    None => vec![(Address::new(kind, name.clone()), None)],
                    Some(n) => (0..n.min(MAX_COUNT + 1))
                        .map(|i| (Address::indexed(kind, name, i), Some(i)))
                        .collect(),
                };
                for (address, index) in copies {
                    entries.push(Entry {
                        address,
                        index,
                        count: table.count(),
                        value: value.clone(),
                        depends_on: table.depends_on(),
                        timeout: table.timeout(),
                    });
                }
            }
        }
        for &kind in ResourceKind::ALL {
            match kind {
                ResourceKind::RdsSnapshot => collect(kind, &r.rds_snapshot, &mut entries),
                ResourceKind::RdsInstance => collect(kind, &r.rds_instance, &mut entries),
                ResourceKind::Ec2Instance => collect(kind, &r.ec2_instance, &mut entries),
                // Made by instances, never declared: `RawResources` has no table for it.
                ResourceKind::EbsVolume => {}
                ResourceKind::EcsCluster => collect(kind, &r.ecs_cluster, &mut entries),
                ResourceKind::EcsTaskDefinition => {
                    collect(kind, &r.ecs_task_definition, &mut entries)
                }
                ResourceKind::EcsService => collect(kind, &r.ecs_service, &mut entries),
                ResourceKind::SecurityGroup => collect(kind, &r.security_group, &mut entries),
                ResourceKind::DnsRecord => collect(kind, &r.dns_record, &mut entries),
            }
        }
        let declared: BTreeSet<Address> = entries.iter().map(|e| e.address.clone()).collect();

        let mut out = BTreeMap::new();
        for Entry {
            address,
            index,
            count,
            value,
            depends_on,
            timeout,
        } in entries
        {
            let kind = address.kind.as_str();
            let path = ["resources", kind, address.base_name()];
            if let Some(n) = count.filter(|n| *n > MAX_COUNT) {
                return Err(self.error(
                    self.span(&[&path[..], &["count"]].concat()),
                    format!("count = {n} is more than {MAX_COUNT} copies"),
                    Some(format!(
                        "declare at most {MAX_COUNT}: each copy is a resource on AWS"
                    )),
                ));
            }
            if !valid_name(&address.base_name().replace('_', "-")) {
                return Err(self.error(
                    self.span(&path),
                    format!("`{}` is not a valid resource name", address.name),
                    Some(
                        "use lowercase letters, digits and underscores, starting with a letter"
                            .into(),
                    ),
                ));
            }
            self.check_tags(&path)?;
            let referenced = self.check_references(&path, &declared, sources, vars, false)?;
            if index.is_none() && referenced.contains(&Reference::CountIndex) {
                return Err(self.error(
                    self.span(&path),
                    format!("{address} uses ${{count.index}} but has no `count`"),
                    Some("add count = N to make N copies, each with its own count.index".into()),
                ));
            }
            let mut deps = BTreeSet::new();
            let mut used_sources = BTreeSet::new();
            for reference in referenced {
                match reference {
                    Reference::Resource { address, .. } => {
                        deps.insert(address);
                    }
                    Reference::Source { source, .. } => {
                        used_sources.insert(source);
                    }
                    _ => {}
                }
            }
            for (i, dep) in depends_on.iter().enumerate() {
                let span = match self
                    .node(&[&path[..], &["depends_on"]].concat())
                    .map(|v| v.get_ref())
                {
                    Some(DeValue::Array(items)) => items.get(i).map(|v| v.span()).unwrap_or(0..0),
                    _ => 0..0,
                };
                let parsed: Address = dep.parse().map_err(|e: String| {
                    self.error(
                        span.clone(),
                        e,
                        Some("write depends_on = [\"rds_instance.db\"]".into()),
                    )
                })?;
                if !declared.contains(&parsed) {
                    return Err(self.unknown_resource(span, &parsed, &declared));
                }
                deps.insert(parsed);
            }
            let timeout = match timeout {
                Some(t) => {
                    let at = [&path[..], &["timeout"]].concat();
                    Some(duration::parse_timeout(t).map_err(|message| {
                        self.error(
                            self.span(&at),
                            message,
                            Some("write a timeout like \"30m\" or \"2h\"".into()),
                        )
                    })?)
                }
                None => None,
            };
            let value = match index {
                Some(i) => with_count_index(&value, i),
                None => value,
            };
            let mut attributes = match refs::interpolate(&value, &|r| plain_value(r, vars, env)) {
                Value::Object(map) => map,
                _ => unreachable!("resource specs serialize to objects"),
            };
            self.kind_rules(&address, &mut attributes, env)?;
            self.check_names(&address, &attributes, vars, env)?;
            out.insert(
                address.clone(),
                ResourceSpec {
                    address: address.clone(),
                    attributes,
                    depends_on: deps,
                    sources: used_sources,
                    timeout,
                    location: self.location(&path),
                },
            );
        }
        Ok(out)
    }

    /// Defaults and rules of the kind's spec table that its types cannot say.
    pub(super) fn kind_rules(
        &self,
        address: &Address,
        attrs: &mut Attributes,
        env: &EnvId,
    ) -> Result<(), SpecError> {
        let aws_name = address.name_for_aws();
        let cx = kinds::SpecContext {
            env,
            name: &address.name,
            aws_name: &aws_name,
        };
        (kinds::describe(address.kind).complete)(attrs, &cx).map_err(|rule| {
            self.error(
                self.span(&["resources", address.kind.as_str(), address.base_name()]),
                rule.message,
                Some(rule.hint),
            )
        })
    }
}
