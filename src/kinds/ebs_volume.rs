//! `ebs_volume`: a volume an instance launched with. Never declared: EC2 makes it from the
//! image's block device mapping, and rehearsal tags it in the same RunInstances call. While
//! attached it is part of its instance; one whose mapping says `DeleteOnTermination = false`
//! outlives the instance, still billing, and is the environment's to delete.

use super::{Anchor, ByProduct, Kind, no_rules};
use crate::model::{ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::EbsVolume,
    inputs: &[],
    in_place: &[],
    outputs: &[
        "id",
        "size",
        "volume_type",
        "availability_zone",
        "attached_to",
        "delete_on_termination",
        "status",
    ],
    sets: &[],
    exact_maps: &[],
    set_after_create: &[],
    digested: &[],
    replace_order: ReplaceOrder::CreateThenDelete,
    anchor: Anchor::LaunchTag,
    // An attached volume cannot be deleted (VolumeInUse): its instance goes first.
    deleted_after: &[ResourceKind::Ec2Instance],
    by_product: Some(ByProduct {
        of: ResourceKind::Ec2Instance,
        left_behind_when: "available",
    }),
    complete: no_rules,
    documents: None,
    // EC2 names volumes; rehearsal never does.
    names: &[],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    found_by: None,
    holds_data: Some("volume"),
};
