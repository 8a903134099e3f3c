fn main() -> std::process::ExitCode {
    emu::cli::main()
}
