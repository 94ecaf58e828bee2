//! The rules that decide, at the end, what is deleted and what is kept: a pure function of the
//! entry, the outcome and the user's options, tested as a table.

use std::fmt;

use super::{Entry, Kind, Stage};

/// How the build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every step succeeded.
    Succeeded,
    /// A step failed.
    Failed,
    /// Packer cancelled the build.
    Cancelled,
}

/// The user's options that decide what survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Policy {
    /// `vm_retain`: keep the VM after a successful build.
    pub(crate) vm_retain: bool,
    /// `vm_force_delete`: delete the VM even when the build did not succeed.
    pub(crate) vm_force_delete: bool,
    /// `-on-error=abort` (or `ask` answered "abort", or `run-cleanup-provisioner`): after a
    /// failure or cancel, keep everything for inspection, as Packer's own runner does.
    pub(crate) keep_on_error: bool,
}

/// Why something is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepReason {
    /// `vm_retain = true` on a successful build.
    VmRetain,
    /// `-on-error` asked for no cleanup.
    OnError,
    /// The CD image is still a CD-ROM of the VM being kept.
    AttachedToKeptVm,
    /// A finished source image without `source_image_delete`: reusable by the next build.
    Reusable,
    /// A build output (image without `image_delete`, exported file).
    Output,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepReason::VmRetain => "vm_retain = true",
            KeepReason::OnError => "-on-error asked to keep everything for inspection",
            KeepReason::AttachedToKeptVm => "still a CD-ROM of the kept VM",
            KeepReason::Reusable => {
                "kept for reuse by later builds (source_image_delete = true deletes it)"
            }
            KeepReason::Output => "build output",
        })
    }
}

/// What cleanup does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Delete it and wait for the deletion.
    Delete,
    /// Leave it.
    Keep(KeepReason),
}

/// The rules. `vm_kept` says whether the VM itself is being kept (it decides the CD image).
pub(crate) fn decide(e: &Entry, outcome: Outcome, p: Policy, vm_kept: bool) -> Disposition {
    use Disposition::{Delete, Keep};
    let succeeded = outcome == Outcome::Succeeded;
    if e.kind == Kind::Vm {
        return match (succeeded, p.vm_retain, p.vm_force_delete, p.keep_on_error) {
            (true, true, _, _) => Keep(KeepReason::VmRetain),
            (true, false, _, _) => Delete,
            (false, _, true, _) => Delete,
            (false, _, false, true) => Keep(KeepReason::OnError),
            (false, _, false, false) => Delete,
        };
    }
    if !succeeded && p.keep_on_error {
        return Keep(KeepReason::OnError);
    }
    match e.kind {
        Kind::Vm => Delete, // handled above
        Kind::SourceImage => {
            // A half-made image (upload dropped, download failed) is garbage whatever the options.
            if e.stage != Stage::Ready || e.delete_after {
                Delete
            } else {
                Keep(KeepReason::Reusable)
            }
        }
        Kind::CdImage => {
            if vm_kept && e.attached {
                Keep(KeepReason::AttachedToKeptVm)
            } else {
                Delete
            }
        }
        // A failed build leaves no half-made images.
        Kind::OutputImage if !succeeded || e.delete_after => Delete,
        Kind::OutputImage => Keep(KeepReason::Output),
        Kind::Template | Kind::Ova if !succeeded => Delete,
        Kind::Template | Kind::Ova => Keep(KeepReason::Output),
        Kind::LocalFile if !succeeded => Delete,
        Kind::LocalFile => Keep(KeepReason::Output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Disposition::{Delete, Keep};
    use Outcome::{Cancelled, Failed, Succeeded};

    fn entry(kind: Kind, stage: Stage, delete_after: bool, attached: bool) -> Entry {
        Entry {
            kind,
            id: format!("{kind:?}"),
            name: "x".into(),
            stage,
            delete_after,
            attached,
            pending: None,
        }
    }

    fn vm() -> Entry {
        entry(Kind::Vm, Stage::Ready, false, false)
    }

    const CLEANUP: Policy = Policy {
        vm_retain: false,
        vm_force_delete: false,
        keep_on_error: false,
    };

    #[test]
    fn vm_policy_table() {
        // (outcome, vm_retain, vm_force_delete, keep_on_error) -> disposition
        let table = [
            (Succeeded, false, false, false, Delete),
            (Succeeded, true, false, false, Keep(KeepReason::VmRetain)),
            (Succeeded, true, true, false, Keep(KeepReason::VmRetain)),
            (Succeeded, false, false, true, Delete),
            (Failed, false, false, false, Delete),
            (Failed, true, false, false, Delete),
            (Failed, false, false, true, Keep(KeepReason::OnError)),
            (Failed, true, false, true, Keep(KeepReason::OnError)),
            (Failed, false, true, true, Delete),
            (Failed, true, true, false, Delete),
            (Cancelled, false, false, false, Delete),
            (Cancelled, false, false, true, Keep(KeepReason::OnError)),
            (Cancelled, false, true, true, Delete),
        ];
        for (outcome, vm_retain, vm_force_delete, keep_on_error, want) in table {
            let p = Policy {
                vm_retain,
                vm_force_delete,
                keep_on_error,
            };
            assert_eq!(
                decide(&vm(), outcome, p, false),
                want,
                "{outcome:?} retain={vm_retain} force={vm_force_delete} keep_on_error={keep_on_error}"
            );
        }
    }

    #[test]
    fn source_images_are_kept_only_when_complete_and_not_marked() {
        let ready = entry(Kind::SourceImage, Stage::Ready, false, false);
        let marked = entry(Kind::SourceImage, Stage::Ready, true, false);
        let half = entry(Kind::SourceImage, Stage::Accepted, false, false);
        for outcome in [Succeeded, Failed, Cancelled] {
            assert_eq!(
                decide(&ready, outcome, CLEANUP, false),
                Keep(KeepReason::Reusable)
            );
            assert_eq!(decide(&marked, outcome, CLEANUP, false), Delete);
            assert_eq!(decide(&half, outcome, CLEANUP, false), Delete);
        }
        let abort = Policy {
            keep_on_error: true,
            ..CLEANUP
        };
        assert_eq!(
            decide(&half, Failed, abort, true),
            Keep(KeepReason::OnError)
        );
        // keep_on_error never applies to a successful build.
        assert_eq!(decide(&half, Succeeded, abort, false), Delete);
    }

    #[test]
    fn cd_image_follows_the_vm_only_while_attached() {
        let attached = entry(Kind::CdImage, Stage::Ready, false, true);
        let detached = entry(Kind::CdImage, Stage::Ready, false, false);
        assert_eq!(decide(&attached, Succeeded, CLEANUP, false), Delete);
        assert_eq!(
            decide(&attached, Succeeded, CLEANUP, true),
            Keep(KeepReason::AttachedToKeptVm)
        );
        assert_eq!(decide(&detached, Succeeded, CLEANUP, true), Delete);
    }

    #[test]
    fn outputs_survive_only_a_successful_build() {
        let image = entry(Kind::OutputImage, Stage::Ready, false, false);
        let deleted_after_export = entry(Kind::OutputImage, Stage::Ready, true, false);
        let file = entry(Kind::LocalFile, Stage::Ready, false, false);
        assert_eq!(
            decide(&image, Succeeded, CLEANUP, false),
            Keep(KeepReason::Output)
        );
        assert_eq!(
            decide(&deleted_after_export, Succeeded, CLEANUP, false),
            Delete
        );
        assert_eq!(
            decide(&file, Succeeded, CLEANUP, false),
            Keep(KeepReason::Output)
        );
        for outcome in [Failed, Cancelled] {
            assert_eq!(decide(&image, outcome, CLEANUP, false), Delete);
            assert_eq!(decide(&file, outcome, CLEANUP, false), Delete);
        }
    }

    #[test]
    fn templates_and_ovas_are_outputs_like_images() {
        let abort = Policy {
            keep_on_error: true,
            ..CLEANUP
        };
        for kind in [Kind::Template, Kind::Ova] {
            let e = entry(kind, Stage::Ready, false, false);
            assert_eq!(
                decide(&e, Succeeded, CLEANUP, false),
                Keep(KeepReason::Output)
            );
            for outcome in [Failed, Cancelled] {
                assert_eq!(decide(&e, outcome, CLEANUP, false), Delete, "{kind:?}");
                assert_eq!(decide(&e, outcome, abort, false), Keep(KeepReason::OnError));
            }
        }
    }
}
