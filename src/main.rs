//! `packer-plugin-nutanix`: the Packer plugin binary. Packer runs `describe` on every command and
//! `start builder [--protobuf] nutanix` for builds; users run `simulator` for a local Prism Central.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
