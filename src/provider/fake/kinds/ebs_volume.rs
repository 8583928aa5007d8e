//! `ebs_volume` in the fake cloud.

use super::*;

/// A volume is made by RunInstances, never on its own; attached, EC2 refuses to delete it.
pub(super) struct EbsVolume;

impl FakeKind for EbsVolume {
    fn create(
        &self,
        _: &mut FakeCloud,
        _: &str,
        _: &mut Attributes,
    ) -> Result<String, ProviderError> {
        Err(ProviderError::Api {
            action: "ec2:CreateVolume".into(),
            code: "Unsupported".into(),
            message: "rehearsal never creates a volume; instances launch with theirs".into(),
        })
    }

    fn refuses_delete(&self, _: &FakeCloud, volume: &FakeResource) -> Option<String> {
        (volume.status == "in-use").then(|| {
            format!(
                "volume {} is attached to {} (VolumeInUse)",
                volume.id,
                str_attr(&volume.attributes, "attached_to")
            )
        })
    }
}
