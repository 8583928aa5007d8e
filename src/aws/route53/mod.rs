//! Route 53: DNS records in hosted zones that exist already (rehearsal reads zones, never
//! creates or deletes them).

pub(crate) mod record;
