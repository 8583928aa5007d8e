//! How subnets reach outside their VPC (`Provider::subnet_egress`): their route tables and their
//! VPC's endpoints, read in three calls whatever the number of subnets.
//!
//! A subnet uses the route table explicitly associated with it, else its VPC's main route table
//! (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html, "Main route
//! table"). Its default route (`0.0.0.0/0`) decides: to an internet gateway (`igw-`), only
//! tasks with a public address get out; to anything else (a NAT gateway, a NAT instance, a
//! transit gateway, a virtual private gateway), rehearsal takes it that they do, as it cannot
//! see past it. A `blackhole` route (its target deleted) leads nowhere. ECR without leaving the
//! VPC takes interface endpoints for `com.amazonaws.REGION.ecr.api` and `.ecr.dkr` and a gateway
//! endpoint for `com.amazonaws.REGION.s3` on the subnet's route table, where the image layers
//! are (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{RouteState, RouteTable, VpcEndpoint, VpcEndpointType};

use super::filter;
use crate::aws::errors;
use crate::provider::{ProviderError, SubnetEgress};

/// The egress of each subnet AWS knows among `subnets`.
pub(crate) async fn subnet_egress(
    client: &Client,
    region: &str,
    subnets: &[String],
) -> Result<BTreeMap<String, SubnetEgress>, ProviderError> {
    let ids: Vec<&str> = subnets.iter().map(String::as_str).collect();
    let what = format!("subnets {}", ids.join(", "));
    // A filter, not SubnetIds: an unknown id is left out rather than failing the call.
    let known: Vec<_> = client
        .describe_subnets()
        .filters(filter("subnet-id", &ids))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeSubnets", &what, e))?;
    let vpc_of: BTreeMap<String, String> = known
        .iter()
        .filter_map(|s| Some((s.subnet_id()?.to_owned(), s.vpc_id()?.to_owned())))
        .collect();
    if vpc_of.is_empty() {
        return Ok(BTreeMap::new());
    }
    let vpcs: BTreeSet<&str> = vpc_of.values().map(String::as_str).collect();
    let vpcs: Vec<&str> = vpcs.into_iter().collect();
    // The tables of the subnets' VPCs: their own and the main ones, in one call.
    let tables: Vec<RouteTable> = client
        .describe_route_tables()
        .filters(filter("vpc-id", &vpcs))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeRouteTables", &what, e))?;
    let endpoints: Vec<VpcEndpoint> = client
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &vpcs))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeVpcEndpoints", &what, e))?;
    Ok(vpc_of
        .iter()
        .map(|(subnet, vpc)| {
            let egress = egress_of(subnet, vpc, region, &tables, &endpoints);
            (subnet.clone(), egress)
        })
        .collect())
}

/// The route table a subnet uses: the one associated with it, else its VPC's main one.
fn table_of<'a>(subnet: &str, vpc: &str, tables: &'a [RouteTable]) -> Option<&'a RouteTable> {
    let in_vpc = || tables.iter().filter(|t| t.vpc_id() == Some(vpc));
    in_vpc()
        .find(|t| {
            t.associations()
                .iter()
                .any(|a| a.subnet_id() == Some(subnet))
        })
        .or_else(|| in_vpc().find(|t| t.associations().iter().any(|a| a.main() == Some(true))))
}

fn egress_of(
    subnet: &str,
    vpc: &str,
    region: &str,
    tables: &[RouteTable],
    endpoints: &[VpcEndpoint],
) -> SubnetEgress {
    let table = table_of(subnet, vpc, tables);
    let mut egress = SubnetEgress::default();
    let default_routes = table
        .map(|t| t.routes())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .filter(|r| r.state() != Some(&RouteState::Blackhole));
    for route in default_routes {
        let target = [
            route.gateway_id(),
            route.nat_gateway_id(),
            route.instance_id(),
            route.transit_gateway_id(),
            route.network_interface_id(),
            route.vpc_peering_connection_id(),
            route.local_gateway_id(),
            route.carrier_gateway_id(),
            route.core_network_arn(),
        ]
        .into_iter()
        .flatten()
        .next();
        match target {
            Some(igw) if igw.starts_with("igw-") => egress.internet_gateway = Some(igw.to_owned()),
            Some(other) => egress.other_default_route = Some(other.to_owned()),
            None => {}
        }
    }
    // EC2 answers an endpoint's state in lower case (`available`, `pending`: see
    // https://docs.aws.amazon.com/vpc/latest/privatelink/concepts.html#concepts-endpoint-states),
    // which the SDK's `State` enum, spelled `Available`, does not parse: compared as text.
    let usable = |e: &&VpcEndpoint| {
        let state = e.state().map(|s| s.as_str().to_ascii_lowercase());
        e.vpc_id() == Some(vpc) && matches!(state.as_deref(), Some("available" | "pending"))
    };
    let has = |service: &str, kind: VpcEndpointType| {
        let name = format!("com.amazonaws.{region}.{service}");
        endpoints
            .iter()
            .filter(usable)
            .filter(|e| e.service_name() == Some(name.as_str()))
            .filter(|e| e.vpc_endpoint_type() == Some(&kind))
            .any(|e| {
                // A gateway endpoint works through the route tables it was added to.
                kind != VpcEndpointType::Gateway
                    || table
                        .and_then(|t| t.route_table_id())
                        .is_some_and(|id| e.route_table_ids().iter().any(|r| r == id))
            })
    };
    egress.registry_endpoints = has("ecr.api", VpcEndpointType::Interface)
        && has("ecr.dkr", VpcEndpointType::Interface)
        && has("s3", VpcEndpointType::Gateway);
    egress
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{Route, RouteTableAssociation, State};

    fn table(id: &str, main: bool, subnets: &[&str], default_to: Option<&str>) -> RouteTable {
        let mut t = RouteTable::builder().route_table_id(id).vpc_id("vpc-1");
        if main {
            t = t.associations(RouteTableAssociation::builder().main(true).build());
        }
        for s in subnets {
            t = t.associations(RouteTableAssociation::builder().subnet_id(*s).build());
        }
        t = t.routes(
            Route::builder()
                .destination_cidr_block("10.0.0.0/16")
                .gateway_id("local")
                .build(),
        );
        if let Some(target) = default_to {
            let route = Route::builder().destination_cidr_block("0.0.0.0/0");
            let route = if target.starts_with("nat-") {
                route.nat_gateway_id(target)
            } else {
                route.gateway_id(target)
            };
            t = t.routes(route.build());
        }
        t.build()
    }

    fn endpoint(service: &str, kind: VpcEndpointType, tables: &[&str]) -> VpcEndpoint {
        let mut e = VpcEndpoint::builder()
            .vpc_id("vpc-1")
            .service_name(format!("com.amazonaws.eu-west-1.{service}"))
            .vpc_endpoint_type(kind)
            .state(State::from("available"));
        for t in tables {
            e = e.route_table_ids(*t);
        }
        e.build()
    }

    #[test]
    fn a_subnet_without_a_table_of_its_own_uses_the_main_table() {
        let tables = [
            table("rtb-main", true, &[], Some("igw-1")),
            table("rtb-private", false, &["subnet-private"], Some("nat-1")),
        ];
        let public = egress_of("subnet-other", "vpc-1", "eu-west-1", &tables, &[]);
        assert_eq!(public.internet_gateway.as_deref(), Some("igw-1"));
        assert_eq!(public.other_default_route, None);
        let private = egress_of("subnet-private", "vpc-1", "eu-west-1", &tables, &[]);
        assert_eq!(private.other_default_route.as_deref(), Some("nat-1"));
        assert_eq!(private.internet_gateway, None);
    }

    #[test]
    fn a_blackhole_route_leads_nowhere() {
        let broken = RouteTable::builder()
            .route_table_id("rtb-1")
            .vpc_id("vpc-1")
            .associations(RouteTableAssociation::builder().main(true).build())
            .routes(
                Route::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .nat_gateway_id("nat-deleted")
                    .state(RouteState::Blackhole)
                    .build(),
            )
            .build();
        let egress = egress_of("subnet-1", "vpc-1", "eu-west-1", &[broken], &[]);
        assert_eq!(egress, SubnetEgress::default());
    }

    #[test]
    fn ecr_endpoints_count_only_with_s3_on_the_subnets_route_table() {
        let tables = [table("rtb-1", false, &["subnet-1"], None)];
        let ecr = [
            endpoint("ecr.api", VpcEndpointType::Interface, &[]),
            endpoint("ecr.dkr", VpcEndpointType::Interface, &[]),
        ];
        let with_s3 = |on: &[&str]| {
            let mut all = ecr.to_vec();
            all.push(endpoint("s3", VpcEndpointType::Gateway, on));
            egress_of("subnet-1", "vpc-1", "eu-west-1", &tables, &all).registry_endpoints
        };
        assert!(with_s3(&["rtb-1"]));
        assert!(!with_s3(&["rtb-other"]));
        assert!(!egress_of("subnet-1", "vpc-1", "eu-west-1", &tables, &ecr).registry_endpoints);
    }
}
