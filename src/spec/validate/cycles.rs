//! The cycles pass: resources that need each other cannot be made in any order.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn check_cycles(
        &self,
        resources: &BTreeMap<Address, ResourceSpec>,
    ) -> Result<(), SpecError> {
        let mut graph = DiGraph::<&Address, ()>::new();
        let index: BTreeMap<&Address, _> =
            resources.keys().map(|a| (a, graph.add_node(a))).collect();
        for r in resources.values() {
            for dep in &r.depends_on {
                graph.add_edge(index[dep], index[&r.address], ());
            }
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let cyclic = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            let mut members: Vec<&Address> = scc.iter().map(|i| graph[*i]).collect();
            members.sort();
            let first = members[0];
            // Name them in the order they need each other, from the first: `a → b` means a
            // needs b. Only when that walk misses members (tangled cycles) fall back to sorted.
            let mut walk = vec![first];
            while let Some(next) = resources[*walk.last().expect("starts non-empty")]
                .depends_on
                .iter()
                .find(|d| members.contains(d) && !walk.contains(d))
            {
                walk.push(next);
            }
            if walk.len() == members.len() {
                members = walk;
            }
            let names: Vec<String> = members.iter().map(|a| a.to_string()).collect();
            // A cycle of one kind may have a reason and a way out of its own.
            let one_kind = members.iter().all(|a| a.kind == first.kind);
            let hint = kinds::describe(first.kind)
                .cycle_hint
                .filter(|_| one_kind)
                .unwrap_or(
                    "each of these needs another to exist first; remove one reference or \
                     depends_on",
                );
            return Err(self.error(
                self.span(&["resources", first.kind.as_str(), &first.name]),
                format!("dependency cycle between {}", names.join(" → ")),
                Some(hint.into()),
            ));
        }
        Ok(())
    }
}
