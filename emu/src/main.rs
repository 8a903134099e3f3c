fn main() {
    eprintln!("emu: not built yet");
    std::process::exit(2);
}
